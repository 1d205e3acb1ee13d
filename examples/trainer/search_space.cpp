// SPDX-License-Identifier: Apache-2.0
#include "search_space.hpp"

#include <cmath>
#include <set>
#include <stdexcept>

#include "common/rng.hpp"

namespace longtail_train {
namespace {

template <class T>
const T& pick(const std::vector<T>& values, Rng& rng) {
  return values[std::size_t(rng.below(values.size()))];
}

bool pick_bool(const std::vector<bool>& values, Rng& rng) { return values[std::size_t(rng.below(values.size()))]; }

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("search space: " + what); }

}  // namespace

std::string TrainingChoice::suffix() const {
  std::string s;
  if (hidden) s += "_h" + std::to_string(*hidden);
  if (dropout) s += "_do" + name_number(*dropout);
  if (lr) s += "_lr" + name_number(*lr);
  return s;
}

std::string TrainingChoice::describe() const {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (hidden) add("hidden " + std::to_string(*hidden));
  if (dropout) add("dropout " + name_number(*dropout));
  if (lr) add("lr " + name_number(*lr));
  return s;
}

std::string SearchCandidate::describe() const {
  const std::string t = training.describe();
  return t.empty() ? loss.describe() : loss.describe() + "; " + t;
}

void SearchSpace::validate() const {
  if (schemes.empty()) bad("no weight scheme");
  if (caps.empty()) bad("no cap");
  if (normalize.empty()) bad("no normalisation choice");
  if (modes.empty()) bad("no weight mode");
  if (kinds.empty()) bad("no loss kind");
  for (double c : caps)
    if (!(c >= 0) || !std::isfinite(c)) bad("caps must be finite and >= 0 (0 = uncapped)");
  for (LossKind k : kinds) {
    if (k == LossKind::bce) bad("bce is weighted BCE without weights: list LossKind::weighted");
    if (k == LossKind::focal && gammas.empty()) bad("focal needs gamma values");
    if (k == LossKind::asl && (asl_gamma_pos.empty() || asl_gamma_neg.empty() || asl_margins.empty()))
      bad("asl needs gamma_pos, gamma_neg and margin values");
    if (k == LossKind::db && db_gammas.empty()) bad("db needs gamma values");
  }
  if (!(logit_adjust_share >= 0 && logit_adjust_share <= 1)) bad("logit_adjust_share must be in [0, 1]");
  if (logit_adjust_share > 0 && taus.empty()) bad("logit adjustment needs tau values");
  for (double t : taus)
    if (!(t > 0) || !std::isfinite(t)) bad("taus must be finite and > 0");
  for (double g : db_gammas)
    if (!(g >= 0) || !std::isfinite(g)) bad("db gammas must be finite and >= 0");
  for (double g : gammas)
    if (!(g >= 0) || !std::isfinite(g)) bad("focal gammas must be finite and >= 0");
  for (const auto* v : {&asl_gamma_pos, &asl_gamma_neg})
    for (double g : *v)
      if (!(g >= 0) || !std::isfinite(g)) bad("asl gammas must be finite and >= 0");
  for (double m : asl_margins)
    if (!(m >= 0 && m < 1)) bad("asl margins must be in [0, 1)");
  if (hidden_widths.empty() || dropouts.empty() || learning_rates.empty())
    bad("no hidden width, dropout or learning rate (list the run's value to keep it)");
  for (int h : hidden_widths)
    if (h < 1) bad("hidden widths must be >= 1");
  for (double d : dropouts)
    if (!(d >= 0 && d < 1)) bad("dropouts must be in [0, 1)");
  for (double r : learning_rates)
    if (!(r > 0) || !std::isfinite(r)) bad("learning rates must be finite and > 0");
}

double SearchSpace::size() const {
  double losses = 0;
  for (LossKind k : kinds) {
    if (k == LossKind::weighted) losses += 1;
    if (k == LossKind::focal) losses += double(gammas.size());
    if (k == LossKind::asl) losses += double(asl_gamma_pos.size() * asl_gamma_neg.size() * asl_margins.size());
    if (k == LossKind::db) losses += double(db_gammas.size());
  }
  const double adjustments = (logit_adjust_share < 1 ? 1.0 : 0.0) + (logit_adjust_share > 0 ? double(taus.size()) : 0);
  return losses * adjustments * double(schemes.size() * caps.size() * normalize.size() * modes.size()) *
         double(hidden_widths.size() * dropouts.size() * learning_rates.size());
}

SearchSpace wide_search_space() {
  using longtail::WeightScheme;
  SearchSpace s;
  s.schemes = {std::nullopt,
               WeightScheme::uniform,
               WeightScheme::pos_neg_ratio,
               WeightScheme::inverse_frequency,
               WeightScheme::sqrt_pos_neg_ratio,
               WeightScheme::sqrt_inverse_frequency,
               WeightScheme::effective_number};
  s.caps = {3, 5, 7, 10, 20, 50, 0};
  s.normalize = {false, true};
  s.modes = {WeightMode::pos_weight, WeightMode::class_weight};
  s.kinds = {LossKind::weighted, LossKind::focal, LossKind::asl, LossKind::db};
  s.gammas = {0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4};
  s.asl_gamma_pos = {0, 1};
  s.asl_gamma_neg = {1, 2, 3, 4};
  s.asl_margins = {0, 0.05, 0.1, 0.2};
  s.db_gammas = {0, 1, 2, 3, 4};
  // Small taus: with sigmoid outputs read at threshold 0.5, tau = 1 (Menon et al.'s, meant for
  // softmax) raises every rare label's raw logit so far that it is predicted almost everywhere.
  s.logit_adjust_share = 0.5;
  s.taus = {0.1, 0.25, 0.5, 1};
  // The default MLP (512, no dropout, lr 1e-3) and a wider, regularised one: on Delicious the
  // losses alone stay below macro-F1 0.20; with these the search selects (on validation) width
  // 1024, dropout 0.25, lr 2e-3 and passes it (examples/trainer/README.md, "Wide search, measured").
  s.hidden_widths = {512, 1024};
  s.dropouts = {0, 0.25, 0.5};
  s.learning_rates = {0.001, 0.002};
  return s;
}

std::vector<SearchCandidate> sample_search_space(const SearchSpace& space, const LossConfig& base, std::size_t count,
                                                 std::uint64_t seed, const std::vector<LossConfig>& exclude) {
  space.validate();
  std::set<std::string> seen, excluded;  // names drawn; losses never to draw (the grid's)
  for (const auto& c : exclude) excluded.insert(c.name());
  std::vector<SearchCandidate> out;
  Rng rng(seed, stream_id(RngStream::search));
  const std::size_t max_draws = 100 * count;
  for (std::size_t draw = 0; out.size() < count && draw < max_draws; ++draw) {
    // Every dimension is drawn for every configuration, in this fixed order, whether it applies
    // or not: a configuration always consumes the same number of draws.
    const auto scheme = pick(space.schemes, rng);
    const double cap = pick(space.caps, rng);
    const bool normalize = pick_bool(space.normalize, rng);
    const WeightMode mode = pick(space.modes, rng);
    const LossKind kind = pick(space.kinds, rng);
    const double gamma = space.gammas.empty() ? 0.0 : pick(space.gammas, rng);
    const double gamma_pos = space.asl_gamma_pos.empty() ? 0.0 : pick(space.asl_gamma_pos, rng);
    const double gamma_neg = space.asl_gamma_neg.empty() ? 0.0 : pick(space.asl_gamma_neg, rng);
    const double margin = space.asl_margins.empty() ? 0.0 : pick(space.asl_margins, rng);
    const double db_gamma = space.db_gammas.empty() ? 0.0 : pick(space.db_gammas, rng);
    const bool adjust = rng.uniform() < space.logit_adjust_share;
    const double tau = space.taus.empty() ? 0.0 : pick(space.taus, rng);
    TrainingChoice training;
    training.hidden = pick(space.hidden_widths, rng);
    training.dropout = pick(space.dropouts, rng);
    training.lr = pick(space.learning_rates, rng);

    LossConfig c = base;
    c.kind = kind;
    c.scheme.reset();
    c.cap = 0;
    c.normalize = false;
    c.mode = WeightMode::pos_weight;
    // Uniform weights are all 1 whatever the cap, normalisation or mode: the loss without weights.
    if (scheme && *scheme != longtail::WeightScheme::uniform) {
      c.scheme = *scheme;
      c.cap = cap;
      c.normalize = normalize;
      c.mode = kind == LossKind::db ? WeightMode::class_weight : mode;  // db has no pos_weight
    }
    c.logit_adjust_tau = adjust ? tau : 0.0;
    if (kind == LossKind::db) c.gamma = db_gamma;
    if (kind == LossKind::focal) {
      c.gamma = gamma;
      if (gamma == 0) c.kind = LossKind::weighted;  // (1 - p)^0 = 1: no focusing
    } else {
      c.alpha.reset();  // focal alpha applies to focal only (resolve_loss's rule)
    }
    if (kind == LossKind::asl) {
      c.gamma_pos = gamma_pos;
      c.gamma_neg = gamma_neg;
      c.margin = margin;
    }
    if (c.kind == LossKind::weighted && !c.scheme) c.kind = LossKind::bce;
    SearchCandidate candidate{c, training};
    if (!excluded.count(c.name()) && seen.insert(candidate.name()).second) out.push_back(std::move(candidate));
  }
  return out;
}

}  // namespace longtail_train
