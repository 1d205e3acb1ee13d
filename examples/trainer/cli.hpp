// SPDX-License-Identifier: Apache-2.0
#pragma once
// Command line of longtail-train: subcommands, flags (parsed by hand, no dependency), --help
// generated from the same table the parser uses, so every flag is documented with its default.
// Errors name the flag and the value ("--lr: expected a number > 0, got 'abc'").

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data_source.hpp"
#include "gemm.hpp"
#include "loss.hpp"
#include "progress.hpp"
#include "trainer.hpp"

namespace longtail_train {

enum class Command { train, sweep, eval, predict, generate };
const char* to_string(Command c);

class cli_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The sweep's grid and reporting.
struct SweepOptions {
  /// Weight caps; nullopt = no class weights ("none").
  std::vector<std::optional<double>> caps{6.0, 7.0, 8.0};
  /// Focal gammas; nullopt = no focusing ("none": weighted BCE).
  std::vector<std::optional<double>> gammas{std::nullopt, 2.0, 3.0};
  bool add_bce_baseline = true;  ///< also train plain BCE (unless the grid has it)
  std::string baseline = "bce";  ///< configuration the improvement is measured against
  int jobs = 0;                  ///< parallel configurations; 0 = one per core (at most one per config)
  std::string metric = "macro";  ///< headline F1: macro | micro | samples
  bool tuned = false;            ///< headline at per-label tuned thresholds instead of 0.5
};

struct CliOptions {
  Command command = Command::train;
  bool help = false;
  bool version = false;

  DataOptions data;
  TrainConfig train;  ///< loss resolved by parse_cli (train / eval / predict)

  // Loss flags as given (resolved into train.loss, or into the sweep's grid).
  std::optional<LossKind> loss_kind;
  std::optional<std::string> weights;               ///< scheme name or "none"
  std::vector<std::optional<double>> cap_values;    ///< as given (--cap)
  std::vector<std::optional<double>> gamma_values;  ///< as given (--gamma)

  int threads = 1;  ///< per training (per job in sweep); 0 = all cores
  std::optional<GemmBackend> gemm;
  std::optional<ProgressMode> progress;  ///< empty = auto
  std::string out_dir;
  SweepOptions sweep;
  std::string checkpoint;  ///< train: write here; eval / predict: read from here
  std::string split = "test";
  int rows = 10;
  int top = 5;
};

/// Parses argv (argv[0] is the program). Throws cli_error naming the flag and value.
CliOptions parse_cli(int argc, const char* const* argv);

/// The loss of a train / eval / predict run from the loss flags (see --help: defaults).
LossConfig resolve_loss(const CliOptions& options);

/// The sweep's loss configurations in grid order (cap-major), the BCE baseline first when added.
std::vector<LossConfig> sweep_losses(const CliOptions& options);

/// --help text for a command.
std::string help_text(Command command);

}  // namespace longtail_train
