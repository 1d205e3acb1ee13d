// SPDX-License-Identifier: Apache-2.0
#pragma once
// The subcommands of longtail-train. Each returns the process exit code; errors propagate as
// exceptions to main(), which prints them.

#include "cli.hpp"
#include "distributed/communicator.hpp"

namespace longtail_train {

/// train and sweep run on every rank of `comm` (one process: SingleProcess); rank 0 prints and
/// writes the outputs. The other commands run as one process.
int run_train(const CliOptions& options, Communicator& comm);
int run_sweep(const CliOptions& options, Communicator& comm);
int run_eval(const CliOptions& options);
int run_predict(const CliOptions& options);
int run_generate(const CliOptions& options);

/// Threads and GEMM backend for the process (from --threads and --gemm); returns the threads.
int configure_compute(const CliOptions& options);

/// "longtail-train 0.1.0 (GEMM: eigen; BLAS: OpenBLAS ...)"
std::string version_text();

}  // namespace longtail_train
