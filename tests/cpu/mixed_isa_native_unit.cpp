// SPDX-License-Identifier: Apache-2.0
// The -march=native half of test_mixed_isa.cpp (tests/CMakeLists.txt sets the flag on this file
// alone).

#include "mixed_isa.hpp"

#include "longtail/longtail.hpp"

#define LT_TEST_STR2(x) #x
#define LT_TEST_STR(x) LT_TEST_STR2(x)

namespace lt_test {

MixedIsaResult focal_in_native_unit(const std::vector<float>& x, const std::vector<float>& y, int rows, int cols,
                                    const std::vector<float>& pos_weight) {
  const Eigen::Map<const Eigen::MatrixXf> X(x.data(), rows, cols), Y(y.data(), rows, cols);
  const Eigen::Map<const Eigen::ArrayXf> pw(pos_weight.data(), cols);
  MixedIsaResult r;
  r.abi = LT_TEST_STR(LONGTAIL_CPU_ABI);
  r.grad.assign(x.size(), 0.0f);
  Eigen::Map<Eigen::MatrixXf> G(r.grad.data(), rows, cols);
  const longtail::cpu::FocalBCE<float> loss(longtail::FocalBCEOptions::focal(3.0), {}, pw);
  r.loss = loss.forward_backward(X, Y, G);
  return r;
}

}  // namespace lt_test
