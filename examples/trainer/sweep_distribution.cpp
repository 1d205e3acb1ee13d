// SPDX-License-Identifier: Apache-2.0
#include "sweep_distribution.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "common/durable_file.hpp"
#include "progress.hpp"
#include "sweep_entry_io.hpp"
#include "sweep_store.hpp"

namespace longtail_train {
namespace {

std::string encode_indices(const std::vector<std::size_t>& v) {
  ByteWriter w;
  w.u64(v.size());
  for (std::size_t i : v) w.u64(i);
  return std::move(w.bytes());
}

std::vector<std::size_t> decode_indices(const std::string& bytes, std::size_t grid) {
  ByteReader r(bytes, "the root's list of configurations");
  const std::uint64_t n = r.u64("count");
  if (n > grid) r.fail("lists " + std::to_string(n) + " configurations of " + std::to_string(grid));
  std::vector<std::size_t> v;
  for (std::uint64_t k = 0; k < n; ++k) {
    const std::uint64_t i = r.u64("index");
    if (i >= grid) r.fail("configuration " + std::to_string(i) + " is not in the grid");
    v.push_back(std::size_t(i));
  }
  return v;
}

}  // namespace

std::vector<std::size_t> assigned_to_rank(const std::vector<std::size_t>& pending, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw std::invalid_argument("rank " + std::to_string(rank) + " of " + std::to_string(ranks));
  std::vector<std::size_t> mine;
  for (std::size_t k = std::size_t(rank); k < pending.size(); k += std::size_t(ranks)) mine.push_back(pending[k]);
  return mine;
}

SweepResult run_distributed_sweep(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& losses,
                                  const SweepOptions& options, const SweepLaunch& launch, Communicator& comm) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string prefix = comm.size() > 1 ? "[rank " + std::to_string(comm.rank()) + "] " : "";
  const bool quiet = launch.progress == ProgressMode::quiet;
  const bool stored = !launch.state_dir.empty();
  // The settings every kept result must share, with the metric the configurations run with.
  TrainConfig stored_base = base;
  stored_base.rules.metric = headline_average(options);
  const SweepStore store(launch.state_dir, stored ? SweepStore::shared_settings(stored_base, data) : Settings{});

  // 1. The root prepares the folder and decides what is left to train.
  std::vector<SweepOutcome> mine;  // this rank's outcomes (the root's include the kept ones)
  std::vector<std::size_t> pending;
  if (comm.is_root()) {
    bool resuming = false;
    if (stored && launch.resume) {
      resuming = store.check_resumable();
      if (!resuming) Progress::print_line("note: " + store.directory() + " holds no sweep to resume; starting afresh");
    }
    if (stored && !resuming) {
      if (const int removed = store.start_fresh(); removed > 0)
        Progress::print_line("note: removed " + std::to_string(removed) + " files of an earlier sweep from " +
                             store.directory() + " (sweep --resume continues a sweep instead)");
    }
    for (std::size_t i = 0; i < losses.size(); ++i) {
      std::optional<SweepEntry> kept;
      if (resuming) kept = store.load_result(losses[i]);
      if (!kept) {
        pending.push_back(i);
        continue;
      }
      SweepOutcome o;
      o.index = i;
      o.kept = true;
      o.entry = std::move(kept);
      if (!quiet) Progress::print_line("sweep: kept   " + losses[i].name() + " (finished in an earlier run)");
      mine.push_back(std::move(o));
    }
  }
  // 2. Every rank learns the list and takes its share.
  pending = decode_indices(comm.broadcast_from_root(encode_indices(pending)), losses.size());
  const std::vector<std::size_t> assigned = assigned_to_rank(pending, comm.rank(), comm.size());
  if (stored && !comm.is_root()) ensure_writable_directory(store.directory(), "sweep checkpoint folder");
  if (!quiet && comm.size() > 1) {
    std::string names;
    for (std::size_t i : assigned) names += (names.empty() ? "" : ", ") + losses[i].name();
    Progress::print_line(prefix + "sweep: " + std::to_string(assigned.size()) + " configuration(s) here" +
                         (names.empty() ? "" : ": " + names));
  }
  const ConfigurationTask task =
      stored ? store.task(data, options, launch.resume, prefix) : train_configuration(data, options);
  for (auto& o : run_configurations(losses, assigned, base, options, launch.jobs, launch.threads_per_job,
                                    launch.progress, prefix, task))
    mine.push_back(std::move(o));

  // 3. Everyone gets everything.
  std::vector<SweepOutcome> all;
  const std::vector<std::string> parts = comm.all_gather(write_outcomes(mine));
  for (std::size_t r = 0; r < parts.size(); ++r)
    for (auto& o : read_outcomes(parts[r], "rank " + std::to_string(r) + "'s results")) all.push_back(std::move(o));
  SweepResult result =
      sweep_result(losses, std::move(all), options, launch.jobs, launch.threads_per_job, comm.size(), base.rules);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace longtail_train
