// SPDX-License-Identifier: Apache-2.0
// Command-line parsing: defaults, loss resolution, the sweep grid, and errors that name the flag
// and the value.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli.hpp"

using namespace longtail_train;

namespace {

CliOptions parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"longtail-train"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(int(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("CLI defaults: train on the embedded data with the write-up's best loss", "[trainer][cli]") {
  const CliOptions o = parse({});
  CHECK(o.command == Command::train);
  CHECK(o.data.source() == "embedded");
  CHECK(o.train.loss.name() == "cap_7.0_focal_g3");
  CHECK(o.train.hidden == std::vector<Eigen::Index>{512});
  CHECK(o.train.batch_size == 256);
  CHECK(o.threads == 1);
}

TEST_CASE("CLI: loss flags resolve to the configuration names of the sweep", "[trainer][cli]") {
  CHECK(parse({"--loss", "bce"}).train.loss.name() == "bce");
  CHECK(parse({"--loss", "weighted"}).train.loss.name() == "cap_7.0");
  CHECK(parse({"--cap", "6", "--gamma", "2"}).train.loss.name() == "cap_6.0_focal_g2");
  CHECK(parse({"--cap", "none", "--gamma", "none"}).train.loss.name() == "bce");
  CHECK(parse({"--gamma", "none"}).train.loss.name() == "cap_7.0");
  CHECK(parse({"--loss", "focal", "--weights", "none"}).train.loss.name() == "focal_g3");
  CHECK(parse({"--loss", "bce", "--cap", "5"}).train.loss.name() == "cap_5.0");
  CHECK(parse({"--loss", "weighted", "--cap", "inf"}).train.loss.name() == "uncapped");
  CHECK(parse({"--loss", "asl", "--weights", "none"}).train.loss.name() == "asl_gp0_gn4_m0.05");
  CHECK(parse({"--label-smoothing", "0.1"}).train.loss.name() == "cap_7.0_focal_g3_ls0.1");
  CHECK(parse({"--weights", "effective_number", "--cap", "3"}).train.loss.name() ==
        "effective_number_cap_3.0_focal_g3");
  const CliOptions w = parse({"--loss=weighted", "--weight-mode=class"});
  CHECK(w.train.loss.mode == WeightMode::class_weight);
  CHECK(w.train.loss.scheme == longtail::WeightScheme::pos_neg_ratio);
}

TEST_CASE("CLI: the default sweep is the write-up's grid plus plain BCE", "[trainer][cli]") {
  const CliOptions o = parse({"sweep"});
  const auto losses = sweep_losses(o);
  std::vector<std::string> names;
  for (const auto& l : losses) names.push_back(l.name());
  CHECK(names == std::vector<std::string>{"bce", "cap_6.0", "cap_6.0_focal_g2", "cap_6.0_focal_g3", "cap_7.0",
                                          "cap_7.0_focal_g2", "cap_7.0_focal_g3", "cap_8.0", "cap_8.0_focal_g2",
                                          "cap_8.0_focal_g3"});
  CHECK(sweep_losses(parse({"sweep", "--cap", "7", "--gamma", "3", "--no-bce", "--baseline", "cap_7.0_focal_g3"}))
            .size() == 1);
  CHECK(sweep_losses(parse({"sweep", "--cap", "none,7", "--gamma", "none,3"})).size() == 4);  // bce is in the grid
}

TEST_CASE("CLI errors name the flag and the value", "[trainer][cli]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse({"--lr", "abc"}), Contains("--lr") && Contains("'abc'"));
  CHECK_THROWS_WITH(parse({"--lr", "-1"}), Contains("--lr") && Contains("> 0"));
  CHECK_THROWS_WITH(parse({"--epochs", "2.5"}), Contains("--epochs") && Contains("'2.5'"));
  CHECK_THROWS_WITH(parse({"--epochs"}), Contains("--epochs") && Contains("missing value"));
  CHECK_THROWS_WITH(parse({"--bogus"}), Contains("unknown flag '--bogus'"));
  CHECK_THROWS_WITH(parse({"fit"}), Contains("unknown command 'fit'"));
  CHECK_THROWS_WITH(parse({"--loss", "hinge"}), Contains("--loss") && Contains("'hinge'"));
  CHECK_THROWS_WITH(parse({"--weights", "log"}), Contains("--weights") && Contains("'log'"));
  CHECK_THROWS_WITH(parse({"--hidden", "512,,256"}), Contains("--hidden"));
  CHECK_THROWS_WITH(parse({"--dropout", "1"}), Contains("--dropout") && Contains("[0, 1)"));
  CHECK_THROWS_WITH(parse({"--cap", "6,7"}), Contains("--cap") && Contains("sweep"));
  CHECK_THROWS_WITH(parse({"--cap", "0"}), Contains("--cap") && Contains("> 0"));
  CHECK_THROWS_WITH(parse({"--loss", "bce", "--gamma", "2"}), Contains("--gamma") && Contains("--loss bce"));
  CHECK_THROWS_WITH(parse({"--loss", "asl", "--gamma", "2"}), Contains("--gamma-pos"));
  CHECK_THROWS_WITH(parse({"--weights", "none", "--cap", "7"}), Contains("disagree"));
  CHECK_THROWS_WITH(parse({"--top", "3"}), Contains("--top") && Contains("predict"));
  CHECK_THROWS_WITH(parse({"--bigrams=yes"}), Contains("--bigrams takes no value"));
  CHECK_THROWS_WITH(parse({"eval"}), Contains("--checkpoint"));
  CHECK_THROWS_WITH(parse({"generate"}), Contains("--out"));
  CHECK_THROWS_WITH(parse({"--arff", "x.arff"}), Contains("--labels") && Contains("--xml"));
  CHECK_THROWS_WITH(parse({"--arff", "x.arff", "--labels", "3", "--xmc", "y.txt"}), Contains("one data source"));
  CHECK_THROWS_WITH(parse({"sweep", "--baseline", "nope"}),
                    Contains("--baseline nope") && Contains("cap_7.0_focal_g3"));
  CHECK_THROWS_WITH(parse({"sweep", "--loss", "bce"}), Contains("--loss"));
  CHECK_THROWS_AS(parse({"--threads", "-1"}), cli_error);
}

TEST_CASE("CLI: --help works for every command and mentions every flag's default", "[trainer][cli]") {
  for (const char* c : {"train", "sweep", "eval", "predict", "generate"}) {
    const CliOptions o = parse({c, "--help"});
    CHECK(o.help);
    const std::string text = help_text(o.command);
    CHECK_THAT(text, Catch::Contains("--threads"));
  }
  const std::string train = help_text(Command::train);
  for (const char* flag : {"--lr", "--hidden", "--cap", "--gamma", "--patience", "--resume", "--arff", "--taxonomy"})
    CHECK_THAT(train, Catch::Contains(flag));
  CHECK_THAT(train, Catch::Contains("[default: 0.001]"));
  CHECK_THAT(help_text(Command::sweep), Catch::Contains("--jobs"));
  CHECK_THAT(help_text(Command::predict), Catch::Contains("--top"));
}

TEST_CASE("CLI: --resume takes a checkpoint for train and is a switch for sweep", "[trainer][cli]") {
  const CliOptions train = parse({"train", "--resume", "model.ltck"});
  CHECK(train.train.resume_path == "model.ltck");
  CHECK_FALSE(train.sweep_resume);
  const CliOptions sweep = parse({"sweep", "--resume", "--out", "results"});
  CHECK(sweep.sweep_resume);
  CHECK(sweep.train.resume_path.empty());
  CHECK_FALSE(parse({"sweep"}).sweep_resume);
  using Catch::Contains;
  CHECK_THROWS_WITH(parse({"sweep", "--resume=model.ltck"}), Contains("--resume takes no value"));
  CHECK_THROWS_WITH(parse({"eval", "--resume", "x"}), Contains("does not apply to 'eval'") && Contains("train"));
  CHECK_THAT(help_text(Command::sweep), Contains("--resume") && Contains("OUT/checkpoints"));
}

TEST_CASE("CLI: predict --text refuses the row-selecting flags it would ignore", "[trainer][cli]") {
  CHECK(parse({"predict", "--checkpoint", "m.ltck", "--text", "docs.txt", "--top", "3"}).text == "docs.txt");
  CHECK_THROWS_WITH(parse({"predict", "--checkpoint", "m.ltck", "--text", "docs.txt", "--rows", "3"}),
                    Catch::Contains("--rows") && Catch::Contains("every line"));
  CHECK_THROWS_WITH(parse({"predict", "--checkpoint", "m.ltck", "--split", "train", "--text", "-"}),
                    Catch::Contains("--split"));
}
