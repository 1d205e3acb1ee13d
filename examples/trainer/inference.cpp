// SPDX-License-Identifier: Apache-2.0
#include "inference.hpp"

namespace longtail_train {

RowMatrix<float> predict_probabilities(const Mlp<float>& model, const SparseRowMatrix& features) {
  RowMatrix<float> p = model.predict_logits(features);
  // sigmoid without overflow: 1 / (1 + exp(-x)) is fine in float for every x (exp(-x) -> inf
  // gives 0, never NaN).
  p = (1.0f + (-p.array()).exp()).inverse().matrix();
  return p;
}

}  // namespace longtail_train
