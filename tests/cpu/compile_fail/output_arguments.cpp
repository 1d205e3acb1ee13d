// SPDX-License-Identifier: Apache-2.0
// Compile-failure cases for the CPU functors' arguments (tests/CMakeLists.txt runs each
// LONGTAIL_CF_<case> through run_compile_fail.cmake and checks the static_assert message).
// Without a case the file must compile: every accepted form below is a call users make.

#include <cstdint>

#include <Eigen/Core>

#include "longtail/longtail.hpp"

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

int main() {
  const Eigen::MatrixXf x = Eigen::MatrixXf::Zero(4, 3), y = Eigen::MatrixXf::Zero(4, 3);
  const longtail::cpu::FocalBCE<float> focal;
  const longtail::cpu::WeightedBCE<float> weighted;
  float sum = 0;

  // Accepted: writable lvalues and writable temporaries (blocks, Maps, Refs).
  Eigen::MatrixXf grad(4, 3), wide(4, 5);
  RowMatrixXf row_grad(4, 3);
  float buffer[12];
  sum += focal.forward_backward(x, y, grad);
  sum += focal.forward_backward(x, y, row_grad);
  sum += focal.forward_backward(x, y, wide.leftCols(3));
  sum += focal.forward_backward(x, y, Eigen::Map<Eigen::MatrixXf>(buffer, 4, 3));
  Eigen::Ref<Eigen::MatrixXf> ref(grad);
  sum += weighted.forward_backward(x, y, ref);
  weighted.backward(x, y, grad, longtail::no_mask, longtail::no_sample_weight);
  weighted.backward(x, y, wide.middleCols(1, 3));
  sum += weighted.forward_elements(x, y, grad);
  sum += weighted.forward_elements(x, y, Eigen::Map<Eigen::MatrixXf>(buffer, 4, 3));

  // Refused: outputs that are const or views of const data.
  const Eigen::MatrixXf const_grad(4, 3);
  (void)const_grad;
#if defined(LONGTAIL_CF_CONST_GRAD_FORWARD_BACKWARD)
  sum += focal.forward_backward(x, y, const_grad);
#endif
#if defined(LONGTAIL_CF_CONST_GRAD_BACKWARD)
  weighted.backward(x, y, const_grad);
#endif
#if defined(LONGTAIL_CF_CONST_LOSS_FORWARD_ELEMENTS)
  sum += focal.forward_elements(x, y, const_grad);
#endif
#if defined(LONGTAIL_CF_CONST_MAP_GRAD)
  sum += focal.forward_backward(x, y, Eigen::Map<const Eigen::MatrixXf>(buffer, 4, 3));
#endif
#if defined(LONGTAIL_CF_CONST_BLOCK_GRAD)
  sum += weighted.forward_backward(x, y, const_grad.leftCols(3));
#endif

  // Refused: logits of another scalar type, with a message naming the functor used.
#if defined(LONGTAIL_CF_WEIGHTED_DOUBLE_LOGITS)
  sum += weighted.forward(x.cast<double>().eval(), y);
#endif
#if defined(LONGTAIL_CF_FOCAL_FLOAT_LOGITS)
  const longtail::cpu::FocalBCE<double> focal_double;
  sum += static_cast<float>(focal_double.forward(x, y));
#endif
  return sum > 0 ? 0 : 1;
}
