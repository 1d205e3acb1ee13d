// SPDX-License-Identifier: Apache-2.0
#include "reference.hpp"

#include <Eigen/Core>

#include "longtail/class_priors.hpp"
#include "longtail/cpu/distribution_balanced.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/weighted_bce.hpp"

namespace longtail_test {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMask = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class CpuLoss>
Result run(const CpuLoss& loss, const Problem& p, bool want_elements) {
  Eigen::Map<const RowMatrix> x(p.x.data(), p.rows, p.cols), y(p.y.data(), p.rows, p.cols);
  Result r;
  r.grad.assign(static_cast<std::size_t>(p.n()), 0.0f);
  Eigen::Map<RowMatrix> g(r.grad.data(), p.rows, p.cols);
  std::vector<float> elements(static_cast<std::size_t>(p.n()), 0.0f);
  Eigen::Map<RowMatrix> el(elements.data(), p.rows, p.cols);
  Eigen::Map<const RowMask> m(p.mask.data(), p.rows, p.mask.empty() ? 0 : p.cols);
  Eigen::Map<const Eigen::VectorXf> sw(p.sample_weight.data(), static_cast<Eigen::Index>(p.sample_weight.size()));
  auto call = [&](const auto&... optional) {
    r.loss = loss.forward_backward(x, y, g, optional...);
    if (want_elements) loss.forward_elements(x, y, el, optional...);
  };
  const bool has_mask = !p.mask.empty(), has_sw = !p.sample_weight.empty();
  if (has_mask && has_sw)
    call(m, sw);
  else if (has_mask)
    call(m);
  else if (has_sw)
    call(longtail::none, sw);
  else
    call();
  if (want_elements) r.elements = std::move(elements);
  return r;
}

Eigen::ArrayXf as_array(const std::vector<float>& v) {
  return Eigen::Map<const Eigen::ArrayXf>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

Result cpu_reference(const longtail::FocalBCEOptions& options, const Problem& p, bool want_elements) {
  return run(
      longtail::cpu::FocalBCE<float>(options, as_array(p.weight), as_array(p.pos_weight), as_array(p.logit_offset)), p,
      want_elements);
}

Result cpu_reference(const longtail::WeightedBCEOptions& options, const Problem& p, bool want_elements) {
  return run(
      longtail::cpu::WeightedBCE<float>(options, as_array(p.weight), as_array(p.pos_weight), as_array(p.logit_offset)),
      p, want_elements);
}

Result cpu_reference(const longtail::DistributionBalancedOptions& options, const Problem& p, bool want_elements) {
  const Eigen::Map<const Eigen::ArrayXd> counts(p.label_counts.data(),
                                                static_cast<Eigen::Index>(p.label_counts.size()));
  return run(longtail::cpu::DistributionBalanced<float>(options, counts, p.train_rows, as_array(p.weight),
                                                        as_array(p.logit_offset)),
             p, want_elements);
}

DbClassTerms db_class_terms(const longtail::DistributionBalancedOptions& options, const Problem& p) {
  const Eigen::Map<const Eigen::ArrayXd> counts(p.label_counts.data(),
                                                static_cast<Eigen::Index>(p.label_counts.size()));
  const Eigen::ArrayXd offset = as_array(p.logit_offset).cast<double>();
  const auto t =
      longtail::distribution_balanced_class_terms<float>(counts, p.train_rows, options.kappa, options.lambda, offset);
  return {std::vector<float>(t.class_rate.data(), t.class_rate.data() + t.class_rate.size()),
          std::vector<float>(t.logit_offset.data(), t.logit_offset.data() + t.logit_offset.size())};
}

}  // namespace longtail_test
