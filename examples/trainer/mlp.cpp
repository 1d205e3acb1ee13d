// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/rng.hpp"

namespace longtail_train {

Eigen::Index MlpShape::parameter_count() const {
  Eigen::Index n = 0;
  for (std::size_t l = 0; l < layers(); ++l) n += (fan_in(l) + 1) * fan_out(l);
  return n;
}

std::string MlpShape::to_string() const {
  std::ostringstream os;
  os << inputs;
  for (auto h : hidden) os << '-' << h;
  os << '-' << outputs;
  return os.str();
}

template <class Scalar>
Mlp<Scalar>::Mlp(MlpShape shape, bool dense_input) : shape_(std::move(shape)), dense_input_(dense_input) {
  if (shape_.inputs <= 0 || shape_.outputs <= 0)
    throw std::invalid_argument("MLP needs at least one input and one output (got " + shape_.to_string() + ")");
  for (auto h : shape_.hidden)
    if (h <= 0) throw std::invalid_argument("MLP hidden layer sizes must be > 0 (got " + shape_.to_string() + ")");
  Eigen::Index offset = 0;
  for (std::size_t l = 0; l < shape_.layers(); ++l) {
    const Eigen::Index w = shape_.fan_in(l) * shape_.fan_out(l), b = shape_.fan_out(l);
    segments_.push_back({offset, w, true});
    offset += w;
    segments_.push_back({offset, b, false});
    offset += b;
  }
  params_ = Vector::Zero(offset);
}

template <class Scalar>
void Mlp<Scalar>::init(std::uint64_t seed) {
  Rng rng(seed, stream_id(RngStream::init));
  for (std::size_t l = 0; l < shape_.layers(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(shape_.fan_in(l)));
    for (int part = 0; part < 2; ++part) {
      const ParamSegment& s = segments_[2 * l + std::size_t(part)];
      for (Eigen::Index i = 0; i < s.size; ++i)
        params_[s.offset + i] = static_cast<Scalar>((2.0 * rng.uniform() - 1.0) * bound);
    }
  }
}

namespace {

template <class Scalar>
void check_batch(const RowBatch<Scalar>& x, Eigen::Index inputs) {
  if (!x.matrix) throw std::invalid_argument("MLP input batch has no matrix");
  if (x.matrix->cols() != inputs) {
    std::ostringstream os;
    os << "MLP expects " << inputs << " input features but the data has " << x.matrix->cols();
    throw std::invalid_argument(os.str());
  }
  if (!x.matrix->isCompressed()) throw std::invalid_argument("MLP input matrix must be compressed (makeCompressed())");
}

}  // namespace

template <class Scalar>
void Mlp<Scalar>::first_layer_forward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws,
                                      RowMatrix<Scalar>& out) const {
  const Eigen::Index n = x.count, h = shape_.fan_out(0);
  const auto W = weight(0);
  const auto b = bias(0);
  const auto& m = *x.matrix;
  const std::int32_t* outer = m.outerIndexPtr();
  const std::int32_t* inner = m.innerIndexPtr();
  const Scalar* values = m.valuePtr();
  out.resize(n, h);
  out.rowwise() = b;
  if (dense_input_) {
    // Gather the batch into a dense block, then one GEMM: out += X W.
    ws.dense_input.setZero(n, shape_.inputs);
    for (Eigen::Index i = 0; i < n; ++i) {
      const std::int64_t r = x.rows[i];
      for (std::int32_t p = outer[r]; p < outer[r + 1]; ++p) ws.dense_input(i, inner[p]) = values[p];
    }
    gemm<Scalar>(Op::none, Op::none, n, h, shape_.inputs, Scalar(1), ws.dense_input.data(), shape_.inputs, W.data(), h,
                 Scalar(1), out.data(), h);
    return;
  }
  // Sparse: row i of X W is the sum over the row's non-zeros (c, v) of v * W.row(c). Rows are
  // independent, so threads split them.
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1)
#endif
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::int64_t r = x.rows[i];
    for (std::int32_t p = outer[r]; p < outer[r + 1]; ++p) out.row(i).noalias() += values[p] * W.row(inner[p]);
  }
}

template <class Scalar>
void Mlp<Scalar>::first_layer_weight_grad(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws,
                                          const RowMatrix<Scalar>& g, Scalar* dw) const {
  const Eigen::Index n = x.count, fi = shape_.inputs, h = shape_.fan_out(0);
  if (dense_input_) {
    gemm<Scalar>(Op::transpose, Op::none, fi, h, n, Scalar(1), ws.dense_input.data(), fi, g.data(), h, Scalar(0), dw,
                 h);
    return;
  }
  // Sparse: dW = X^T G, i.e. for each non-zero (i, c, v): dW.row(c) += v * G.row(i). Threads split
  // the columns of dW so that no two write the same memory and each sum keeps its order.
  const auto& m = *x.matrix;
  const std::int32_t* outer = m.outerIndexPtr();
  const std::int32_t* inner = m.innerIndexPtr();
  const Scalar* values = m.valuePtr();
  Eigen::Map<RowMatrix<Scalar>> dW(dw, fi, h);
  const int parts = threads_ > 1 ? threads_ : 1;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1)
#endif
  for (int t = 0; t < parts; ++t) {
    const Eigen::Index c0 = h * t / parts, c1 = h * (t + 1) / parts, w = c1 - c0;
    dW.middleCols(c0, w).setZero();
    for (Eigen::Index i = 0; i < n; ++i) {
      const std::int64_t r = x.rows[i];
      for (std::int32_t p = outer[r]; p < outer[r + 1]; ++p)
        dW.row(inner[p]).segment(c0, w).noalias() += values[p] * g.row(i).segment(c0, w);
    }
  }
}

template <class Scalar>
void Mlp<Scalar>::forward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, const DropoutSpec* dropout) const {
  check_batch(x, shape_.inputs);
  const std::size_t L = shape_.layers();
  const Eigen::Index n = x.count;
  ws.activations.resize(L);
  const bool drop = dropout && dropout->rate > 0.0;
  const Scalar keep_scale = drop ? Scalar(1.0 / (1.0 - dropout->rate)) : Scalar(1);
  for (std::size_t l = 0; l < L; ++l) {
    RowMatrix<Scalar>& out = ws.activations[l];
    const Eigen::Index fi = shape_.fan_in(l), fo = shape_.fan_out(l);
    if (l == 0) {
      first_layer_forward(x, ws, out);
    } else {
      out.resize(n, fo);
      out.rowwise() = bias(l);
      gemm<Scalar>(Op::none, Op::none, n, fo, fi, Scalar(1), ws.activations[l - 1].data(), fi, weight(l).data(), fo,
                   Scalar(1), out.data(), fo);
    }
    if (l + 1 == L) break;
    out = out.cwiseMax(Scalar(0));  // ReLU
    if (drop) {
      const float rate = static_cast<float>(dropout->rate);
      const std::int64_t* rows = dropout->rows ? dropout->rows : x.rows;
      for (Eigen::Index i = 0; i < n; ++i) {
        Rng rng(dropout->seed, stream_id(RngStream::dropout, dropout->epoch, std::uint64_t(rows[i]), l));
        Scalar* h = out.row(i).data();
        for (Eigen::Index e = 0; e < fo; ++e) h[e] = rng.uniform_float() < rate ? Scalar(0) : h[e] * keep_scale;
      }
    }
  }
  ws.dropout_scale = keep_scale;
}

template <class Scalar>
void Mlp<Scalar>::backward(const RowBatch<Scalar>& x, MlpWorkspace<Scalar>& ws, Vector& grad) const {
  const std::size_t L = shape_.layers();
  const Eigen::Index n = x.count;
  if (ws.activations.size() != L || ws.grad.rows() != n || ws.grad.cols() != shape_.outputs)
    throw std::invalid_argument("MLP backward: run forward() on the batch and fill logit_grad() first");
  grad.resize(params_.size());
  for (std::size_t l = L; l-- > 0;) {
    const Eigen::Index fi = shape_.fan_in(l), fo = shape_.fan_out(l);
    const RowMatrix<Scalar>& g = ws.grad;
    Scalar* dw = grad.data() + segments_[2 * l].offset;
    Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>> db(grad.data() + segments_[2 * l + 1].offset, fo);
    if (l == 0)
      first_layer_weight_grad(x, ws, g, dw);
    else
      gemm<Scalar>(Op::transpose, Op::none, fi, fo, n, Scalar(1), ws.activations[l - 1].data(), fi, g.data(), fo,
                   Scalar(0), dw, fo);
    db.setZero();
    for (Eigen::Index i = 0; i < n; ++i) db.noalias() += g.row(i);
    if (l == 0) break;
    // d loss / d (hidden output of layer l-1): G W_l^T, through ReLU and dropout. A unit that the
    // ReLU or dropout zeroed has activation exactly 0 and gets no gradient; a kept one was scaled
    // by 1/(1-rate) in forward() and is here too.
    ws.grad_prev.resize(n, fi);
    gemm<Scalar>(Op::none, Op::transpose, n, fi, fo, Scalar(1), g.data(), fo, weight(l).data(), fo, Scalar(0),
                 ws.grad_prev.data(), fi);
    const auto& h = ws.activations[l - 1];
    ws.grad_prev = (h.array() > Scalar(0)).select(ws.grad_prev * ws.dropout_scale, Scalar(0));
    std::swap(ws.grad, ws.grad_prev);
  }
}

template <class Scalar>
RowMatrix<Scalar> Mlp<Scalar>::predict_logits(const CsrMatrix<Scalar>& features, Eigen::Index batch) const {
  const Eigen::Index n = features.rows();
  RowMatrix<Scalar> out(n, shape_.outputs);
  MlpWorkspace<Scalar> ws;
  std::vector<std::int64_t> rows;
  for (Eigen::Index start = 0; start < n; start += batch) {
    const Eigen::Index count = std::min(batch, n - start);
    rows.resize(std::size_t(count));
    std::iota(rows.begin(), rows.end(), std::int64_t(start));
    forward({&features, rows.data(), count}, ws);
    out.middleRows(start, count) = ws.logits();
  }
  return out;
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace longtail_train
