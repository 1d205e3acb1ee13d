// SPDX-License-Identifier: Apache-2.0
// longtail-train: the reference trainer of the longtail loss library. See `longtail-train --help`.

#include <exception>
#include <iostream>

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
  try {
    switch (options.command) {
      case Command::train:
        return run_train(options);
      case Command::sweep:
        return run_sweep(options);
      case Command::eval:
        return run_eval(options);
      case Command::predict:
        return run_predict(options);
      case Command::generate:
        return run_generate(options);
    }
  } catch (const std::exception& e) {
    std::cerr << "\nlongtail-train: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
