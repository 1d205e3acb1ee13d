// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <vector>

#include "data/rng.hpp"
#include "test_support.hpp"

using namespace longtail_train;

TEST_CASE("rng: reference sequence and independent streams", "[rng]") {
  // splitmix64 from state 0: the published reference values.
  std::uint64_t state = 0;
  CHECK(splitmix64(state) == 0xE220A8397B1DCDAFull);
  CHECK(splitmix64(state) == 0x6E789E6AA1B965F4ull);
  Rng a(42), b(42), c(42, 1);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    CHECK(x == b.next());
    differs |= x != c.next();
  }
  CHECK(differs);
}

TEST_CASE("rng: uniform draws and unbiased integers", "[rng]") {
  Rng rng(7);
  std::vector<int> hist(6, 0);
  double sum = 0;
  for (int i = 0; i < 60000; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0);
    REQUIRE(u < 1);
    sum += u;
    ++hist[rng.below(6)];
  }
  CHECK(sum / 60000 == Approx(0.5).margin(0.01));
  for (int h : hist) CHECK(h == Approx(10000).margin(400));  // ~4 standard deviations
  std::vector<int> v{1, 2, 3, 4, 5, 6, 7, 8};
  rng.shuffle(v);
  CHECK(std::vector<int>(v) != std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("rng: deterministic log/exp/pow agree with libm", "[rng]") {
  for (double x : {1e-300, 1e-5, 0.3, 0.7071, 1.0, 1.5, 2.0, 10.0, 698.0, 1e10, 1e300}) {
    INFO(x);
    CHECK(det_log(x) == Approx(std::log(x)).epsilon(1e-14).margin(1e-15));
  }
  for (double x : {-600.0, -30.0, -1.0, -1e-9, 0.0, 0.5, 1.0, 7.3, 300.0}) {
    INFO(x);
    CHECK(det_exp(x) == Approx(std::exp(x)).epsilon(1e-13));
  }
  CHECK(det_pow(698, -0.8) == Approx(std::pow(698.0, -0.8)).epsilon(1e-13));
  CHECK_THROWS(det_log(0));
  CHECK_THROWS(det_exp(1000));
}

TEST_CASE("rng: discrete sampler follows its weights", "[rng]") {
  const DiscreteSampler s({1, 0, 3});
  Rng rng(3);
  std::vector<int> hist(3, 0);
  for (int i = 0; i < 40000; ++i) ++hist[s(rng)];
  CHECK(hist[1] == 0);
  CHECK(hist[0] == Approx(10000).margin(400));
  CHECK(hist[2] == Approx(30000).margin(400));
  CHECK_THROWS(DiscreteSampler({0, 0}));
  CHECK_THROWS(DiscreteSampler({1, -1}));
}
