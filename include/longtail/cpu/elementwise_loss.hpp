// SPDX-License-Identifier: Apache-2.0
#pragma once
// What every CPU loss functor shares: argument checking, the per-class coefficient vectors, the
// reductions and the calls into the single-pass kernel. A loss (WeightedBCE, FocalBCE) derives
// from it (CRTP) and supplies only its options and `visit_math(f)`, which hands f the math-core
// functor built from those options.

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "longtail/cpu/detail/elementwise_kernel.hpp"
#include "longtail/cpu/detail/strided_view.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/error.hpp"
#include "longtail/math/value_grad.hpp"
#include "longtail/options.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN

/// Per-class vectors as the functors own them.
template <class Scalar>
using ClassVector = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

template <class Derived, class Scalar>
class ElementwiseLoss {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "longtail CPU losses compute in float or double");

 public:
  using scalar_type = Scalar;
  using Vector = ClassVector<Scalar>;

  /// Per-class weight w_c (empty: all 1).
  const Vector& weight() const { return weight_; }
  /// Per-class pos_weight pw_c (empty: all 1).
  const Vector& pos_weight() const { return pos_weight_; }

  /// Reduced loss. `mask` (same shape as logits, nonzero = valid) and `sample_weight` (length
  /// rows) are optional; pass longtail::none to skip one. Reduction::none returns the sum.
  template <class L, class T, class M = none_t, class W = none_t>
  Scalar forward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, const M& mask = none,
                 const W& sample_weight = none) const {
    return run<false, false>(logits, targets, no_output(logits), no_output(logits), mask, sample_weight);
  }

  /// Same as forward().
  template <class L, class T, class M = none_t, class W = none_t>
  Scalar operator()(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, const M& mask = none,
                    const W& sample_weight = none) const {
    return forward(logits, targets, mask, sample_weight);
  }

  /// Gradient of the reduced loss with respect to the logits, written into `grad` (same shape;
  /// any storage order or strides; may be the logits themselves). Masked elements get 0.
  template <class L, class T, class G, class M = none_t, class W = none_t>
  void backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, const Eigen::DenseBase<G>& grad,
                const M& mask = none, const W& sample_weight = none) const {
    run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }

  /// forward() and backward() in one pass over memory; returns the reduced loss.
  template <class L, class T, class G, class M = none_t, class W = none_t>
  Scalar forward_backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          const Eigen::DenseBase<G>& grad, const M& mask = none, const W& sample_weight = none) const {
    return run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }

  /// Per-element losses (weighted, masked elements 0, never divided by a count) into `loss`;
  /// returns the reduced loss as forward() does.
  template <class L, class T, class O, class M = none_t, class W = none_t>
  Scalar forward_elements(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          const Eigen::DenseBase<O>& loss, const M& mask = none, const W& sample_weight = none) const {
    return run<false, true>(logits, targets, no_output(logits), &loss, mask, sample_weight);
  }

 protected:
  ElementwiseLoss() = default;

  /// Checks and stores the per-class vectors and precomputes the two term coefficients
  /// (math::class_coefficients) with the given alpha weights.
  void set_class_vectors(const char* loss_name, Vector weight, Vector pos_weight, Scalar alpha_pos, Scalar alpha_neg) {
    check_class_vector(loss_name, "weight", weight);
    check_class_vector(loss_name, "pos_weight", pos_weight);
    if (weight.size() && pos_weight.size() && weight.size() != pos_weight.size())
      longtail::detail::fail(loss_name, ": weight has ", weight.size(), " classes but pos_weight has ",
                             pos_weight.size());
    weight_ = std::move(weight);
    pos_weight_ = std::move(pos_weight);
    const Eigen::Index c = std::max(weight_.size(), pos_weight_.size());
    coef_pos_.resize(c ? c : 1);
    coef_neg_.resize(c ? c : 1);
    for (Eigen::Index j = 0; j < coef_pos_.size(); ++j) {
      const auto cc =
          math::class_coefficients<Scalar>(weight_.size() ? weight_[j] : Scalar(1),
                                           pos_weight_.size() ? pos_weight_[j] : Scalar(1), alpha_pos, alpha_neg);
      coef_pos_[j] = cc.pos;
      coef_neg_[j] = cc.neg;
    }
    per_class_ = c > 0;
  }

 private:
  template <class L>
  static const Eigen::DenseBase<L>* no_output(const Eigen::DenseBase<L>&) {
    return nullptr;
  }

  static void check_class_vector(const char* loss_name, const char* field, const Vector& v) {
    for (Eigen::Index j = 0; j < v.size(); ++j)
      if (!std::isfinite(double(v[j])) || v[j] < 0)
        longtail::detail::fail(loss_name, ": ", field, "[", j, "] must be finite and >= 0 (got ", double(v[j]), ")");
  }

  const Derived& self() const { return static_cast<const Derived&>(*this); }

  template <bool WantGrad, bool WantLoss, class L, class T, class G, class O, class M, class W>
  Scalar run(const Eigen::DenseBase<L>& logits_in, const Eigen::DenseBase<T>& targets_in,
             const Eigen::DenseBase<G>* grad, const Eigen::DenseBase<O>* loss, const M& mask_in,
             const W& sample_weight_in) const {
    static_assert(std::is_same_v<typename L::Scalar, Scalar>,
                  "logits must have the functor's Scalar type (FocalBCE<float> takes float logits)");
    static_assert(std::is_arithmetic_v<typename T::Scalar>, "targets must be float, double or an integer type (0/1)");
    if constexpr (WantGrad) {
      static_assert(std::is_same_v<typename G::Scalar, Scalar>, "grad must have the functor's Scalar type");
      static_assert(detail::has_direct_access<G>, "grad must be writable memory (Matrix, Array, Map, Ref or a block)");
    }
    if constexpr (WantLoss) {
      static_assert(std::is_same_v<typename O::Scalar, Scalar>, "loss output must have the functor's Scalar type");
      static_assert(detail::has_direct_access<O>,
                    "loss output must be writable memory (Matrix, Array, Map, Ref or a block)");
    }
    const auto& opts = self().options();
    const char* name = Derived::name;
    const Eigen::Index rows = logits_in.rows(), cols = logits_in.cols();
    detail::check_shape("targets", targets_in, rows, cols);
    if constexpr (WantGrad) detail::check_shape("grad", *grad, rows, cols);
    if constexpr (WantLoss) detail::check_shape("loss", *loss, rows, cols);
    if (per_class_ && coef_pos_.size() != cols)
      longtail::detail::fail(name, ": per-class vectors have ", coef_pos_.size(), " classes but logits have ", cols,
                             " columns");

    decltype(auto) logits = detail::direct(logits_in);
    decltype(auto) targets = detail::direct(targets_in);
    detail::KernelArgs<Scalar, typename T::Scalar, mask_scalar_t<M>> a;
    a.x = detail::make_view(logits);
    a.y = detail::make_view(targets);
    if constexpr (WantGrad) a.grad = detail::make_mutable_view(*grad);
    if constexpr (WantLoss) a.loss = detail::make_mutable_view(*loss);
    a.coef_pos = coef_pos_.data();
    a.coef_neg = coef_neg_.data();
    a.coef_stride = per_class_ ? 1 : 0;
    const Scalar eps = static_cast<Scalar>(opts.label_smoothing);
    a.keep = Scalar(1) - eps;
    a.shift = eps / Scalar(2);
    a.threads = detail::resolve_threads(opts.execution.threads);
    if (opts.execution.check_inputs) check_target_values(a.y);

    // Optional per-element mask.
    Eigen::Index valid = rows * cols;
    decltype(auto) mask = mask_direct(mask_in);
    if constexpr (!std::is_same_v<M, none_t>) {
      detail::check_shape("mask", mask_in, rows, cols);
      a.mask = detail::make_view(mask);
      valid = count_valid(a.mask);
    }
    // Optional per-sample weights.
    decltype(auto) sw = sample_weights_direct(sample_weight_in);
    if constexpr (!std::is_same_v<W, none_t>) {
      if (sample_weight_in.size() != rows || (sample_weight_in.rows() != 1 && sample_weight_in.cols() != 1))
        longtail::detail::fail("sample_weight has shape ", sample_weight_in.rows(), "x", sample_weight_in.cols(),
                               " but must be a vector of length ", rows, " (one weight per row of logits)");
      a.sample_weight = sw.data();
      a.sample_weight_stride = sw.innerStride();
      for (Eigen::Index i = 0; i < rows; ++i) {
        const double v = double(a.sample_weight[i * a.sample_weight_stride]);
        if (!std::isfinite(v) || v < 0)
          longtail::detail::fail("sample_weight[", i, "] must be finite and >= 0 (got ", v, ")");
      }
    }

    // Reduction::mean divides by the valid count, or by options.mean_divisor when set (the global
    // count of a data-parallel step); the gradient gets the same factor, formed in Scalar as
    // 1 / divisor, and the loss the division in double. A divisor of 0 (no valid element, no
    // mean_divisor) gives loss 0 and gradient 0.
    const bool mean = opts.reduction == Reduction::mean;
    const double divisor = opts.mean_divisor ? *opts.mean_divisor : static_cast<double>(valid);
    a.grad_scale = mean ? (divisor > 0 ? Scalar(1) / static_cast<Scalar>(divisor) : Scalar(0)) : Scalar(1);
    const double sum =
        self().visit_math([&](const auto& m) { return detail::run_elementwise<WantGrad, WantLoss>(m, a); });
    if (mean) return divisor > 0 ? static_cast<Scalar>(sum / divisor) : Scalar(0);
    return static_cast<Scalar>(sum);
  }

  template <class M, class = void>
  struct mask_scalar {
    using type = std::uint8_t;  // no mask: never read
  };
  template <class M>
  struct mask_scalar<M, std::void_t<typename M::Scalar>> {
    using type = typename M::Scalar;
  };
  template <class M>
  using mask_scalar_t = typename mask_scalar<M>::type;

  template <class M>
  static decltype(auto) mask_direct(const M& m) {
    if constexpr (std::is_same_v<M, none_t>)
      return Eigen::Matrix<std::uint8_t, 0, 0>();
    else
      return detail::direct(m);
  }

  template <class W>
  static decltype(auto) sample_weights_direct(const W& w) {
    if constexpr (std::is_same_v<W, none_t>) {
      return Eigen::Matrix<Scalar, 0, 1>();
    } else if constexpr (std::is_same_v<typename W::Scalar, Scalar> && detail::has_direct_access<W>) {
      return w.derived();
    } else {
      return Eigen::Matrix<Scalar, Eigen::Dynamic, 1>(w.derived().template cast<Scalar>());
    }
  }

  template <class MaskT>
  static Eigen::Index count_valid(const detail::StridedView<const MaskT>& m) {
    Eigen::Index n = 0;
    for (Eigen::Index i = 0; i < m.rows; ++i)
      for (Eigen::Index j = 0; j < m.cols; ++j) n += m.data[i * m.row_stride + j * m.col_stride] != MaskT(0);
    return n;
  }

  template <class TargetT>
  static void check_target_values(const detail::StridedView<const TargetT>& y) {
    for (Eigen::Index i = 0; i < y.rows; ++i)
      for (Eigen::Index j = 0; j < y.cols; ++j) {
        const double v = double(y.data[i * y.row_stride + j * y.col_stride]);
        if (!(v >= 0.0 && v <= 1.0))  // also rejects NaN
          longtail::detail::fail("targets(", i, ", ", j, ") must be in [0, 1] (got ", v, ")");
      }
  }

  Vector weight_, pos_weight_;
  Vector coef_pos_, coef_neg_;  // math::class_coefficients per class, or one uniform value
  bool per_class_ = false;
};

LONGTAIL_CPU_NAMESPACE_END
