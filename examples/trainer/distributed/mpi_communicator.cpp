// SPDX-License-Identifier: Apache-2.0
#include "distributed/mpi_communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace longtail_train {
namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, std::size_t(len)));
}

int to_int_count(std::size_t n, const char* what) {
  if (n > std::size_t(INT_MAX))
    throw std::runtime_error(std::string(what) + ": " + std::to_string(n) +
                             " elements exceed what one MPI call can carry (2^31 - 1)");
  return int(n);
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<std::int64_t>() {
  return MPI_INT64_T;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(int& argc, char**& argv) {
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as return codes (then exceptions with MPI's message), not as MPI's
    // default abort without context.
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    std::string v(version, std::size_t(len));
    v = v.substr(0, v.find(','));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
    return "MPI (" + v + "), " + std::to_string(size_) + (size_ == 1 ? " rank" : " ranks");
  }

  void allreduce_sum(double* data, std::size_t n) override { reduce(data, n); }
  void allreduce_sum(float* data, std::size_t n) override { reduce(data, n); }
  void allreduce_sum(std::int64_t* data, std::size_t n) override { reduce(data, n); }
  void reduce_scatter_sum(float* data, std::size_t n) override { reduce_scatter(data, n); }
  void all_gather_blocks(float* data, std::size_t n) override { all_gather(data, n); }
  void gather_blocks_to_root(const float* data, float* out, std::size_t n) override {
    if (n == 0) return;
    const Blocks b = blocks(n, "gather_blocks_to_root");
    const std::size_t mine = std::size_t(b.displs[std::size_t(rank_)]);
    if (rank_ == 0) {
      if (out != data) std::copy(data + mine, data + mine + std::size_t(b.counts[0]), out + mine);
      check(
          MPI_Gatherv(MPI_IN_PLACE, 0, MPI_FLOAT, out, b.counts.data(), b.displs.data(), MPI_FLOAT, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
    } else {
      check(MPI_Gatherv(data + mine, b.counts[std::size_t(rank_)], MPI_FLOAT, nullptr, nullptr, nullptr, MPI_FLOAT, 0,
                        MPI_COMM_WORLD),
            "MPI_Gatherv");
    }
  }

  std::vector<std::string> gather_to_root(const std::string& mine) override { return gather(mine, false); }
  std::vector<std::string> all_gather(const std::string& mine) override { return gather(mine, true); }

  std::string broadcast_from_root(const std::string& data) override {
    std::int64_t n = rank_ == 0 ? std::int64_t(data.size()) : 0;
    check(MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
    std::string out = rank_ == 0 ? data : std::string(std::size_t(n), '\0');
    check(MPI_Bcast(out.data(), to_int_count(std::size_t(n), "broadcast"), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
    return out;
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(int exit_code, const std::string& message) override {
    std::cerr << "longtail-train: rank " << rank_ << " of " << size_ << ": " << message << " (ending the whole MPI job)"
              << std::endl;
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::exit(exit_code);  // MPI_Abort does not return; if it did, do not continue
  }

 private:
  /// A reduce-scatter + all-gather with a fixed order of addition: element block r is owned by
  /// rank r, which receives block r from every other rank (MPI_Alltoallv) and adds them in rank order
  /// 0, 1, ..., N-1; then every rank gathers every block (MPI_Allgatherv). Each element crosses
  /// the network 2 (N-1)/N times its size, as in a ring all-reduce, and the sum does not depend
  /// on MPI's choice of algorithm (MPI_Allreduce's order may change with the message size).
  template <class T>
  void reduce(T* data, std::size_t n) {
    if (size_ == 1 || n == 0) return;
    reduce_scatter(data, n);
    all_gather(data, n);
  }

  /// Block layout of an n-element array: counts and offsets per rank (Communicator::block_begin).
  struct Blocks {
    std::vector<int> counts, displs;
  };
  Blocks blocks(std::size_t n, const char* what) const {
    const std::size_t N = std::size_t(size_);
    Blocks b{std::vector<int>(N), std::vector<int>(N)};
    for (std::size_t r = 0; r < N; ++r) {
      const std::size_t begin = block_begin(n, int(r), size_), end = block_begin(n, int(r) + 1, size_);
      b.counts[r] = to_int_count(end - begin, what);
      b.displs[r] = to_int_count(begin, what);
    }
    return b;
  }

  /// This rank's block of `data` becomes the rank-order sum of every rank's block.
  template <class T>
  void reduce_scatter(T* data, std::size_t n) {
    if (size_ == 1 || n == 0) return;
    const std::size_t N = std::size_t(size_), me = std::size_t(rank_);
    const Blocks b = blocks(n, "reduce_scatter_sum");
    const int mine = b.counts[me];
    // Block r of every rank to rank r: receive the other ranks' copies of my block, in rank order,
    // into a buffer kept between calls (a fresh multi-megabyte vector each training step costs a
    // page fault per page). My own copy stays where it is: no copy to myself.
    std::vector<T>& pieces = scratch(T{});
    if (pieces.size() < N * std::size_t(mine)) pieces.resize(N * std::size_t(mine));
    std::vector<int> send_counts = b.counts, recv_counts(N, mine), recv_displs(N);
    send_counts[me] = 0;
    recv_counts[me] = 0;
    for (std::size_t r = 0; r < N; ++r) recv_displs[r] = int(r) * mine;
    check(MPI_Alltoallv(data, send_counts.data(), b.displs.data(), mpi_type<T>(), pieces.data(), recv_counts.data(),
                        recv_displs.data(), mpi_type<T>(), MPI_COMM_WORLD),
          "MPI_Alltoallv");
    // ((v_0 + v_1) + v_2) + ... in one pass over the sources, a chunk at a time in a buffer that
    // stays in L1: the training step's gradient blocks are megabytes that come from memory, so
    // every pass saved counts (the copy of the own block into the pieces and back are gone).
    T* block = data + b.displs[me];
    constexpr int kChunk = 1024;
    T acc[kChunk];
    for (int start = 0; start < mine; start += kChunk) {
      const int len = std::min(kChunk, mine - start);
      auto source = [&](std::size_t r) -> const T* {
        return r == me ? block + start : pieces.data() + r * std::size_t(mine) + std::size_t(start);
      };
      const T* first = source(0);
      for (int i = 0; i < len; ++i) acc[i] = first[i];
      for (std::size_t r = 1; r < N; ++r) {
        const T* next = source(r);
        for (int i = 0; i < len; ++i) acc[i] += next[i];
      }
      std::copy(acc, acc + len, block + start);
    }
  }

  /// Every rank's block of `data` to every rank (in place).
  template <class T>
  void all_gather(T* data, std::size_t n) {
    if (size_ == 1 || n == 0) return;
    const Blocks b = blocks(n, "all_gather_blocks");
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, mpi_type<T>(), data, b.counts.data(), b.displs.data(), mpi_type<T>(),
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
  }

  std::vector<std::string> gather(const std::string& mine, bool everyone) {
    const int n = to_int_count(mine.size(), "gather");
    std::vector<int> sizes(static_cast<std::size_t>(size_));
    if (everyone)
      check(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    else
      check(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
    const bool receives = everyone || rank_ == 0;
    std::vector<int> displs(static_cast<std::size_t>(size_), 0);
    std::size_t total = 0;
    if (receives)
      for (std::size_t r = 0; r < sizes.size(); ++r) {
        displs[r] = to_int_count(total, "gather");
        total += std::size_t(sizes[r]);
      }
    std::string all(receives ? total : 0, '\0');
    if (everyone)
      check(MPI_Allgatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD),
            "MPI_Allgatherv");
    else
      check(MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), displs.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
            "MPI_Gatherv");
    std::vector<std::string> out;
    if (receives)
      for (std::size_t r = 0; r < sizes.size(); ++r)
        out.push_back(all.substr(std::size_t(displs[r]), std::size_t(sizes[r])));
    return out;
  }

  std::vector<float>& scratch(float) { return scratch_float_; }
  std::vector<double>& scratch(double) { return scratch_double_; }
  std::vector<std::int64_t>& scratch(std::int64_t) { return scratch_int64_; }

  int rank_ = 0, size_ = 1;
  std::vector<float> scratch_float_;
  std::vector<double> scratch_double_;
  std::vector<std::int64_t> scratch_int64_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(int& argc, char**& argv) {
  return std::make_unique<MpiCommunicator>(argc, argv);
}

}  // namespace longtail_train
