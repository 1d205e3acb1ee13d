// SPDX-License-Identifier: Apache-2.0
#pragma once
// What every CPU loss functor shares: argument checking, the per-class coefficient vectors, the
// reductions and the calls into the single-pass kernel. A loss (WeightedBCE, FocalBCE) derives
// from it (CRTP) and supplies only its options and `visit_math(f)`, which hands f the math-core
// functor built from those options; a loss with per-row inputs derived from the targets
// (DistributionBalanced) also supplies `prepare_rows(args, buffer)`.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "longtail/cpu/detail/elementwise_kernel.hpp"
#include "longtail/cpu/detail/strided_view.hpp"
#include "longtail/cpu/per_class_vector.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/error.hpp"
#include "longtail/math/value_grad.hpp"
#include "longtail/no_argument.hpp"
#include "longtail/options.hpp"

// static_assert messages must be literals; #undef at the end of this file.
#define LONGTAIL_CONST_OUTPUT_MESSAGE                                                                    \
  "longtail: grad and loss outputs must be writable: pass a non-const Matrix / Array / Map / Ref, or a " \
  "writable block or Map of one; a const object, a Map of const data or a block of a const matrix "      \
  "cannot receive the result"

LONGTAIL_CPU_NAMESPACE_BEGIN

// The library's losses, named in ElementwiseLoss's messages.
template <class Scalar>
class WeightedBCE;
template <class Scalar>
class FocalBCE;
template <class Scalar>
class DistributionBalanced;

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
  /// Per-class logit offset s_c added to the logits before the loss (empty: none).
  const Vector& logit_offset() const { return logit_offset_; }

  /// Reduced loss (Reduction::sum or mean). `mask` (same shape as logits, nonzero = valid) and
  /// `sample_weight` (length rows) are optional: pass longtail::no_mask to give sample weights
  /// without a mask. Under Reduction::none there is no single loss to return (PyTorch returns the
  /// per-element tensor): forward() refuses it and names forward_elements(), which writes them.
  template <class L, class T, class M = none_t, class W = none_t>
  Scalar forward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, const M& mask = no_mask,
                 const W& sample_weight = no_sample_weight) const {
    if (self().options().reduction == Reduction::none)
      longtail::detail::fail(Derived::name,
                             ": forward() needs Reduction::sum or mean; with Reduction::none call "
                             "forward_elements(logits, targets, loss, ...), which writes each element's loss");
    return run<false, false>(logits, targets, no_output(logits), no_output(logits), mask, sample_weight);
  }

  /// Same as forward().
  template <class L, class T, class M = none_t, class W = none_t>
  Scalar operator()(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, const M& mask = no_mask,
                    const W& sample_weight = no_sample_weight) const {
    return forward(logits, targets, mask, sample_weight);
  }

  // Output arguments (`grad`, `loss`) are written: they bind to a non-const object (Matrix,
  // Array, Map, Ref: DenseBase<G>&) or to a writable temporary view (grad.block(...),
  // Map<MatrixXf>(ptr, r, c): DenseBase<G>&&). A const object, a Map of const data or a block of
  // a const matrix is refused at compile time (the const-reference overloads' static_assert),
  // instead of being written through a cast.

  /// Gradient of the reduced loss with respect to the logits, written into `grad` (same shape;
  /// any storage order or strides; may be the logits themselves). Masked elements get 0. Under
  /// Reduction::none each element's own derivative (the gradient of the unreduced sum).
  template <class L, class T, class G, class M = none_t, class W = none_t>
  void backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, Eigen::DenseBase<G>& grad,
                const M& mask = no_mask, const W& sample_weight = no_sample_weight) const {
    run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }
  template <class L, class T, class G, class M = none_t, class W = none_t>
  void backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets, Eigen::DenseBase<G>&& grad,
                const M& mask = no_mask, const W& sample_weight = no_sample_weight) const {
    run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }
  template <class L, class T, class G, class M = none_t, class W = none_t>
  void backward(const Eigen::DenseBase<L>&, const Eigen::DenseBase<T>&, const Eigen::DenseBase<G>&, const M& = no_mask,
                const W& = no_sample_weight) const {
    static_assert(detail::always_false<G>, LONGTAIL_CONST_OUTPUT_MESSAGE);
  }

  /// forward() and backward() in one pass over memory; returns the reduced loss (under
  /// Reduction::none the sum, whose gradient is the one written).
  template <class L, class T, class G, class M = none_t, class W = none_t>
  Scalar forward_backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          Eigen::DenseBase<G>& grad, const M& mask = no_mask,
                          const W& sample_weight = no_sample_weight) const {
    return run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }
  template <class L, class T, class G, class M = none_t, class W = none_t>
  Scalar forward_backward(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          Eigen::DenseBase<G>&& grad, const M& mask = no_mask,
                          const W& sample_weight = no_sample_weight) const {
    return run<true, false>(logits, targets, &grad, no_output(logits), mask, sample_weight);
  }
  template <class L, class T, class G, class M = none_t, class W = none_t>
  Scalar forward_backward(const Eigen::DenseBase<L>&, const Eigen::DenseBase<T>&, const Eigen::DenseBase<G>&,
                          const M& = no_mask, const W& = no_sample_weight) const {
    static_assert(detail::always_false<G>, LONGTAIL_CONST_OUTPUT_MESSAGE);
    return Scalar(0);
  }

  /// Per-element losses (weighted, masked elements 0, never divided by a count) into `loss`;
  /// returns the reduced loss as forward() does (under Reduction::none: their sum).
  template <class L, class T, class O, class M = none_t, class W = none_t>
  Scalar forward_elements(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          Eigen::DenseBase<O>& loss, const M& mask = no_mask,
                          const W& sample_weight = no_sample_weight) const {
    return run<false, true>(logits, targets, no_output(logits), &loss, mask, sample_weight);
  }
  template <class L, class T, class O, class M = none_t, class W = none_t>
  Scalar forward_elements(const Eigen::DenseBase<L>& logits, const Eigen::DenseBase<T>& targets,
                          Eigen::DenseBase<O>&& loss, const M& mask = no_mask,
                          const W& sample_weight = no_sample_weight) const {
    return run<false, true>(logits, targets, no_output(logits), &loss, mask, sample_weight);
  }
  template <class L, class T, class O, class M = none_t, class W = none_t>
  Scalar forward_elements(const Eigen::DenseBase<L>&, const Eigen::DenseBase<T>&, const Eigen::DenseBase<O>&,
                          const M& = no_mask, const W& = no_sample_weight) const {
    static_assert(detail::always_false<O>, LONGTAIL_CONST_OUTPUT_MESSAGE);
    return Scalar(0);
  }

 protected:
  ElementwiseLoss() = default;

  /// Checks and stores the per-class vectors (converted to Scalar) and precomputes the two term
  /// coefficients (math::class_coefficients) with the given alpha weights.
  void set_class_vectors(const char* loss_name, const PerClassVector& weight, const PerClassVector& pos_weight,
                         Scalar alpha_pos, Scalar alpha_neg) {
    weight_ = checked_class_vector(loss_name, "weight", weight);
    pos_weight_ = checked_class_vector(loss_name, "pos_weight", pos_weight);
    if (weight_.size() && pos_weight_.size() && weight_.size() != pos_weight_.size())
      longtail::detail::fail(loss_name, ": weight has ", weight_.size(), " classes but pos_weight has ",
                             pos_weight_.size());
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

  /// Checks and stores the per-class logit offset s_c (logit adjustment: the loss is evaluated at
  /// x + s_c, its gradient is d loss / d x). Any finite value; empty: none. Call after
  /// set_class_vectors (its length must match theirs when both are given).
  void set_logit_offset(const char* loss_name, const PerClassVector& offset) {
    logit_offset_ = checked_class_vector(loss_name, "logit_offset", offset, /*signed_values=*/true);
    if (logit_offset_.size() && per_class_ && logit_offset_.size() != coef_pos_.size())
      longtail::detail::fail(loss_name, ": logit_offset has ", logit_offset_.size(), " classes but ",
                             weight_.size() ? "weight" : "pos_weight", " has ", coef_pos_.size());
  }

  /// The per-row hook: a loss with per-row inputs computed from the targets (DistributionBalanced)
  /// defines its own prepare_rows(args, buffer), which fills `buffer` (one value per row) and points
  /// args at it. This default does nothing.
  template <class Args>
  void prepare_rows(Args&, std::vector<Scalar>&) const {}

 private:
  /// A null output pointer of some DenseBase type (never dereferenced).
  template <class L>
  static Eigen::DenseBase<L>* no_output(const Eigen::DenseBase<L>&) {
    return nullptr;
  }

  /// The vector as the functor's Scalar, after checking its shape and its values as given (in
  /// double) and against Scalar's range (1e300 is finite in double, not in float; converting it
  /// would be undefined behaviour, not merely inf).
  static Vector checked_class_vector(const char* loss_name, const char* field, const PerClassVector& v,
                                     bool signed_values = false) {
    if (!v.is_vector())
      longtail::detail::fail(loss_name, ": ", field, " has shape ", v.rows(), "x", v.cols(),
                             " but must be a vector (one entry per class)");
    Vector out(v.size());
    for (Eigen::Index j = 0; j < v.size(); ++j) {
      const double given = v.values()[j];
      if (!std::isfinite(given) || (!signed_values && given < 0))
        longtail::detail::fail(loss_name, ": ", field, "[", j, "] must be finite", signed_values ? "" : " and >= 0",
                               " (got ", given, ")");
      if (std::abs(given) > double(std::numeric_limits<Scalar>::max()))
        longtail::detail::fail(loss_name, ": ", field, "[", j, "] = ", given, " overflows the functor's ",
                               sizeof(Scalar) == sizeof(float) ? "float" : "double");
      out[j] = static_cast<Scalar>(given);
    }
    return out;
  }

  const Derived& self() const { return static_cast<const Derived&>(*this); }

  template <bool WantGrad, bool WantLoss, class L, class T, class G, class O, class M, class W>
  Scalar run(const Eigen::DenseBase<L>& logits_in, const Eigen::DenseBase<T>& targets_in, Eigen::DenseBase<G>* grad,
             Eigen::DenseBase<O>* loss, const M& mask_in, const W& sample_weight_in) const {
    // The message names the functor in use (a static_assert message must be a literal).
    constexpr bool logits_ok = std::is_same_v<typename L::Scalar, Scalar>;
    static_assert(logits_ok || !std::is_same_v<Derived, WeightedBCE<Scalar>>,
                  "longtail: WeightedBCE<S> takes logits of scalar type S (WeightedBCE<float>: float logits); "
                  "convert them with .cast<S>() or use the functor of their type");
    static_assert(logits_ok || !std::is_same_v<Derived, FocalBCE<Scalar>>,
                  "longtail: FocalBCE<S> takes logits of scalar type S (FocalBCE<float>: float logits); "
                  "convert them with .cast<S>() or use the functor of their type");
    static_assert(logits_ok || !std::is_same_v<Derived, DistributionBalanced<Scalar>>,
                  "longtail: DistributionBalanced<S> takes logits of scalar type S (DistributionBalanced<float>: "
                  "float logits); convert them with .cast<S>() or use the functor of their type");
    static_assert(logits_ok, "longtail: the loss functor's Scalar type and the logits' scalar type must be the same");
    static_assert(std::is_arithmetic_v<typename T::Scalar>, "targets must be float, double or an integer type (0/1)");
    if constexpr (WantGrad) {
      static_assert(std::is_same_v<typename G::Scalar, Scalar>, "longtail: grad must have the functor's Scalar type");
      static_assert(detail::is_lvalue<G>,
                    LONGTAIL_CONST_OUTPUT_MESSAGE);  // a Map of const data, a block of a const matrix
      static_assert(detail::has_direct_access<G>,
                    "longtail: grad must be memory (Matrix, Array, Map, Ref or a block), not an expression");
    }
    if constexpr (WantLoss) {
      static_assert(std::is_same_v<typename O::Scalar, Scalar>,
                    "longtail: the loss output must have the functor's Scalar type");
      static_assert(detail::is_lvalue<O>, LONGTAIL_CONST_OUTPUT_MESSAGE);
      static_assert(detail::has_direct_access<O>,
                    "longtail: the loss output must be memory (Matrix, Array, Map, Ref or a block), not an expression");
    }
    const auto& opts = self().options();
    const char* name = Derived::name;
    // Every shape is checked before anything is converted or evaluated: converting an argument
    // of the wrong shape (a matrix of sample weights into a vector) is an Eigen assertion, an
    // abort in builds without NDEBUG, before a message could name the argument.
    const Eigen::Index rows = logits_in.rows(), cols = logits_in.cols();
    detail::check_shape("targets", targets_in, rows, cols);
    if constexpr (WantGrad) detail::check_shape("grad", *grad, rows, cols);
    if constexpr (WantLoss) detail::check_shape("loss", *loss, rows, cols);
    if constexpr (!std::is_same_v<M, none_t>) detail::check_shape("mask", mask_in, rows, cols);
    if constexpr (!std::is_same_v<W, none_t>) {
      if (sample_weight_in.size() != rows || (sample_weight_in.rows() != 1 && sample_weight_in.cols() != 1))
        longtail::detail::fail("sample_weight has shape ", sample_weight_in.rows(), "x", sample_weight_in.cols(),
                               " but must be a vector of length ", rows, " (one weight per row of logits)");
    }
    if (per_class_ && coef_pos_.size() != cols)
      longtail::detail::fail(name, ": per-class vectors have ", coef_pos_.size(), " classes but logits have ", cols,
                             " columns");
    if (logit_offset_.size() && logit_offset_.size() != cols)
      longtail::detail::fail(name, ": logit_offset has ", logit_offset_.size(), " classes but logits have ", cols,
                             " columns");

    decltype(auto) logits = detail::direct(logits_in);
    decltype(auto) targets = detail::direct(targets_in);
    detail::KernelArgs<Scalar, typename T::Scalar, mask_scalar_t<M>> a;
    a.x = detail::make_view(logits);
    a.y = detail::make_view(targets);
    if constexpr (WantGrad && detail::is_lvalue<G>) a.grad = detail::make_mutable_view(*grad);
    if constexpr (WantLoss && detail::is_lvalue<O>) a.loss = detail::make_mutable_view(*loss);
    a.coef_pos = coef_pos_.data();
    a.coef_neg = coef_neg_.data();
    a.coef_stride = per_class_ ? 1 : 0;
    a.logit_offset = logit_offset_.size() ? logit_offset_.data() : nullptr;
    const Scalar eps = static_cast<Scalar>(opts.label_smoothing);
    a.keep = Scalar(1) - eps;
    a.shift = eps / Scalar(2);
    a.threads = detail::resolve_threads(opts.execution.threads);
    if (opts.execution.check_inputs) check_target_values(a.y);

    // Optional per-element mask.
    Eigen::Index valid = rows * cols;
    decltype(auto) mask = mask_direct(mask_in);
    if constexpr (!std::is_same_v<M, none_t>) {
      a.mask = detail::make_view(mask);
      valid = count_valid(a.mask);
    }
    // Optional per-sample weights.
    decltype(auto) sw = sample_weights_direct(sample_weight_in);
    if constexpr (!std::is_same_v<W, none_t>) {
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
    std::vector<Scalar> row_buffer;
    self().prepare_rows(a, row_buffer);
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
      // Element by element (a row or a column vector alike: the shape was checked), so no Eigen
      // shape assertion can fire whatever the expression's compile-time shape.
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1> v(w.size());
      const bool row = w.rows() == 1;
      for (Eigen::Index i = 0; i < v.size(); ++i)
        v[i] = static_cast<Scalar>(row ? w.derived().coeff(0, i) : w.derived().coeff(i, 0));
      return v;
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

  Vector weight_, pos_weight_, logit_offset_;
  Vector coef_pos_, coef_neg_;  // math::class_coefficients per class, or one uniform value
  bool per_class_ = false;
};

LONGTAIL_CPU_NAMESPACE_END

#undef LONGTAIL_CONST_OUTPUT_MESSAGE
