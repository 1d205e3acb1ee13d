// SPDX-License-Identifier: Apache-2.0
#pragma once
// Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter 2019), the
// update of PyTorch's torch.optim.AdamW, step t = 1, 2, ...:
//   p <- p * (1 - lr * wd)                      (decay: weights only, never biases)
//   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Decoupled means the decay is not added to the gradient, so it is not rescaled by the adaptive
// denominator: every weight shrinks by the same factor per step. With wd = 0 this is exactly Adam.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <Eigen/Core>

#include "mlp.hpp"

namespace longtail_train {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  ///< decoupled (AdamW)

  void validate() const {
    auto bad = [](const char* what, double v) {
      std::ostringstream os;
      os << what << " (got " << v << ")";
      throw std::invalid_argument(os.str());
    };
    if (!(lr > 0 && std::isfinite(lr))) bad("--lr must be a finite number > 0", lr);
    if (!(beta1 >= 0 && beta1 < 1)) bad("--beta1 must be in [0, 1)", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) bad("--beta2 must be in [0, 1)", beta2);
    if (!(eps > 0 && std::isfinite(eps))) bad("--adam-eps must be a finite number > 0", eps);
    if (!(weight_decay >= 0 && std::isfinite(weight_decay)))
      bad("--weight-decay must be a finite number >= 0", weight_decay);
  }
};

template <class Scalar>
class Adam {
 public:
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  Adam() = default;
  Adam(AdamOptions options, Eigen::Index size) : options_(options), m_(Vector::Zero(size)), v_(Vector::Zero(size)) {
    options_.validate();
  }

  /// One update of `params` from `grad`; `segments` say which ranges are decayed.
  void step(Vector& params, const Vector& grad, const std::vector<ParamSegment>& segments) {
    step(params, grad, segments, 0, m_.size());
  }

  /// The same step on the elements [begin, end) only (the rest of params and of the moments is
  /// left alone): data-parallel training splits the update over the ranks, each stepping its
  /// block. Element by element the same arithmetic as the whole step, so the blocks of N ranks
  /// put together are bit for bit the whole step.
  void step(Vector& params, const Vector& grad, const std::vector<ParamSegment>& segments, Eigen::Index begin,
            Eigen::Index end) {
    if (params.size() != m_.size() || grad.size() != m_.size()) {
      std::ostringstream os;
      os << "Adam: state has " << m_.size() << " entries but params has " << params.size() << " and grad "
         << grad.size();
      throw std::invalid_argument(os.str());
    }
    if (begin < 0 || end < begin || end > m_.size()) {
      std::ostringstream os;
      os << "Adam: range [" << begin << ", " << end << ") is not within the " << m_.size() << " parameters";
      throw std::invalid_argument(os.str());
    }
    ++t_;
    const double bc1 = 1.0 - std::pow(options_.beta1, double(t_));
    const double bc2 = 1.0 - std::pow(options_.beta2, double(t_));
    const Scalar b1 = Scalar(options_.beta1), b2 = Scalar(options_.beta2);
    const Scalar step_size = Scalar(options_.lr / bc1);
    const Scalar inv_sqrt_bc2 = Scalar(1.0 / std::sqrt(bc2));
    const Scalar eps = Scalar(options_.eps);
    const Scalar shrink = Scalar(1.0 - options_.lr * options_.weight_decay);
    // One pass over memory: the three updates run on blocks small enough to stay in L1, instead of
    // three sweeps over the whole (possibly multi-megabyte) vectors.
    constexpr Eigen::Index kBlock = 1024;
    for (const ParamSegment& s : segments) {
      const bool decay = s.decay && options_.weight_decay > 0;
      const Eigen::Index first = std::max(s.offset, begin), last = std::min(s.offset + s.size, end);
      for (Eigen::Index start = first; start < last; start += kBlock) {
        const Eigen::Index n = std::min(kBlock, last - start);
        auto p = params.segment(start, n).array();
        auto g = grad.segment(start, n).array();
        auto m = m_.segment(start, n).array();
        auto v = v_.segment(start, n).array();
        if (decay) p *= shrink;
        m = b1 * m + (Scalar(1) - b1) * g;
        v = b2 * v + (Scalar(1) - b2) * g.square();
        p -= step_size * m / (v.sqrt() * inv_sqrt_bc2 + eps);
      }
    }
  }

  const AdamOptions& options() const { return options_; }
  std::int64_t steps() const { return t_; }
  const Vector& first_moment() const { return m_; }
  const Vector& second_moment() const { return v_; }

  /// Restores a saved state (checkpoint resume).
  void restore(std::int64_t steps, Vector m, Vector v) {
    if (m.size() != m_.size() || v.size() != v_.size())
      throw std::invalid_argument("Adam: saved state does not match the model's parameter count");
    t_ = steps;
    m_ = std::move(m);
    v_ = std::move(v);
  }

 private:
  AdamOptions options_;
  Vector m_, v_;
  std::int64_t t_ = 0;
};

}  // namespace longtail_train
