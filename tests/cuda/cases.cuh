// SPDX-License-Identifier: Apache-2.0
#pragma once
// The loss configurations the parity tests sweep (GPU and host replay alike).

#include <optional>
#include <string>
#include <vector>

#include "longtail/options.hpp"

namespace longtail_test {

struct FocalCase {
  std::string name;
  longtail::FocalBCEOptions options;
};

/// Every math-core instantiation: integer / real exponent on each side, margin or not, alpha;
/// gamma 2 and 3 take the compile-time exponent kernels, gamma 0 the generic integer one.
inline std::vector<FocalCase> focal_cases() {
  using O = longtail::FocalBCEOptions;
  std::vector<FocalCase> c;
  c.push_back({"focal gamma 2 alpha 0.25", O::focal(2.0, 0.25)});
  c.push_back({"focal gamma 3", O::focal(3.0)});
  c.push_back({"focal gamma 0", O::focal(0.0)});
  c.push_back({"focal gamma 0.5", O::focal(0.5)});
  c.push_back({"asl 0 4 0.05", O::asymmetric(0.0, 4.0, 0.05)});
  c.push_back({"asl 1.5 2.5 0.1 alpha 0.4", [] {
                 O o = O::asymmetric(1.5, 2.5, 0.1);
                 o.alpha = 0.4;
                 return o;
               }()});
  c.push_back({"asl 1 0.7 0", O::asymmetric(1.0, 0.7, 0.0)});
  c.push_back({"asl 2.5 3 0", O::asymmetric(2.5, 3.0, 0.0)});
  c.push_back({"asl 0.3 2 0.2", O::asymmetric(0.3, 2.0, 0.2)});
  c.push_back({"asl 2 1.5 0.05", O::asymmetric(2.0, 1.5, 0.05)});  // integer +, real -, margin
  return c;
}

/// Option sets layered on a loss: reduction, smoothing, and which optional inputs are given.
struct OptionCase {
  std::string name;
  longtail::Reduction reduction = longtail::Reduction::mean;
  double label_smoothing = 0.0;
  bool mask = false, sample_weight = false, weight = false, pos_weight = false;
  std::optional<double> mean_divisor{};  ///< options.mean_divisor (a data-parallel global count)
  bool logit_offset = false;             ///< a per-class logit offset (logit adjustment)
};

inline std::vector<OptionCase> option_cases() {
  using R = longtail::Reduction;
  return {
      {"mean", R::mean, 0.0, false, false, false, false},
      {"sum", R::sum, 0.0, false, false, false, false},
      {"none", R::none, 0.0, false, false, false, false},
      {"mean+mask", R::mean, 0.0, true, false, false, false},
      {"sum+smoothing 0.1", R::sum, 0.1, false, false, false, false},
      {"mean+weights+pos_weight", R::mean, 0.0, false, false, true, true},
      {"mean+sample weights", R::mean, 0.0, false, true, false, false},
      {"everything", R::mean, 0.2, true, true, true, true},
      {"none+mask+pos_weight", R::none, 0.0, true, false, false, true},
      // A global count larger than any shard's: no device count, 1/D known on the host.
      {"mean+mask+sample weights+mean_divisor", R::mean, 0.0, true, true, false, false, 2.0e6},
      {"sum+weights+logit offset", R::sum, 0.0, false, false, true, false, std::nullopt, true},
  };
}

struct DbCase {
  std::string name;
  longtail::DistributionBalancedOptions options;
};

/// Every Distribution-Balanced kernel: integer / real gamma, lambda 1 / not; beta 0 and kappa 0.
inline std::vector<DbCase> db_cases() {
  using O = longtail::DistributionBalancedOptions;
  std::vector<DbCase> c;
  c.push_back({"db defaults", O{}});
  O plain;
  plain.gamma = 0.0;
  plain.lambda = 1.0;
  plain.kappa = 0.0;
  c.push_back({"db gamma 0 lambda 1 kappa 0", plain});
  O real;
  real.gamma = 1.5;
  real.lambda = 3.0;
  real.kappa = 0.2;
  real.mu = 0.05;
  c.push_back({"db gamma 1.5 lambda 3 kappa 0.2", real});
  O flat;
  flat.gamma = 0.5;
  flat.lambda = 1.0;
  flat.beta = 0.0;
  c.push_back({"db gamma 0.5 lambda 1 beta 0", flat});
  return c;
}

template <class Options>
Options with(Options o, const OptionCase& c) {
  o.reduction = c.reduction;
  o.label_smoothing = c.label_smoothing;
  o.mean_divisor = c.mean_divisor;
  return o;
}

}  // namespace longtail_test
