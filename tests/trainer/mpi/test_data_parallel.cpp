// SPDX-License-Identifier: Apache-2.0
// Data-parallel training's shards and all-reduced quantities (examples/trainer/data_parallel.hpp),
// run under mpirun with 2 and 3 ranks and once as one process. Every rank loads the embedded data
// (made smaller), keeps its shard (DataShard, as longtail-train does) and checks against the whole
// data, which it loads separately as the reference:
//  - the shards partition the training rows (rank r holds rows r, r + N, ...), none holds them all;
//  - the all-reduced label counts equal the counts of the whole split, and the class weights and
//    caps of the training loss computed from them equal the one-process ones bit for bit,
//    although no rank saw all rows;
//  - the validation macro / micro F1 from all-reduced TP / FP / FN counts over the ranks' rows
//    equal longtail::metrics::f1_scores on all rows, bit for bit;
//  - the parameter check passes for equal parameters and names the rank that differs.
// Exit code 0 on success; every rank runs every check, so none waits in a collective.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/rng.hpp"
#include "data/split.hpp"
#include "data_parallel.hpp"
#include "data_source.hpp"
#include "loss.hpp"
#include "loss_config.hpp"
#include "targets.hpp"

namespace {

using namespace longtail_train;

int failures = 0;
int this_rank = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", this_rank, what.c_str());
    ++failures;
  }
}

bool same_bits(const Eigen::ArrayXf& a, const Eigen::ArrayXf& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
}

}  // namespace

int main(int argc, char** argv) {
  auto comm_owner = make_communicator(argc, argv);
  Communicator& comm = *comm_owner;
  const int N = comm.size(), rank = comm.rank();
  this_rank = rank;

  DataOptions options;  // the embedded generator, made smaller for speed (about 3800 training rows)
  options.generator_overrides = {{"head_topic_count", "200"}, {"vocabulary_size", "1000"}};
  const Splits whole = load_splits(options);
  const DataShard shard(load_splits(options), comm);
  const TrainingData& view = shard.view();
  const Dataset& mine = *view.train;

  // The shard: rows rank, rank + N, ... of the training split, in order.
  const auto rows = shard_rows(whole.train.rows(), rank, N);
  expect(mine.rows() == Eigen::Index(rows.size()),
         "shard has " + std::to_string(mine.rows()) + " rows, expected " + std::to_string(rows.size()));
  expect(view.train_rows == whole.train.rows(), "the view's training row count is the whole split's");
  const Dataset expected = select_rows(whole.train, rows, "expected");
  expect(mine.features.isApprox(expected.features, 0.0f) && mine.labels.isApprox(expected.labels, 0.0f),
         "the shard holds exactly rows rank, rank + N, ... of the training split");
  std::int64_t held = mine.rows();
  comm.allreduce_sum(&held, 1);
  expect(held == whole.train.rows(), "the shards' rows add up to the training split");
  if (N > 1) expect(mine.rows() < whole.train.rows(), "no rank holds every training row");
  expect(view.validation->rows() == whole.validation.rows(), "every rank holds the whole validation split");
  expect(rank == 0 ? view.test->rows() == whole.test.rows() : view.test->rows() == 0,
         "rank 0 holds the whole test split, the others none");
  expect(view.fingerprint == whole_data(whole).fingerprint, "the fingerprint is of the whole data");

  // Label counts and class weights from the shards.
  const Eigen::ArrayXd counts = global_label_counts(mine, comm);
  const Eigen::ArrayXd reference = label_counts(whole.train.labels);
  expect(counts.size() == reference.size() && (counts == reference).all(),
         "the all-reduced label counts are those of the whole training split");
  if (N > 1) {
    const Eigen::ArrayXd local = label_counts(mine.labels);
    expect(!(local == reference).all(), "this rank's own counts are not the whole split's (the test would be empty)");
  }
  for (const char* loss_flags : {"cap 7 (the default)", "no cap, normalised", "effective number, cap 3"}) {
    LossConfig config = resolve_loss({}, LossConfig{});  // the default loss: cap 7 + focal gamma 3
    const std::string which = loss_flags;
    if (which.rfind("no cap", 0) == 0) {
      config.cap = 0;
      config.normalize = true;
    } else if (which.rfind("effective", 0) == 0) {
      config.scheme = longtail::WeightScheme::effective_number;
      config.beta = 0.999;
      config.cap = 3;
    }
    const TrainingLoss from_shards(config, counts, view.train_rows, 1);
    const TrainingLoss one_process(config, reference, whole.train.rows(), 1);
    expect(from_shards.class_weights().size() == whole.train.num_labels() &&
               same_bits(from_shards.class_weights(), one_process.class_weights()),
           std::string("class weights (") + loss_flags + ") equal the one-process weights bit for bit");
  }

  // Validation F1 from the ranks' counts: scores from a fixed generator, the same on every rank.
  const Dataset& val = *view.validation;
  const RowMatrix<float> targets = dense_targets(val.labels);
  RowMatrix<float> scores(targets.rows(), targets.cols());
  Rng rng(7, 1);
  for (Eigen::Index i = 0; i < scores.size(); ++i) scores.data()[i] = rng.uniform_float();
  for (Eigen::Index i = 0; i < scores.rows(); ++i)  // informative scores: the true labels score higher
    for (Eigen::Index j = 0; j < scores.cols(); ++j)
      if (targets(i, j) > 0.5f) scores(i, j) = 0.3f + 0.7f * scores(i, j);
  const auto val_rows = shard_rows(val.rows(), rank, N);
  RowMatrix<float> my_scores(Eigen::Index(val_rows.size()), scores.cols()),
      my_targets(Eigen::Index(val_rows.size()), scores.cols());
  for (std::size_t k = 0; k < val_rows.size(); ++k) {
    my_scores.row(Eigen::Index(k)) = scores.row(val_rows[k]);
    my_targets.row(Eigen::Index(k)) = targets.row(val_rows[k]);
  }
  LabelCounts confusion = label_confusion(my_scores, my_targets, 0.5);
  allreduce(confusion, comm);
  const auto from_counts = f1_from_counts(confusion);
  const auto direct = longtail::metrics::f1_scores(scores, targets, 0.5);
  expect(from_counts.macro.f1 == direct.macro.f1 && from_counts.micro.f1 == direct.micro.f1 &&
             from_counts.macro.precision == direct.macro.precision && from_counts.micro.recall == direct.micro.recall,
         "validation macro / micro F1 from the all-reduced counts equal f1_scores on all rows");
  expect(direct.macro.f1 > 0.001 && direct.micro.f1 > 0.01 && direct.micro.f1 < 0.99,
         "the F1 check scores are informative, not trivial (macro " + std::to_string(direct.macro.f1) + ", micro " +
             std::to_string(direct.micro.f1) + ")");

  // The parameter check.
  Eigen::VectorXf params = Eigen::VectorXf::LinSpaced(1000, -1.0f, 1.0f);
  bool threw = false;
  try {
    check_parameters_in_sync(params, comm, 1);
  } catch (const std::exception&) {
    threw = true;
  }
  expect(!threw, "equal parameters pass the sync check");
  if (N > 1) {
    if (rank == N - 1) params[17] += 1e-6f;
    std::string message;
    try {
      check_parameters_in_sync(params, comm, 5);
    } catch (const std::exception& e) {
      message = e.what();
    }
    expect(message.find("rank " + std::to_string(N - 1)) != std::string::npos &&
               message.find("epoch 5") != std::string::npos,
           "a rank whose parameters differ fails the check on every rank, named (got '" + message + "')");
  }

  std::int64_t failed = failures;
  comm.allreduce_sum(&failed, 1);
  if (rank == 0)
    std::printf("%s: data-parallel shards and reductions %s (%lld failed check(s))\n", comm.describe().c_str(),
                failed ? "FAILED" : "ok", static_cast<long long>(failed));
  return failed ? 1 : 0;
}
