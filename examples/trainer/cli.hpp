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
#include "loss_config.hpp"
#include "progress.hpp"
#include "search.hpp"
#include "sweep.hpp"
#include "trainer.hpp"

namespace longtail_train {

enum class Command { train, sweep, eval, predict, generate };
const char* to_string(Command c);

class cli_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct CliOptions {
  Command command = Command::train;
  bool help = false;
  bool version = false;

  DataOptions data;
  TrainConfig train;  ///< train.loss: resolved by parse_cli from the two below (train)

  LossFlags loss_flags;      ///< --loss, --weights, --cap, --gamma as given
  LossConfig loss_settings;  ///< what every configuration shares (--alpha, --margin, --weight-mode, ...)

  int threads = 1;  ///< per training (per job in sweep); 0 = all cores
  std::optional<GemmBackend> gemm;
  std::optional<ProgressMode> progress;  ///< empty = auto
  std::string out_dir;
  SweepOptions sweep;
  SearchOptions search;       ///< sweep --search wide
  bool sweep_resume = false;  ///< sweep --resume: continue the sweep in --out (its checkpoints folder)
  std::string checkpoint;     ///< train: write here; eval / predict: read from here
  std::string split = "test";
  int rows = 10;
  int top = 5;
  std::string text;            ///< predict: documents, one per line ("-": standard input); "" = a data split
  bool generate_text = false;  ///< generate: labelled text TSV (--format text) instead of XMC text
};

/// Parses argv (argv[0] is the program). Throws cli_error naming the flag and value.
CliOptions parse_cli(int argc, const char* const* argv);

/// The sweep's loss configurations (loss_config.hpp's sweep_losses with this command line's flags).
std::vector<LossConfig> sweep_losses(const CliOptions& options);

/// --help text for a command.
std::string help_text(Command command);

}  // namespace longtail_train
