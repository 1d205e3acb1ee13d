// SPDX-License-Identifier: Apache-2.0
#pragma once
// The sweep over the ranks of a distributed job (`mpirun -np N longtail-train sweep`), and in one
// process (N = 1, the same path with distributed/communicator.hpp's SingleProcess):
//
//  1. the root prepares the state folder (sweep_store.hpp): a fresh sweep empties it, --resume
//     checks its settings and reads the results of configurations that finished earlier;
//  2. the root broadcasts the configurations left to train; rank r takes those at positions
//     r, r + N, r + 2N, ... of that list (a fixed assignment: the same command and folder give
//     every rank the same work), and trains them --jobs at a time on its own cores;
//  3. every rank sends its outcomes (sweep_entry_io.hpp) to every rank (all-gather), so each
//     holds the whole result: the root prints the table and writes the files, and every rank
//     exits with the same status.
//
// A configuration's training does not depend on where it runs (the same data, seed and thread
// count per job on every rank), so its numbers are bit for bit those of a single-process sweep.
// The ranks communicate only at the start and the end, from the main thread; the worker threads
// never do.

#include <cstddef>
#include <string>
#include <vector>

#include "distributed/communicator.hpp"
#include "sweep.hpp"

namespace longtail_train {

/// The configurations (their positions in `pending`) that `rank` of `ranks` trains: every
/// ranks-th one starting at `rank`. Throws std::invalid_argument when rank is not in [0, ranks).
std::vector<std::size_t> assigned_to_rank(const std::vector<std::size_t>& pending, int rank, int ranks);

/// How a sweep runs besides its grid and training settings.
struct SweepLaunch {
  int jobs = 1;             ///< configurations in parallel on each rank
  int threads_per_job = 1;  ///< TrainConfig::threads of each configuration
  ProgressMode progress = ProgressMode::bar;
  std::string state_dir;  ///< the per-configuration checkpoints and results; "" = none (no --resume)
  bool resume = false;    ///< sweep --resume: keep finished configurations, continue the others
};

/// Runs the sweep on every rank of `comm` (all ranks call it with the same arguments) and returns
/// the whole result on every rank. Errors that stop the sweep (a folder that cannot be written,
/// --resume with other settings) are thrown on the rank that meets them (main ends the job).
SweepResult run_distributed_sweep(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& losses,
                                  const SweepOptions& options, const SweepLaunch& launch, Communicator& comm);

}  // namespace longtail_train
