// SPDX-License-Identifier: Apache-2.0
// The Communicator's collectives, run under mpirun with several ranks (and once without a
// launcher: the SingleProcess path). Exit code 0 on success; every failed check prints what
// differed and the job exits 1 (all ranks run every check, so none waits in a collective).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "distributed/communicator.hpp"

namespace {

int failures = 0;

void expect(bool ok, int rank, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
    ++failures;
  }
}

/// A value of rank r at element i that makes the order of addition visible in float: large and
/// small magnitudes mixed, so (a + b) + c differs from a + (b + c) for many elements.
template <class T>
T value(int r, std::size_t i) {
  const double big = (i % 3 == 0) ? 1e8 : 1.0;
  return T(((r + 1) * 0.1 + double(i % 17) * 1e-3) * ((r % 2) ? -big : big) + double(i) * 1e-7);
}

template <class T>
void check_allreduce(longtail_train::Communicator& comm, std::size_t n) {
  const int N = comm.size(), rank = comm.rank();
  std::vector<T> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = value<T>(rank, i);
  comm.allreduce_sum(data.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    T expected = value<T>(0, i);  // rank order: ((v0 + v1) + v2) + ...
    for (int r = 1; r < N; ++r) expected += value<T>(r, i);
    if (!(data[i] == expected)) {  // bit for bit, not approximately
      expect(false, rank,
             "allreduce_sum<" + std::string(sizeof(T) == 4 ? "float" : "double") + "> n=" + std::to_string(n) +
                 " element " + std::to_string(i) + ": got " + std::to_string(double(data[i])) + ", rank order gives " +
                 std::to_string(double(expected)));
      return;
    }
  }
}

/// reduce_scatter_sum then all_gather_blocks, with this rank's block changed in between (what
/// data-parallel training does with the optimiser): the owner's block holds the rank-order sum
/// after the first half, and every rank holds every owner's block after the second.
void check_reduce_scatter(longtail_train::Communicator& comm, std::size_t n) {
  using longtail_train::Communicator;
  const int N = comm.size(), rank = comm.rank();
  std::vector<float> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = value<float>(rank, i);
  comm.reduce_scatter_sum(data.data(), n);
  const std::size_t begin = Communicator::block_begin(n, rank, N), end = Communicator::block_begin(n, rank + 1, N);
  for (std::size_t i = 0; i < n; ++i) {
    float expected = value<float>(rank, i);  // outside the block: untouched
    if (i >= begin && i < end) {
      expected = value<float>(0, i);
      for (int r = 1; r < N; ++r) expected += value<float>(r, i);
    }
    if (!(data[i] == expected)) {
      expect(false, rank, "reduce_scatter_sum n=" + std::to_string(n) + " element " + std::to_string(i));
      return;
    }
  }
  for (std::size_t i = begin; i < end; ++i) data[i] = float(rank * 1000) + float(i);  // "the optimiser's step"
  for (std::size_t i = 0; i < begin; ++i) data[i] = -1;  // stale values elsewhere are overwritten
  comm.all_gather_blocks(data.data(), n);
  for (int r = 0; r < N; ++r)
    for (std::size_t i = Communicator::block_begin(n, r, N); i < Communicator::block_begin(n, r + 1, N); ++i)
      if (!(data[i] == float(r * 1000) + float(i))) {
        expect(false, rank, "all_gather_blocks n=" + std::to_string(n) + " element " + std::to_string(i));
        return;
      }
  // gather_blocks_to_root: each rank's block of its own array, into another array on the root
  // (the other ranks pass no output).
  std::vector<float> mine(n), out(n, -7.0f);
  for (std::size_t i = 0; i < n; ++i) mine[i] = float(rank * 1000) + float(i);
  comm.gather_blocks_to_root(mine.data(), rank == 0 ? out.data() : nullptr, n);
  if (rank == 0)
    for (int r = 0; r < N; ++r)
      for (std::size_t i = Communicator::block_begin(n, r, N); i < Communicator::block_begin(n, r + 1, N); ++i)
        if (!(out[i] == float(r * 1000) + float(i))) {
          expect(false, rank, "gather_blocks_to_root n=" + std::to_string(n) + " element " + std::to_string(i));
          return;
        }
}

}  // namespace

int main(int argc, char** argv) {
  auto comm = longtail_train::make_communicator(argc, argv);
  const int N = comm->size(), rank = comm->rank();
  // Sizes: empty, fewer elements than ranks, not a multiple of N, large (several MB).
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(1000003)}) {
    check_allreduce<float>(*comm, n);
    check_allreduce<double>(*comm, n);
    check_reduce_scatter(*comm, n);
  }
  std::vector<std::int64_t> counts{std::int64_t(rank) + 1, std::int64_t(1) << 40, -3};
  comm->allreduce_sum(counts.data(), counts.size());
  expect(counts[0] == std::int64_t(N) * (N + 1) / 2 && counts[1] == std::int64_t(N) << 40 && counts[2] == -3 * N, rank,
         "allreduce_sum<int64>");

  const std::string mine = "rank " + std::to_string(rank) + std::string(std::size_t(rank) * 1000, 'x');
  const auto at_root = comm->gather_to_root(mine);
  const auto everywhere = comm->all_gather(mine);
  expect(int(everywhere.size()) == N, rank, "all_gather size");
  expect(rank == 0 ? int(at_root.size()) == N : at_root.empty(), rank, "gather_to_root size");
  for (int r = 0; r < N && r < int(everywhere.size()); ++r) {
    const std::string want = "rank " + std::to_string(r) + std::string(std::size_t(r) * 1000, 'x');
    expect(everywhere[std::size_t(r)] == want, rank, "all_gather element " + std::to_string(r));
    if (rank == 0 && r < int(at_root.size()))
      expect(at_root[std::size_t(r)] == want, rank, "gather_to_root element " + std::to_string(r));
  }
  const std::string from_root = comm->broadcast_from_root(rank == 0 ? std::string("from root\0with a NUL", 20) : "");
  expect(from_root == std::string("from root\0with a NUL", 20), rank, "broadcast_from_root");
  comm->barrier();

  std::int64_t failed = failures;
  comm->allreduce_sum(&failed, 1);
  if (rank == 0)
    std::printf("%s: %s, %lld failed check(s)\n", comm->describe().c_str(), failed ? "FAILED" : "ok",
                (long long)failed);
  return failed ? 1 : 0;
}
