// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "longtail/class_priors.hpp"
#include "longtail/cpu/elementwise_loss.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/math/distribution_balanced.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN

/// Distribution-Balanced loss (Wu et al., ECCV 2020) with optional focusing and logit adjustment:
///   l = r^ * w_c * [ y q^g softplus(-z) + (1 - y) p'^g softplus(lambda z) / lambda ],
///   z = x + (kappa / lambda) logit(p_c) + s_c
/// (options.hpp, DistributionBalancedOptions, for the terms and the defaults' source).
///
/// Constructed from the training label counts n_c (one per class, real numbers in
/// [0, train_rows]: class_priors.hpp says what an unseen label gets) and the number of training
/// rows N, which give the per-class inputs 1 / n_c (of r) and the class bias; `weight` (w_c) and
/// `logit_offset` (s_c, e.g. longtail::logit_adjustment(...)) are optional per-class vectors as in
/// the other functors. The calls (forward, backward, forward_backward, forward_elements; masks,
/// sample weights, threads, determinism) are ElementwiseLoss's.
///
/// r per element = (1 / n_c) * rho_i with the per-row rate rho_i = 1 / sum_j y_ij / n_j, computed
/// in a pre-pass over each call's targets (O(elements), in double): the sum runs over the row's
/// valid (unmasked) elements and uses the targets as given (soft targets count with their value,
/// label smoothing does not enter). A row with no positive valid label has sum 0: rho_i = +inf and
/// r^ = alpha + 1 for its elements, the limit r -> inf, which is also what the authors' code
/// computes (its 1/0 = inf; the class-aware sampler the weight imitates never draws such a row,
/// instance probability 0). The weight is not differentiated (it depends on the targets only).
/// Sample weights multiply the loss as in the other functors.
template <class Scalar = float>
class DistributionBalanced : public ElementwiseLoss<DistributionBalanced<Scalar>, Scalar> {
  using Base = ElementwiseLoss<DistributionBalanced<Scalar>, Scalar>;
  friend Base;

 public:
  using Options = DistributionBalancedOptions;
  using Vector = typename Base::Vector;
  static constexpr const char* name = "DistributionBalanced";

  DistributionBalanced(Options options, const PerClassVector& label_counts, Eigen::Index train_rows,
                       const PerClassVector& weight = {}, const PerClassVector& logit_offset = {})
      : options_(options) {
    options_.validate();
    if (!label_counts.is_vector())
      longtail::detail::fail(name, ": label_counts has shape ", label_counts.rows(), "x", label_counts.cols(),
                             " but must be a vector (one count per class)");
    if (label_counts.size() == 0) longtail::detail::fail(name, ": label_counts is empty (one count per class)");
    if (train_rows <= 0) longtail::detail::fail(name, ": train_rows must be > 0 (got ", train_rows, ")");
    const Eigen::ArrayXd& counts = label_counts.values();
    const Eigen::Index C = counts.size();
    this->set_class_vectors(name, weight, {}, Scalar(1), Scalar(1));
    if (weight.size() && weight.size() != C)
      longtail::detail::fail(name, ": weight has ", weight.size(), " classes but label_counts has ", C);
    if (logit_offset.size() && logit_offset.size() != C)
      longtail::detail::fail(name, ": logit_offset has ", logit_offset.size(), " classes but label_counts has ", C);
    this->set_logit_offset(name, logit_offset);  // checks its values
    // The per-class inputs (class_priors.hpp): 1 / n_c, and the offset the kernel adds, the class
    // bias plus the caller's logit adjustment.
    auto terms = distribution_balanced_class_terms<double>(counts, train_rows, options_.kappa, options_.lambda,
                                                           logit_offset.values());
    class_rate_d_ = terms.class_rate;
    class_rate_ = class_rate_d_.cast<Scalar>();
    if (options_.kappa > 0 || logit_offset.size()) {
      for (Eigen::Index c = 0; c < C; ++c)
        if (std::abs(terms.logit_offset[c]) > double(std::numeric_limits<Scalar>::max()))
          longtail::detail::fail(name, ": logit_offset[", c, "] plus the class bias overflows the functor's ",
                                 sizeof(Scalar) == sizeof(float) ? "float" : "double", " (", terms.logit_offset[c],
                                 ")");
      offset_with_bias_ = terms.logit_offset.cast<Scalar>();
    }
    gamma_ = GammaSpec::from(options_.gamma);
  }

  const Options& options() const { return options_; }
  /// 1 / max(n_c, 1/2) per class, as the kernel uses it.
  const Vector& class_rate() const { return class_rate_; }
  /// The offset the kernel adds per class: (kappa / lambda) logit(p_c) plus the logit_offset
  /// given (empty when kappa = 0 and none was given).
  const Vector& offset_with_bias() const { return offset_with_bias_; }

 private:
  // The kernel adds the class bias and the caller's logit adjustment as one per-class offset.
  // Base::logit_offset() still returns the caller's (the one the constructor was given).
  template <class Args>
  void prepare_rows(Args& a, std::vector<Scalar>& buffer) const {
    const Eigen::Index rows = a.x.rows, cols = a.x.cols;
    if (cols != class_rate_.size())
      longtail::detail::fail(name, ": label_counts has ", class_rate_.size(), " classes but logits have ", cols,
                             " columns");
    a.logit_offset = offset_with_bias_.size() ? offset_with_bias_.data() : nullptr;
    a.class_rate = class_rate_.data();
    buffer.assign(static_cast<std::size_t>(rows), Scalar(0));
    a.row_rate = buffer.data();
    // beta = 0: r^ = alpha + 1/2 whatever r is; a rate of 0 keeps beta * r finite (beta * inf is NaN).
    if (options_.beta == 0) return;
    const auto& y = a.y;
    const auto& m = a.mask;
    const double* rate = class_rate_d_.data();
    // sum_i = sum over j in increasing order of y_ij * rate_j (valid elements only), in double.
    // The loops follow the targets' storage (rows of a row-major matrix, columns of a
    // column-major one, each thread a block of rows): every row's terms are added in the same
    // order either way, so the sums are the same bits for every layout and thread count.
    auto add_row_block = [&](Eigen::Index i0, Eigen::Index i1, double* sums) {
      // Tight loops without a call or a branch per element (a masked element is selected away,
      // whatever its target holds, NaN included): this pass reads as many bytes as the loss's.
      const Eigen::Index ys_i = y.row_stride, ys_j = y.col_stride;
      const Eigen::Index ms_i = m.row_stride, ms_j = m.col_stride;
      if (std::abs(ys_j) >= std::abs(ys_i)) {  // column-major targets: walk down the columns
        for (Eigen::Index j = 0; j < cols; ++j) {
          const double r = rate[j];
          const auto* yj = y.data + j * ys_j;
          if (m.data) {
            const auto* mj = m.data + j * ms_j;
            for (Eigen::Index i = i0; i < i1; ++i)
              sums[i - i0] += mj[i * ms_i] != 0 ? static_cast<double>(yj[i * ys_i]) * r : 0.0;
          } else {
            for (Eigen::Index i = i0; i < i1; ++i) sums[i - i0] += static_cast<double>(yj[i * ys_i]) * r;
          }
        }
      } else {
        for (Eigen::Index i = i0; i < i1; ++i) {
          const auto* yi = y.data + i * ys_i;
          double sum = 0.0;
          if (m.data) {
            const auto* mi = m.data + i * ms_i;
            for (Eigen::Index j = 0; j < cols; ++j)
              sum += mi[j * ms_j] != 0 ? static_cast<double>(yi[j * ys_j]) * rate[j] : 0.0;
          } else {
            for (Eigen::Index j = 0; j < cols; ++j) sum += static_cast<double>(yi[j * ys_j]) * rate[j];
          }
          sums[i - i0] = sum;
        }
      }
      // 1 / sum, or +inf for an empty row (and where 1 / sum exceeds Scalar: converting it would
      // be undefined behaviour, and r^ is alpha + 1 there to within rounding either way).
      for (Eigen::Index i = i0; i < i1; ++i) {
        const double sum = sums[i - i0];
        const double inv = sum > 0 ? 1.0 / sum : std::numeric_limits<double>::infinity();
        buffer[static_cast<std::size_t>(i)] = inv <= double(std::numeric_limits<Scalar>::max())
                                                  ? static_cast<Scalar>(inv)
                                                  : std::numeric_limits<Scalar>::infinity();
      }
    };
    // Blocks of rows of ~16K elements (fixed by the shape, like the kernel's).
    const Eigen::Index block = std::max<Eigen::Index>(1, Eigen::Index(16384) / std::max<Eigen::Index>(cols, 1));
    const Eigen::Index blocks = (rows + block - 1) / block;
    const int threads = static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(a.threads, blocks)));
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
#endif
    for (Eigen::Index b = 0; b < blocks; ++b) {
      std::vector<double> sums(static_cast<std::size_t>(block), 0.0);
      add_row_block(b * block, std::min(rows, (b + 1) * block), sums.data());
    }
  }

  // Integer or real exponent, lambda = 1 or not (math/distribution_balanced.hpp).
  template <class F>
  decltype(auto) visit_math(F&& f) const {
    using V = detail::Packet<Scalar>;
    auto make = [&](auto int_tag, auto tolerant_tag) {
      constexpr bool Int = decltype(int_tag)::value;
      constexpr bool Tolerant = decltype(tolerant_tag)::value;
      math::DistributionBalancedMath<V, Int, Tolerant> m;
      m.core.gamma_pos = m.core.gamma_neg = V(Scalar(gamma_.value));
      m.core.margin = V(Scalar(0));
      m.core.int_pos = m.core.int_neg = gamma_.integer;
      m.lambda = V(Scalar(options_.lambda));
      m.inv_lambda = V(Scalar(1.0 / options_.lambda));
      m.alpha = V(Scalar(options_.alpha));
      m.beta = V(Scalar(options_.beta));
      m.mu = V(Scalar(options_.mu));
      return f(m);
    };
    const bool tolerant = options_.lambda != 1.0;
    if (gamma_.is_integer)
      return tolerant ? make(std::true_type{}, std::true_type{}) : make(std::true_type{}, std::false_type{});
    return tolerant ? make(std::false_type{}, std::true_type{}) : make(std::false_type{}, std::false_type{});
  }

  Options options_;
  GammaSpec gamma_;
  Eigen::ArrayXd class_rate_d_;
  Vector class_rate_, offset_with_bias_;
};

LONGTAIL_CPU_NAMESPACE_END
