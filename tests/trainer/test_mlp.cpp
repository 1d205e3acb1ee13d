// SPDX-License-Identifier: Apache-2.0
// The MLP's backward pass against central finite differences in double, for sparse and dense
// input, one and two hidden layers, with and without dropout (fixed masks).
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "common/rng.hpp"
#include "mlp.hpp"

using namespace longtail_train;

namespace {

CsrMatrix<double> random_sparse(Eigen::Index rows, Eigen::Index cols, double density, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<Eigen::Triplet<double>> t;
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j)
      if (rng.uniform() < density) t.emplace_back(i, j, 2.0 * rng.uniform() - 0.5);
  CsrMatrix<double> m(rows, cols);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

/// Loss = sum(logits .* R): d loss / d logits = R, so the check isolates the network's backward.
double loss_of(const Mlp<double>& net, const RowBatch<double>& x, const RowMatrix<double>& r, const DropoutSpec* d) {
  MlpWorkspace<double> ws;
  net.forward(x, ws, d);
  return (ws.logits().array() * r.array()).sum();
}

void check_gradient(bool dense_input, std::vector<Eigen::Index> hidden, double dropout) {
  const MlpShape shape{9, hidden, 4};
  Mlp<double> net(shape, dense_input);
  net.init(7);
  const CsrMatrix<double> features = random_sparse(12, 9, 0.4, 3);
  const std::vector<std::int64_t> rows{5, 0, 11, 3, 7, 3};  // a batch (with a repeated row)
  const RowBatch<double> x{&features, rows.data(), Eigen::Index(rows.size())};
  Rng rng(11);
  RowMatrix<double> r(Eigen::Index(rows.size()), 4);
  for (Eigen::Index e = 0; e < r.size(); ++e) r.data()[e] = 2.0 * rng.uniform() - 1.0;
  const DropoutSpec drop{dropout, 99};
  const DropoutSpec* d = dropout > 0 ? &drop : nullptr;

  MlpWorkspace<double> ws;
  net.forward(x, ws, d);
  ws.logit_grad() = r;
  Eigen::VectorXd grad;
  net.backward(x, ws, grad);
  REQUIRE(grad.size() == shape.parameter_count());

  const double h = 1e-6;
  double worst = 0;
  for (Eigen::Index k = 0; k < net.parameters().size(); ++k) {
    const double keep = net.parameters()[k];
    net.parameters()[k] = keep + h;
    const double up = loss_of(net, x, r, d);
    net.parameters()[k] = keep - h;
    const double down = loss_of(net, x, r, d);
    net.parameters()[k] = keep;
    const double numeric = (up - down) / (2 * h);
    worst = std::max(worst, std::abs(numeric - grad[k]) / std::max(1.0, std::abs(numeric)));
  }
  INFO("input " << (dense_input ? "dense" : "sparse") << ", shape " << shape.to_string() << ", dropout " << dropout);
  CHECK(worst < 1e-7);
}

}  // namespace

TEST_CASE("MLP gradient matches finite differences (double)", "[trainer][mlp]") {
  for (bool dense : {false, true}) {
    check_gradient(dense, {}, 0.0);      // linear model
    check_gradient(dense, {6}, 0.0);     // one hidden layer
    check_gradient(dense, {6, 5}, 0.0);  // two hidden layers
    check_gradient(dense, {6, 5}, 0.3);  // with dropout (same masks for the same seed)
  }
}

TEST_CASE("MLP sparse and dense input paths agree", "[trainer][mlp]") {
  const MlpShape shape{9, {6}, 4};
  Mlp<double> sparse(shape, false), dense(shape, true);
  sparse.init(5);
  dense.parameters() = sparse.parameters();
  const CsrMatrix<double> features = random_sparse(10, 9, 0.3, 8);
  const auto a = sparse.predict_logits(features, 4), b = dense.predict_logits(features, 4);
  CHECK((a - b).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("MLP dropout masks belong to training rows, not batch positions", "[trainer][mlp]") {
  // Data-parallel training computes a row in another batch position (and from a shard, at another
  // row index) than one process does: its mask must come from its training-split index alone.
  const MlpShape shape{9, {16, 8}, 4};
  Mlp<float> net(shape, false);
  net.init(3);
  CsrMatrix<float> all = random_sparse(10, 9, 0.6, 4).cast<float>();
  all.makeCompressed();
  CsrMatrix<float> shard = all.middleRows(7, 1);  // a rank that holds training row 7 only
  shard.makeCompressed();
  const std::int64_t batch_rows[] = {2, 7, 5}, shard_rows[] = {0}, shard_global[] = {7};
  auto logits = [&](const CsrMatrix<float>& m, const std::int64_t* rows, Eigen::Index count, const DropoutSpec* d) {
    MlpWorkspace<float> ws;
    net.forward({&m, rows, count}, ws, d);
    return RowMatrix<float>(ws.logits());
  };
  const DropoutSpec epoch1{0.5, 11, 1, nullptr}, epoch1_shard{0.5, 11, 1, shard_global}, epoch2{0.5, 11, 2, nullptr};
  const RowMatrix<float> in_batch = logits(all, batch_rows, 3, &epoch1);
  const RowMatrix<float> alone = logits(shard, shard_rows, 1, &epoch1_shard);
  CHECK(in_batch.row(1) == alone.row(0));  // bit for bit
  const RowMatrix<float> no_dropout = logits(all, batch_rows, 3, nullptr);
  CHECK(in_batch.row(1) != no_dropout.row(1));                           // the masks do drop units
  CHECK(logits(all, batch_rows, 3, &epoch2).row(1) != in_batch.row(1));  // and change with the epoch
}

TEST_CASE("MLP initialisation is seeded and within PyTorch's bounds", "[trainer][mlp]") {
  const MlpShape shape{100, {16}, 3};
  Mlp<float> a(shape, false), b(shape, false), c(shape, false);
  a.init(1);
  b.init(1);
  c.init(2);
  CHECK(a.parameters() == b.parameters());
  CHECK(a.parameters() != c.parameters());
  CHECK(a.weight(0).cwiseAbs().maxCoeff() <= 0.1f);               // 1/sqrt(100)
  CHECK(a.bias(1).cwiseAbs().maxCoeff() <= 1.0f / 4.0f + 1e-7f);  // 1/sqrt(16)
}

TEST_CASE("MLP rejects inputs of the wrong width", "[trainer][mlp]") {
  Mlp<float> net(MlpShape{5, {3}, 2}, false);
  CsrMatrix<float> x(2, 4);
  x.makeCompressed();
  const std::int64_t rows[] = {0, 1};
  MlpWorkspace<float> ws;
  CHECK_THROWS_WITH(net.forward({&x, rows, 2}, ws), Catch::Contains("5 input features") && Catch::Contains("4"));
  CHECK_THROWS_AS(Mlp<float>(MlpShape{0, {}, 2}, false), std::invalid_argument);
}
