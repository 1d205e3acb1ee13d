// SPDX-License-Identifier: Apache-2.0
#pragma once
// Independent jobs on a few threads: the sweep's configurations, the search's training jobs of a
// rung, the refit's members. Each thread takes the next job index until none is left.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace longtail_train {

/// Calls job(0) ... job(count - 1), each once, on min(threads, count) threads (the calling
/// thread is one of them), and returns when all have returned. `job` must not throw: a job
/// reports its failure itself (the callers keep the first exception and rethrow it after).
template <class Job>
void run_jobs(std::size_t count, int threads, const Job& job) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) job(i);
  };
  const std::size_t n = std::min(count, std::size_t(std::max(1, threads)));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
}

}  // namespace longtail_train
