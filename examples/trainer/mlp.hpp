// SPDX-License-Identifier: Apache-2.0
#pragma once
// The model: a multi-layer perceptron, input -> [Linear -> ReLU (-> dropout)]* -> Linear -> one
// logit per label. No hidden layer is a linear model (logistic regression per label).
//
// Parameters live in one flat vector (layer by layer: W_l row-major fan_in x fan_out, then b_l),
// so the optimiser and the checkpoint see a single array. Templated on the scalar: the trainer
// runs float; the gradient check runs double.
//
// Input is a set of rows of a CSR matrix (the data set's features, never copied). The first
// layer either exploits the sparsity (forward X W: one axpy of a W row per non-zero; weight
// gradient X^T G: one axpy into a dW row per non-zero) or gathers the rows into a dense block for
// a GEMM, which is faster for dense features (`dense_input`). Every other layer is a GEMM.
//
// Initialisation is PyTorch's nn.Linear default (W and b uniform in +-1/sqrt(fan_in)), so the
// PyTorch side-by-side script starts from the same distribution.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "gemm.hpp"

namespace longtail_train {

/// Layer sizes: inputs -> hidden[0] -> ... -> outputs.
struct MlpShape {
  Eigen::Index inputs = 0;
  std::vector<Eigen::Index> hidden;
  Eigen::Index outputs = 0;

  std::size_t layers() const { return hidden.size() + 1; }
  Eigen::Index fan_in(std::size_t layer) const { return layer == 0 ? inputs : hidden[layer - 1]; }
  Eigen::Index fan_out(std::size_t layer) const { return layer == hidden.size() ? outputs : hidden[layer]; }
  Eigen::Index parameter_count() const;
  /// "500-512-983"
  std::string to_string() const;
  bool operator==(const MlpShape& o) const { return inputs == o.inputs && hidden == o.hidden && outputs == o.outputs; }
};

/// A contiguous range of the flat parameter vector; `decay` marks weights (not biases) for the
/// optimiser's weight decay.
struct ParamSegment {
  Eigen::Index offset = 0, size = 0;
  bool decay = false;
};

/// Rows `rows[0 .. count)` of a CSR matrix: a minibatch without copying the features.
template <class Scalar>
struct RowBatch {
  const CsrMatrix<Scalar>* matrix = nullptr;
  const std::int64_t* rows = nullptr;
  Eigen::Index count = 0;
};

/// Dropout on hidden activations: each unit is kept with probability 1 - rate and scaled by
/// 1 / (1 - rate) (inverted dropout). The mask of a row of hidden layer l is drawn from
/// Rng(seed, stream_id(RngStream::dropout, epoch, row, l)) (common/rng.hpp), `row` being the
/// row's index in the whole training split: a row's mask does not depend on which minibatch
/// position it has, nor on which rank of a data-parallel run computes it.
struct DropoutSpec {
  double rate = 0.0;
  std::uint64_t seed = 0;  ///< the run's --seed
  std::uint64_t epoch = 0;
  /// The training-split index of each batch row (count entries); null: the batch's own row
  /// indices (RowBatch::rows), which are the training-split indices when one process holds all rows.
  const std::int64_t* rows = nullptr;
};

/// Per-batch buffers, reused across batches (resized on demand).
template <class Scalar>
struct MlpWorkspace {
  RowMatrix<Scalar> dense_input;               // dense_input mode: the gathered batch
  std::vector<RowMatrix<Scalar>> activations;  // per layer: post-ReLU(-dropout) hidden, last = logits
  RowMatrix<Scalar> grad, grad_prev;           // backprop: d loss / d (layer output)
  Scalar dropout_scale = 1;                    // 1 / (1 - rate) of the last forward()'s dropout

  /// The logits of the last forward(); write d loss / d logits into logit_grad() before backward().
  RowMatrix<Scalar>& logits() { return activations.back(); }
  RowMatrix<Scalar>& logit_grad() { return grad; }
};

template <class Scalar>
class Mlp {
 public:
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using WeightMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstWeightMap = Eigen::Map<const RowMatrix<Scalar>>;
  using BiasMap = Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
  using ConstBiasMap = Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;

  Mlp() = default;
  /// Parameters zero; call init() (or load a checkpoint).
  Mlp(MlpShape shape, bool dense_input);

  const MlpShape& shape() const { return shape_; }
  bool dense_input() const { return dense_input_; }
  int threads() const { return threads_; }
  void set_threads(int t) { threads_ = t < 1 ? 1 : t; }

  /// PyTorch's nn.Linear initialisation from the trainer's generator.
  void init(std::uint64_t seed);

  Vector& parameters() { return params_; }
  const Vector& parameters() const { return params_; }
  const std::vector<ParamSegment>& segments() const { return segments_; }

  WeightMap weight(std::size_t l) {
    return WeightMap(params_.data() + segments_[2 * l].offset, shape_.fan_in(l), shape_.fan_out(l));
  }
  ConstWeightMap weight(std::size_t l) const {
    return ConstWeightMap(params_.data() + segments_[2 * l].offset, shape_.fan_in(l), shape_.fan_out(l));
  }
  BiasMap bias(std::size_t l) { return BiasMap(params_.data() + segments_[2 * l + 1].offset, shape_.fan_out(l)); }
  ConstBiasMap bias(std::size_t l) const {
    return ConstBiasMap(params_.data() + segments_[2 * l + 1].offset, shape_.fan_out(l));
  }

  /// Logits of the batch into ws.logits(). Dropout only when `dropout` is given with rate > 0.
  void forward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, const DropoutSpec* dropout = nullptr) const;

  /// Gradient of the loss with respect to every parameter into `grad` (resized to the parameter
  /// count, overwritten), from d loss / d logits in ws.logit_grad() and the activations of the
  /// forward() just run on the same batch. Clobbers ws.logit_grad().
  void backward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, Vector& grad) const;

  /// Logits of all rows of `features`, `batch` rows at a time (no dropout).
  RowMatrix<Scalar> predict_logits(const CsrMatrix<Scalar>& features, Eigen::Index batch = 1024) const;

 private:
  void first_layer_forward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, RowMatrix<Scalar>& out) const;
  void first_layer_weight_grad(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, const RowMatrix<Scalar>& g,
                               Scalar* dw) const;

  MlpShape shape_;
  bool dense_input_ = false;
  int threads_ = 1;
  Vector params_;
  std::vector<ParamSegment> segments_;  // W_0, b_0, W_1, b_1, ...
};

extern template class Mlp<float>;
extern template class Mlp<double>;

}  // namespace longtail_train
