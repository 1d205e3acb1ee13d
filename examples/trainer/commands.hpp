// SPDX-License-Identifier: Apache-2.0
#pragma once
// The subcommands of longtail-train. Each returns the process exit code; errors propagate as
// exceptions to main(), which prints them.

#include "cli.hpp"

namespace longtail_train {

int run_train(const CliOptions& options);
int run_sweep(const CliOptions& options);
int run_eval(const CliOptions& options);
int run_predict(const CliOptions& options);
int run_generate(const CliOptions& options);

/// Threads and GEMM backend for the process (from --threads and --gemm); returns the threads.
int configure_compute(const CliOptions& options);

/// "longtail-train 0.1.0 (GEMM: eigen; BLAS: OpenBLAS ...)"
std::string version_text();

}  // namespace longtail_train
