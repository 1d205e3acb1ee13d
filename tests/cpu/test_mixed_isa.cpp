// SPDX-License-Identifier: Apache-2.0
// One program, two instruction sets: this file is built with the default flags (SSE2 on x86-64),
// mixed_isa_native_unit.cpp with -march=native, and both use the same CPU functor. Without
// cpu/simd_abi.hpp's inline namespace the two units would define the same inline symbols with
// different packet widths and the linker would keep one copy of each, mixing them (a .cu and a
// .cpp file did exactly that: wrong losses and a hang). With it, each unit runs its own code.

#include "mixed_isa.hpp"
#include "test_support.hpp"

#define LT_TEST_STR2(x) #x
#define LT_TEST_STR(x) LT_TEST_STR2(x)

using namespace lt_test;

TEST_CASE("cpu: a default-ISA and a -march=native unit in one program each run their own code", "[cpu][abi]") {
  // 67 x 45: full packets and a remainder in every column for any packet width.
  const int rows = 67, cols = 45;
  const Mat<float> x = uniform(rows, cols, -8.0, 8.0, 11).cast<float>();
  const Mat<float> y = bernoulli(rows, cols, 0.1, 12).cast<float>();
  const Eigen::ArrayXf pw = class_vector<float>(cols, 1.0, 7.0, 13);
  const longtail::cpu::FocalBCE<float> loss(longtail::FocalBCEOptions::focal(3.0), {}, pw);
  Mat<float> g(rows, cols);
  const float here = loss.forward_backward(x, y, g);

  const std::vector<float> xv(x.data(), x.data() + x.size()), yv(y.data(), y.data() + y.size()),
      pwv(pw.data(), pw.data() + pw.size());
  const MixedIsaResult native = focal_in_native_unit(xv, yv, rows, cols, pwv);
  INFO("this unit: " << LT_TEST_STR(LONGTAIL_CPU_ABI) << ", native unit: " << native.abi);
  // Different packet code (exp, FMA) rounds differently: a few ulp, not more.
  CHECK(std::abs(native.loss - here) <= 1e-6f * std::abs(here));
  float worst = 0.0f, scale = g.cwiseAbs().maxCoeff();
  for (Eigen::Index k = 0; k < g.size(); ++k) worst = std::max(worst, std::abs(native.grad[k] - g.data()[k]));
  CHECK(worst <= 1e-6f * scale);
}
