// SPDX-License-Identifier: Apache-2.0
#pragma once
// Inference: a trained model's scores. Scores are probabilities sigmoid(logit), the numbers every
// threshold and every report of the trainer is about.

#include "dataset.hpp"
#include "mlp.hpp"

namespace longtail_train {

/// sigmoid(logits) of every row of `features`.
RowMatrix<float> predict_probabilities(const Mlp<float>& model, const SparseRowMatrix& features);

}  // namespace longtail_train
