// SPDX-License-Identifier: Apache-2.0
// Adam with decoupled weight decay against values computed by hand (the PyTorch AdamW update).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "adam.hpp"

using namespace longtail_train;

TEST_CASE("Adam(W): two steps match hand-computed values, and biases are not decayed", "[trainer][adam]") {
  AdamOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;  // beta1 0.9, beta2 0.999, eps 1e-8
  Eigen::VectorXd p(3);
  p << 1.0, -2.0, 0.5;
  const std::vector<ParamSegment> segments{{0, 2, true}, {2, 1, false}};  // two weights, one bias
  Adam<double> adam(o, 3);
  Eigen::VectorXd g(3);
  g << 0.1, -0.2, 0.3;
  adam.step(p, g, segments);
  // Step 1: bias correction makes m_hat = g, v_hat = g^2, so each parameter moves by lr * g/(|g| + eps)
  // after weights shrink by (1 - lr wd) = 0.999:  1 * 0.999 - 0.01 = 0.989;  -2 * 0.999 + 0.01 = -1.988;
  // bias 0.5 - 0.01 = 0.49 (the eps term shows in the 9th decimal).
  CHECK(p[0] == Approx(0.9890000010).epsilon(1e-10));
  CHECK(p[1] == Approx(-1.9880000005).epsilon(1e-10));
  CHECK(p[2] == Approx(0.4900000003).epsilon(1e-10));
  CHECK(adam.steps() == 1);
  g << -0.05, 0.4, 0.3;
  adam.step(p, g, segments);
  // Step 2 (m = 0.9 m + 0.1 g, v = 0.999 v + 0.001 g^2, bias corrections 0.19 and 0.001999):
  // bias: m = 0.057, v = 0.00017991 -> m_hat 0.3, v_hat 0.09 -> moves by exactly lr again.
  CHECK(p[0] == Approx(0.9853476309).epsilon(1e-9));
  CHECK(p[1] == Approx(-1.9896730357).epsilon(1e-9));
  CHECK(p[2] == Approx(0.4800000007).epsilon(1e-9));
}

TEST_CASE("Adam without weight decay leaves zero-gradient parameters alone", "[trainer][adam]") {
  Eigen::VectorXf p = Eigen::VectorXf::Constant(4, 3.0f);
  Adam<float> adam(AdamOptions{}, 4);
  const Eigen::VectorXf g = Eigen::VectorXf::Zero(4);
  adam.step(p, g, {{0, 4, true}});
  CHECK((p.array() == 3.0f).all());
}

TEST_CASE("Adam options are validated with the flag's name", "[trainer][adam]") {
  AdamOptions o;
  o.lr = -1;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("--lr"));
  o = AdamOptions{};
  o.beta2 = 1.0;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("--beta2"));
  Adam<float> adam(AdamOptions{}, 2);
  Eigen::VectorXf p(3), g(3);
  CHECK_THROWS_AS(adam.step(p, g, {}), std::invalid_argument);
}

TEST_CASE("Adam's step split into blocks (one per rank) is the whole step, bit for bit", "[trainer][adam]") {
  // Data-parallel training steps each rank's block of the parameters; the blocks put together
  // must be the one-process step, with weight decay on some segments, over several steps (the
  // moments carry over) and for block edges that cut segments and SIMD packets anywhere.
  AdamOptions o;
  o.weight_decay = 0.01;
  const Eigen::Index n = 5003;
  const std::vector<ParamSegment> segments{{0, 3000, true}, {3000, 7, false}, {3007, 1990, true}, {4997, 6, false}};
  Eigen::VectorXf whole = Eigen::VectorXf::LinSpaced(n, -1.0f, 1.0f), split = whole;
  Adam<float> one(o, n);
  std::vector<Adam<float>> ranks(3, Adam<float>(o, n));
  const Eigen::Index edges[] = {0, 1667, 3335, n};  // Communicator::block_begin(n, r, 3)
  for (int step = 0; step < 4; ++step) {
    Eigen::VectorXf g(n);
    for (Eigen::Index i = 0; i < n; ++i) g[i] = std::sin(0.37f * float(i) + float(step)) * (i % 5 == 0 ? 1e-4f : 1.0f);
    one.step(whole, g, segments);
    for (int r = 0; r < 3; ++r) ranks[std::size_t(r)].step(split, g, segments, edges[r], edges[r + 1]);
  }
  REQUIRE(std::memcmp(whole.data(), split.data(), sizeof(float) * std::size_t(n)) == 0);
  CHECK(ranks[1].steps() == 4);
  CHECK_THROWS_WITH(ranks[0].step(split, split, segments, 10, n + 1), Catch::Contains("not within the 5003"));
}
