// SPDX-License-Identifier: Apache-2.0
#include "loss_config.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace longtail_train {
namespace {

std::string fixed1(double v) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  os << v;
  return os.str();
}

}  // namespace

std::string name_number(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

const char* to_string(LossKind k) {
  switch (k) {
    case LossKind::bce:
      return "bce";
    case LossKind::weighted:
      return "weighted";
    case LossKind::focal:
      return "focal";
    case LossKind::asl:
      return "asl";
    case LossKind::db:
      return "db";
  }
  return "?";
}

const char* to_string(WeightMode m) { return m == WeightMode::pos_weight ? "pos_weight" : "class_weight"; }

std::string LossConfig::name() const {
  std::string weights_part;
  if (scheme) {
    if (*scheme != longtail::WeightScheme::pos_neg_ratio)
      weights_part = std::string(longtail::to_string(*scheme)) + "_";
    if (normalize) weights_part += "norm_";
    weights_part += cap > 0 ? "cap_" + fixed1(cap) : "uncapped";
    if (mode == WeightMode::class_weight) weights_part += "_classw";
  }
  std::string loss_part;
  switch (kind) {
    case LossKind::bce:
    case LossKind::weighted:
      break;
    case LossKind::focal:
      loss_part = "focal_g" + name_number(gamma);
      if (alpha) loss_part += "_a" + name_number(*alpha);
      break;
    case LossKind::asl:
      loss_part = "asl_gp" + name_number(gamma_pos) + "_gn" + name_number(gamma_neg) + "_m" + name_number(margin);
      break;
    case LossKind::db: {
      loss_part = "db_g" + name_number(gamma);
      const longtail::DistributionBalancedOptions d;
      if (db_alpha != d.alpha) loss_part += "_alpha" + name_number(db_alpha);
      if (db_beta != d.beta) loss_part += "_beta" + name_number(db_beta);
      if (db_mu != d.mu) loss_part += "_mu" + name_number(db_mu);
      if (db_lambda != d.lambda) loss_part += "_lambda" + name_number(db_lambda);
      if (db_kappa != d.kappa) loss_part += "_kappa" + name_number(db_kappa);
      break;
    }
  }
  std::string name = weights_part;
  if (!loss_part.empty()) name += (name.empty() ? "" : "_") + loss_part;
  if (name.empty()) name = "bce";
  if (logit_adjust_tau > 0) name += "_la" + name_number(logit_adjust_tau);
  if (label_smoothing > 0) name += "_ls" + name_number(label_smoothing);
  return name;
}

std::string LossConfig::describe() const {
  std::ostringstream os;
  switch (kind) {
    case LossKind::bce:
    case LossKind::weighted:
      os << "WeightedBCE";
      break;
    case LossKind::focal:
      os << "FocalBCE(gamma " << gamma;
      if (alpha) os << ", alpha " << *alpha;
      os << ")";
      break;
    case LossKind::asl:
      os << "FocalBCE::asymmetric(gamma_pos " << gamma_pos << ", gamma_neg " << gamma_neg << ", margin " << margin
         << ")";
      break;
    case LossKind::db:
      os << "DistributionBalanced(alpha " << db_alpha << ", beta " << db_beta << ", mu " << db_mu << ", lambda "
         << db_lambda << ", kappa " << db_kappa << ", gamma " << gamma << ")";
      break;
  }
  if (scheme) {
    os << ", " << (mode == WeightMode::pos_weight ? "pos_weight" : "class weight") << " = " << (cap > 0 ? "min(" : "")
       << longtail::to_string(*scheme) << (normalize ? "/mean" : "");
    if (*scheme == longtail::WeightScheme::effective_number) os << "(beta " << beta << ")";
    if (cap > 0) os << ", " << cap << ")";
  } else {
    os << ", no class weights";
  }
  if (logit_adjust_tau > 0) os << ", logit adjustment " << logit_adjust_tau << " log(prior) at training only";
  if (label_smoothing > 0) os << ", label smoothing " << label_smoothing;
  os << ", mean over batch x labels";
  return os.str();
}

std::vector<std::optional<double>> default_sweep_caps() { return {6.0, 7.0, 8.0}; }
std::vector<std::optional<double>> default_sweep_gammas() { return {std::nullopt, 2.0, 3.0}; }

namespace {

[[noreturn]] void conflict(const std::string& what) { throw std::invalid_argument(what); }

/// The settings every configuration shares, without class weights.
LossConfig shared_settings(const LossConfig& base) {
  LossConfig c = base;  // mode, normalize, beta, alpha, asl parameters, smoothing
  c.scheme.reset();
  c.cap = 0;
  return c;
}

/// Class weights for a cap (nullopt: none; +inf: uncapped) with the scheme of --weights.
void set_weights(LossConfig& c, const LossFlags& f, std::optional<double> cap) {
  c.scheme.reset();
  if (!cap) return;  // "none": no class weights
  c.scheme = longtail::WeightScheme::pos_neg_ratio;
  if (f.weights && *f.weights != "none") {
    const auto scheme = longtail::parse_weight_scheme(*f.weights);
    if (!scheme) conflict("--weights: unknown scheme '" + *f.weights + "'");
    c.scheme = *scheme;
  }
  c.cap = std::isinf(*cap) ? 0.0 : *cap;
}

}  // namespace

LossConfig resolve_loss(const LossFlags& f, const LossConfig& base) {
  if (f.caps.size() > 1) conflict("--cap takes one value outside sweep (lists are for `sweep`)");
  if (f.gammas.size() > 1) conflict("--gamma takes one value outside sweep (lists are for `sweep`)");
  LossConfig c = shared_settings(base);
  // Loss kind: --loss, else implied by --gamma (a number: focal; none: weighted), else focal.
  std::optional<double> gamma = kDefaultGamma;
  if (!f.gammas.empty()) gamma = f.gammas[0];
  if (f.kind) {
    c.kind = *f.kind;
    if (c.kind == LossKind::db) gamma = f.gammas.empty() ? kDefaultDbGamma : f.gammas[0].value_or(0.0);
    if (!f.gammas.empty()) {
      if (c.kind == LossKind::asl) conflict("--gamma is for --loss focal (asl uses --gamma-pos and --gamma-neg)");
      if ((c.kind == LossKind::bce || c.kind == LossKind::weighted) && gamma)
        conflict("--gamma " + std::to_string(*gamma) + " conflicts with --loss " + to_string(c.kind) +
                 " (use --loss focal)");
      if (c.kind == LossKind::focal && !gamma) conflict("--gamma none conflicts with --loss focal");
    }
  } else {
    c.kind = gamma ? LossKind::focal : LossKind::weighted;
  }
  if (c.kind == LossKind::focal || c.kind == LossKind::db) c.gamma = *gamma;
  if (c.kind != LossKind::focal && c.alpha) conflict("--alpha is for --loss focal");
  // Class weights: --weights none / --cap none turn them off; otherwise on for every loss but
  // plain bce, unless --weights or --cap asks for them explicitly.
  std::optional<double> cap = kDefaultCap;
  if (!f.caps.empty()) cap = f.caps[0];
  const bool explicit_on = (f.weights && *f.weights != "none") || (!f.caps.empty() && cap);
  const bool off = (f.weights && *f.weights == "none") || (!f.caps.empty() && !cap);
  if (off && explicit_on) conflict("--weights and --cap disagree (one says none)");
  const bool weights_by_default = c.kind != LossKind::bce && c.kind != LossKind::db;
  if (!off && (weights_by_default || explicit_on)) set_weights(c, f, cap);
  if (c.kind == LossKind::db && c.scheme && c.mode != WeightMode::class_weight)
    conflict(
        "--loss db has no pos_weight (its re-balancing weighs the positives): class weights from --weights / "
        "--cap need --weight-mode class");
  if (c.kind == LossKind::weighted && !c.scheme) c.kind = LossKind::bce;  // weighted BCE without weights is BCE
  return c;
}

std::vector<LossConfig> sweep_losses(const LossFlags& f, const LossConfig& base, bool add_bce_baseline,
                                     const std::string& baseline) {
  if (f.kind) conflict("--loss does not apply to sweep: the grid is --cap x --gamma");
  if (f.weights && *f.weights == "none") conflict("--weights none does not apply to sweep (use --cap none)");
  const auto caps = f.caps.empty() ? default_sweep_caps() : f.caps;
  const auto gammas = f.gammas.empty() ? default_sweep_gammas() : f.gammas;
  std::vector<LossConfig> grid;
  for (const auto& cap : caps)
    for (const auto& gamma : gammas) {
      LossConfig c = shared_settings(base);
      c.kind = gamma ? LossKind::focal : (cap ? LossKind::weighted : LossKind::bce);
      if (gamma) c.gamma = *gamma;
      if (!gamma) c.alpha.reset();
      set_weights(c, f, cap);
      grid.push_back(c);
    }
  std::vector<LossConfig> out;
  if (add_bce_baseline) {
    LossConfig bce = shared_settings(base);
    bce.kind = LossKind::bce;
    bce.alpha.reset();
    bce.logit_adjust_tau = 0;  // the baseline is plain BCE, whatever the grid shares
    bool present = false;
    for (const auto& c : grid) present = present || c.name() == bce.name();
    if (!present) out.push_back(bce);
  }
  out.insert(out.end(), grid.begin(), grid.end());
  for (std::size_t a = 0; a < out.size(); ++a)
    for (std::size_t b = a + 1; b < out.size(); ++b)
      if (out[a].name() == out[b].name()) conflict("sweep: configuration " + out[a].name() + " appears twice");
  bool found = false;
  std::string names;
  for (const auto& c : out) {
    found = found || c.name() == baseline;
    names += (names.empty() ? "" : ", ") + c.name();
  }
  if (!found) conflict("--baseline " + baseline + ": not a configuration of this sweep (" + names + ")");
  return out;
}

}  // namespace longtail_train
