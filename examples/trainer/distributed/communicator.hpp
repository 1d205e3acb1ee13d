// SPDX-License-Identifier: Apache-2.0
#pragma once
// The trainer's view of a distributed job: a rank among `size` processes and the few collective
// operations the distributed sweep and data-parallel training need. One process without MPI is
// the same interface with size 1 (every collective is the identity), so the training and sweep
// code has one path, not an MPI path and a serial one.
//
// Determinism: allreduce_sum adds the ranks' values in rank order (0 + 1 + ... + N-1) for every
// element, whatever the MPI library's own reduction algorithm would do, so a run is bit-for-bit
// reproducible for a given N and every rank holds the identical result.
//
// Only the thread that created the communicator calls it (MPI_THREAD_FUNNELED): the sweep's
// worker threads never communicate.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace longtail_train {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  /// "MPI (Open MPI 4.1.4), 2 ranks" / "one process"
  virtual std::string describe() const = 0;

  /// Element-wise sum over the ranks, in rank order; every rank gets the result in `data`.
  /// All ranks must pass the same n.
  virtual void allreduce_sum(double* data, std::size_t n) = 0;
  virtual void allreduce_sum(float* data, std::size_t n) = 0;
  virtual void allreduce_sum(std::int64_t* data, std::size_t n) = 0;

  /// The two halves of allreduce_sum, for a caller that works on its block in between
  /// (data-parallel training: each rank runs the optimiser on its block of the parameters only).
  /// Block r of an n-element array is [block_begin(n, r, N), block_begin(n, r + 1, N)).
  /// reduce_scatter_sum: afterwards this rank's block holds the sum over the ranks in rank order
  /// (bit for bit what allreduce_sum gives there); the rest of `data` is left as it was.
  /// all_gather_blocks: afterwards every block holds its owner's values, on every rank.
  virtual void reduce_scatter_sum(float* data, std::size_t n) = 0;
  virtual void all_gather_blocks(float* data, std::size_t n) = 0;
  /// Every rank's block of `data` (n elements, the same layout) to the root, which receives them
  /// into `out` (n elements; may be `data` itself); `out` is not used on the other ranks. What
  /// rank 0 needs of state that each rank keeps current in its block only (the optimiser's
  /// moments for a checkpoint), without a whole-size buffer on every rank.
  virtual void gather_blocks_to_root(const float* data, float* out, std::size_t n) = 0;
  static std::size_t block_begin(std::size_t n, int rank, int size) {
    return std::size_t(n * std::uint64_t(rank) / std::uint64_t(size));
  }

  /// Every rank's `mine`, in rank order, on the root (rank 0); an empty vector on the others.
  virtual std::vector<std::string> gather_to_root(const std::string& mine) = 0;
  /// Every rank's `mine`, in rank order, on every rank.
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
  /// The root's `data` on every rank (the others' argument is ignored).
  virtual std::string broadcast_from_root(const std::string& data) = 0;
  virtual void barrier() = 0;

  /// Ends the whole job with `exit_code` after printing `message` (used when one rank fails in a
  /// way the others cannot learn of through a collective: without it they would wait forever).
  [[noreturn]] virtual void abort(int exit_code, const std::string& message) = 0;
};

/// The single-process communicator: rank 0 of 1; collectives are the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "one process"; }
  void allreduce_sum(double*, std::size_t) override {}
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(std::int64_t*, std::size_t) override {}
  void reduce_scatter_sum(float*, std::size_t) override {}
  void all_gather_blocks(float*, std::size_t) override {}
  void gather_blocks_to_root(const float* data, float* out, std::size_t n) override {
    if (out != data && n > 0) std::copy(data, data + n, out);
  }
  std::vector<std::string> gather_to_root(const std::string& mine) override { return {mine}; }
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine}; }
  std::string broadcast_from_root(const std::string& data) override { return data; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code, const std::string& message) override;
};

/// True when this binary was built with MPI (libopenmpi-dev found by CMake).
bool built_with_mpi();

/// True when an MPI launcher (mpirun / mpiexec / srun with PMI) started this process: its
/// environment names a rank (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK).
bool launched_by_mpi();

/// The communicator of this process: MPI's world when launched by an MPI launcher, otherwise a
/// SingleProcess. Launched by mpirun but built without MPI is an error (every rank would run the
/// whole job on its own and write the same files): std::runtime_error saying how to rebuild.
/// Call once, from the main thread; MPI is finalised when the returned object is destroyed.
std::unique_ptr<Communicator> make_communicator(int& argc, char**& argv);

}  // namespace longtail_train
