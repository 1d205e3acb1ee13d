// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which loss a run trains with: the configuration (kind, class-weight scheme and cap, focal / ASL /
// Distribution-Balanced parameters, logit adjustment, smoothing), its name in the write-up's
// style, and the rules that turn the loss
// flags of the command line into one configuration (train) or a grid of them (sweep). No Eigen,
// no functor: loss.hpp builds the functor from a LossConfig.
//
// Defaults (one set for every data set): the write-up's best configuration, pos_neg_ratio class
// weights capped at 7 as pos_weight + focal gamma 3; the sweep's grid is its grid, caps {6, 7, 8}
// x gamma {none, 2, 3}, plus plain BCE as the baseline.

#include <optional>
#include <string>
#include <vector>

#include "longtail/class_weights.hpp"
#include "longtail/options.hpp"

namespace longtail_train {

enum class LossKind { bce, weighted, focal, asl, db };
const char* to_string(LossKind k);
/// How configuration names write a number: up to 6 significant digits ("0.25", "1e-05").
std::string name_number(double v);

enum class WeightMode { pos_weight, class_weight };
const char* to_string(WeightMode m);

struct LossConfig {
  LossKind kind = LossKind::bce;
  /// Class-weight scheme from training label counts; empty: no class weights.
  std::optional<longtail::WeightScheme> scheme;
  double cap = 0;          ///< 0 = no cap; else w_c = min(w_c, cap)
  bool normalize = false;  ///< rescale weights to mean 1 before the cap
  double beta = 0.999;     ///< effective_number's beta
  WeightMode mode = WeightMode::pos_weight;
  double gamma = 2.0;           ///< focal; db: its focusing exponent (default kDefaultDbGamma)
  std::optional<double> alpha;  ///< focal alpha (off by default)
  double gamma_pos = 0.0;       ///< asl (Ridnik et al. 2021 defaults 0 / 4 / 0.05)
  double gamma_neg = 4.0;
  double margin = 0.05;
  /// Distribution-Balanced loss (Wu et al. 2020): the library's defaults (options.hpp, from the
  /// authors' configuration), its focusing exponent is `gamma`.
  double db_alpha = longtail::DistributionBalancedOptions{}.alpha;
  double db_beta = longtail::DistributionBalancedOptions{}.beta;
  double db_mu = longtail::DistributionBalancedOptions{}.mu;
  double db_lambda = longtail::DistributionBalancedOptions{}.lambda;
  double db_kappa = longtail::DistributionBalancedOptions{}.kappa;
  /// Logit adjustment (Menon et al. 2021), every loss: at training time the loss sees
  /// x + tau * log(prior_c) (longtail::logit_adjustment); inference uses the raw logits. 0 = off.
  double logit_adjust_tau = 0.0;
  double label_smoothing = 0.0;

  /// Short configuration name in the write-up's style: "bce", "cap_7.0", "cap_7.0_focal_g3",
  /// "focal_g2", "asl_gp0_gn4_m0.05", "db_g2" (with "_alpha0.2", "_beta5", "_mu0.1", "_lambda1",
  /// "_kappa0" for DB parameters off their defaults), with "_la1" for logit adjustment tau 1,
  /// "_ls0.1" for label smoothing, "_a0.25" for alpha, and the scheme / mode spelled out when they
  /// are not the default pos_neg_ratio / pos_weight.
  std::string name() const;
  /// One readable line: the functor, its parameters and how the weights were made.
  std::string describe() const;
};

/// The loss flags as the user gave them (empty = not given), before the rules below apply.
struct LossFlags {
  std::optional<LossKind> kind;               ///< --loss
  std::optional<std::string> weights;         ///< --weights: a scheme name or "none"
  std::vector<std::optional<double>> caps;    ///< --cap (nullopt = "none"; +inf = uncapped)
  std::vector<std::optional<double>> gammas;  ///< --gamma (nullopt = "none")
};

/// The defaults the rules fall back to.
inline constexpr double kDefaultCap = 7.0;
inline constexpr double kDefaultGamma = 3.0;
/// --loss db's focusing exponent without --gamma: the library's (the authors' DB-Focal).
inline const double kDefaultDbGamma = longtail::DistributionBalancedOptions{}.gamma;
/// The write-up's grid: caps 6, 7, 8 x gamma none, 2, 3.
std::vector<std::optional<double>> default_sweep_caps();
std::vector<std::optional<double>> default_sweep_gammas();

/// The loss of a train / eval / predict run. `base` carries the settings every configuration
/// shares (weight mode, normalisation, beta, alpha, ASL parameters, smoothing). Rules:
///  - kind: --loss, else implied by --gamma (a number: focal; none: weighted), else focal;
///  - class weights: on for every loss but plain bce and db (default scheme pos_neg_ratio, cap 7);
///    --weights none or --cap none turns them off; weighted BCE without weights is plain bce;
///    db has no pos_weight (its re-balancing weighs the positives): --weights / --cap with db
///    need --weight-mode class;
///  - db's gamma: --gamma (none = 0), else kDefaultDbGamma.
/// Throws std::invalid_argument naming the conflicting flags.
LossConfig resolve_loss(const LossFlags& flags, const LossConfig& base);

/// The sweep's configurations in grid order (cap-major), the plain-BCE baseline first when
/// `add_bce_baseline` (and the grid does not have it). Checks that names are unique and that
/// `baseline` names one of them. Throws std::invalid_argument naming the flag.
std::vector<LossConfig> sweep_losses(const LossFlags& flags, const LossConfig& base, bool add_bce_baseline,
                                     const std::string& baseline);

}  // namespace longtail_train
