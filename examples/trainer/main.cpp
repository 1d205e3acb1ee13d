// SPDX-License-Identifier: Apache-2.0
// longtail-train: the reference trainer of the longtail loss library. See `longtail-train --help`.

#include <exception>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace longtail_train;
  CliOptions options;
  try {
    options = parse_cli(argc, argv);
  } catch (const cli_error& e) {
    std::cerr << "longtail-train: " << e.what() << "\n";
    return 2;
  }
  if (options.help) {
    std::cout << help_text(options.command);
    return 0;
  }
  if (options.version) {
    std::cout << version_text() << "\n";
    return 0;
  }
  // Under mpirun every rank runs this; train and sweep share the work, the others refuse.
  std::unique_ptr<Communicator> comm;
  try {
    comm = make_communicator(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "longtail-train: error: " << e.what() << "\n";
    return 1;
  }
  try {
    if (comm->size() > 1 && options.command != Command::train && options.command != Command::sweep)
      throw std::invalid_argument(std::string("'") + to_string(options.command) +
                                  "' runs as one process; only train and sweep run under mpirun (" + comm->describe() +
                                  ")");
    switch (options.command) {
      case Command::train:
        return run_train(options, *comm);
      case Command::sweep:
        return run_sweep(options, *comm);
      case Command::eval:
        return run_eval(options);
      case Command::predict:
        return run_predict(options);
      case Command::generate:
        return run_generate(options);
    }
  } catch (const std::exception& e) {
    // With several ranks an error on one rank would leave the others waiting in a collective
    // forever: end the whole job (mpirun then exits non-zero with this message).
    if (comm->size() > 1) comm->abort(1, std::string("error: ") + e.what());
    std::cerr << "\nlongtail-train: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
