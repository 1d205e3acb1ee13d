// SPDX-License-Identifier: Apache-2.0
#pragma once
// Class priors from training label counts, and what is derived from them: the logit adjustment
// of Menon et al. (ICLR 2021, "Long-tail learning via logit adjustment") and the per-class terms
// of the Distribution-Balanced loss (options.hpp).
//
// From n_c positives of class c among N training rows:
//   class_priors          p_c = max(n_c, 1/2) / N
//   logit_adjustment      s_c = tau * log(p_c)            (tau >= 0; tau = 1 is Menon et al.'s)
//   prior_logits          logit(p_c) = log(max(n_c, 1/2)) - log(max(N - n_c, 1/2))
// A label never positive in training (n_c = 0) counts as half a positive, and one positive in
// every row (n_c = N) as N - 1/2 for the logit: log 0 = -inf (and logit(1) = +inf) would shift
// that label's training logit to -inf, where its loss and gradient are undefined. Half a count
// keeps the value finite and keeps the order of the labels (an unseen label stays rarer than any
// label seen once); it is the add-one-half (Krichevsky-Trofimov) estimate of a zero count.
// Counts may be real numbers (soft or weighted counts): finite, in [0, N].
//
// Logit adjustment at training time: the loss is evaluated at x + s_c (the functors'
// `logit_offset`, every loss), so for a rare label (s_c << 0) the model has to raise its raw logit
// further to fit a positive; at inference the raw logits are used, without the offset.

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "longtail/error.hpp"

namespace longtail {

namespace detail {

/// The counts in double after checking them: a vector, each finite and in [0, num_samples],
/// num_samples > 0. Messages name `what` (the argument) and the element.
template <class D>
Eigen::ArrayXd checked_label_counts(const Eigen::DenseBase<D>& label_counts, double num_samples,
                                    const char* what = "label_counts") {
  if (label_counts.rows() != 1 && label_counts.cols() != 1 && label_counts.size() != 0)
    fail(what, " must be a vector (got shape ", label_counts.rows(), "x", label_counts.cols(), ")");
  if (!std::isfinite(num_samples) || !(num_samples > 0))
    fail("num_samples must be finite and > 0 (got ", num_samples, ")");
  Eigen::ArrayXd n(label_counts.size());
  const bool row = label_counts.rows() == 1;
  for (Eigen::Index c = 0; c < n.size(); ++c) {
    const double v = static_cast<double>(row ? label_counts.derived().coeff(0, c) : label_counts.derived().coeff(c, 0));
    if (!(std::isfinite(v) && v >= 0.0 && v <= num_samples))
      fail(what, "[", c, "] must be a finite count in [0, num_samples = ", num_samples, "] (got ", v, ")");
    n[c] = v;
  }
  return n;
}

/// The count a class is treated as having: max(n, 1/2) (see the top of this file).
inline double floored_count(double n) { return n > 0.5 ? n : 0.5; }

}  // namespace detail

/// p_c = max(n_c, 1/2) / N for each class from its positive count among num_samples rows.
template <class Scalar = float, class D>
Eigen::Array<Scalar, Eigen::Dynamic, 1> class_priors(const Eigen::DenseBase<D>& label_counts,
                                                     Eigen::Index num_samples) {
  const double N = static_cast<double>(num_samples);
  const Eigen::ArrayXd n = detail::checked_label_counts(label_counts, N);
  Eigen::ArrayXd p(n.size());
  for (Eigen::Index c = 0; c < n.size(); ++c) p[c] = detail::floored_count(n[c]) / N;
  return p.cast<Scalar>();
}

/// Menon et al.'s logit adjustment s_c = tau * log(p_c): the per-class offset added to the logits
/// at training time (the `logit_offset` of every loss functor). tau finite and >= 0; tau = 0
/// gives zeros (the offset then changes no bit of the loss). Finite for every valid input:
/// s_c >= tau * log(1 / (2 N)).
template <class Scalar = float, class D>
Eigen::Array<Scalar, Eigen::Dynamic, 1> logit_adjustment(const Eigen::DenseBase<D>& label_counts,
                                                         Eigen::Index num_samples, double tau) {
  if (!std::isfinite(tau) || tau < 0) detail::fail("tau must be a finite number >= 0 (got ", tau, ")");
  const double N = static_cast<double>(num_samples);
  const Eigen::ArrayXd n = detail::checked_label_counts(label_counts, N);
  Eigen::ArrayXd s(n.size());
  for (Eigen::Index c = 0; c < n.size(); ++c) s[c] = tau * std::log(detail::floored_count(n[c]) / N);
  return s.cast<Scalar>();
}

/// logit(p_c) = log(n_c / (N - n_c)), both counts floored at 1/2: finite for every valid input
/// (|logit| <= log(2 N)). The Distribution-Balanced loss's class bias is (kappa / lambda) times it.
template <class Scalar = float, class D>
Eigen::Array<Scalar, Eigen::Dynamic, 1> prior_logits(const Eigen::DenseBase<D>& label_counts,
                                                     Eigen::Index num_samples) {
  const double N = static_cast<double>(num_samples);
  const Eigen::ArrayXd n = detail::checked_label_counts(label_counts, N);
  Eigen::ArrayXd l(n.size());
  for (Eigen::Index c = 0; c < n.size(); ++c)
    l[c] = std::log(detail::floored_count(n[c])) - std::log(detail::floored_count(N - n[c]));
  return l.cast<Scalar>();
}

/// The per-class inputs of the Distribution-Balanced loss (options.hpp), as its CPU functor uses
/// them and as a CUDA caller uploads them (longtail::cuda::DistributionBalanced takes device
/// copies of both vectors):
///   class_rate[c]   = 1 / max(n_c, 1/2)                         (r = class_rate * row rate)
///   logit_offset[c] = (kappa / lambda) logit(p_c) + s_c         (the class bias plus the caller's
///                                                                logit adjustment s_c, if any)
/// Summed in double, then converted; an offset that does not fit Scalar is refused.
template <class Scalar>
struct DistributionBalancedClassTerms {
  Eigen::Array<Scalar, Eigen::Dynamic, 1> class_rate, logit_offset;
};

template <class Scalar = float, class D>
DistributionBalancedClassTerms<Scalar> distribution_balanced_class_terms(const Eigen::DenseBase<D>& label_counts,
                                                                         Eigen::Index num_samples, double kappa,
                                                                         double lambda,
                                                                         const Eigen::ArrayXd& logit_offset = {}) {
  if (!std::isfinite(kappa) || kappa < 0) detail::fail("kappa must be a finite number >= 0 (got ", kappa, ")");
  if (!std::isfinite(lambda) || !(lambda > 0)) detail::fail("lambda must be a finite number > 0 (got ", lambda, ")");
  const double N = static_cast<double>(num_samples);
  const Eigen::ArrayXd n = detail::checked_label_counts(label_counts, N);
  const Eigen::Index C = n.size();
  if (logit_offset.size() && logit_offset.size() != C)
    detail::fail("logit_offset has ", logit_offset.size(), " classes but label_counts has ", C);
  const Eigen::ArrayXd bias = (kappa / lambda) * prior_logits<double>(n, num_samples);
  DistributionBalancedClassTerms<Scalar> out;
  out.class_rate.resize(C);
  out.logit_offset.resize(C);
  for (Eigen::Index c = 0; c < C; ++c) {
    out.class_rate[c] = static_cast<Scalar>(1.0 / detail::floored_count(n[c]));  // in [1/N, 2]
    const double total = bias[c] + (logit_offset.size() ? logit_offset[c] : 0.0);
    if (!std::isfinite(total) || std::abs(total) > double(std::numeric_limits<Scalar>::max()))
      detail::fail("logit_offset[", c, "] plus the class bias is not finite in ",
                   sizeof(Scalar) == sizeof(float) ? "float" : "double", " (", total, ")");
    out.logit_offset[c] = static_cast<Scalar>(total);
  }
  return out;
}

}  // namespace longtail
