// SPDX-License-Identifier: Apache-2.0
#pragma once
// The space of configurations that `sweep --search wide` samples from, beyond the write-up's
// grid: every class-weight scheme (or none), caps including uncapped, weights normalised or not,
// as pos_weight or as class weights; weighted BCE and focal gamma 0-4, ASL, the
// Distribution-Balanced loss (gamma 0-4, class weights as per-class weights only); logit
// adjustment tau on any of them; and, beyond the loss, the MLP's hidden width, its dropout and
// Adam's learning rate (a wider, regularised model is what lifts some data sets most, e.g.
// Delicious). Configurations are drawn at random, deterministically from the seed
// (common/rng.hpp, stream RngStream::search), and canonicalised so that two names never train the
// same loss (uniform weights are no weights; gamma 0 is weighted BCE; weighted BCE without
// weights is bce).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loss_config.hpp"

namespace longtail_train {

/// The values of each dimension; a configuration takes one value of each (where it applies).
struct SearchSpace {
  /// nullopt: no class weights.
  std::vector<std::optional<longtail::WeightScheme>> schemes;
  std::vector<double> caps;  ///< 0 = uncapped
  std::vector<bool> normalize;
  std::vector<WeightMode> modes;
  /// Loss families drawn with equal probability: weighted, focal, asl, db.
  std::vector<LossKind> kinds;
  std::vector<double> gammas;  ///< focal gamma; 0 = no focusing (weighted BCE)
  std::vector<double> asl_gamma_pos, asl_gamma_neg, asl_margins;
  std::vector<double> db_gammas;  ///< db's focusing exponent (its other parameters: the defaults)
  /// Logit adjustment: on for this share of the configurations, with tau drawn from taus.
  double logit_adjust_share = 0.5;
  std::vector<double> taus;
  /// Beyond the loss (each drawn configuration sets all three; the grid keeps the run's flags).
  std::vector<int> hidden_widths;  ///< one hidden layer of this width
  std::vector<double> dropouts;    ///< in [0, 1)
  std::vector<double> learning_rates;

  /// Throws std::invalid_argument naming the empty or invalid dimension.
  void validate() const;
  /// Number of distinct points before canonicalisation (an upper bound on distinct configurations).
  double size() const;
};

/// What a configuration of the search sets beyond its loss. Unset fields: the run's flags
/// (--hidden, --dropout, --lr), as for the grid's configurations.
struct TrainingChoice {
  std::optional<int> hidden;  ///< one hidden layer of this width
  std::optional<double> dropout;
  std::optional<double> lr;
  /// "" when nothing is set, else the set fields as "_h1024_do0.5_lr0.002".
  std::string suffix() const;
  /// "" when nothing is set, else e.g. "hidden 1024, dropout 0.5, lr 0.002".
  std::string describe() const;
};

/// One configuration of the search: a loss and what it sets of the training.
struct SearchCandidate {
  LossConfig loss;
  TrainingChoice training;
  std::string name() const { return loss.name() + training.suffix(); }
  std::string describe() const;
};

/// The default wide space (its one home; documented in examples/trainer/README.md).
SearchSpace wide_search_space();

/// `count` distinct configurations drawn from `space`, none with the loss of one of `exclude`, in draw
/// order; each sets its training choice (width, dropout, learning rate) from the space. `base` carries what the space
/// does not set (label smoothing, effective_number's beta, focal alpha). The same (space, base, count, seed, exclude)
/// give the same list on every platform. Fewer than `count` when the space holds fewer distinct configurations (the
/// draw stops after 100 x count draws without a new one).
std::vector<SearchCandidate> sample_search_space(const SearchSpace& space, const LossConfig& base, std::size_t count,
                                                 std::uint64_t seed, const std::vector<LossConfig>& exclude = {});

}  // namespace longtail_train
