// SPDX-License-Identifier: Apache-2.0
#pragma once
// Choosing among candidates scored on a noisy validation split: the decision rule of one model
// (decision_rules.hpp, --rule auto) and the configuration of a sweep or search (sweep.hpp,
// search.hpp) are both picked here, the same way.
//
// A validation score is an estimate: bibtex's validation split has 488 rows, and the cross-fitted
// macro-F1 of the wide search's six best finalists lie within one standard error (0.013) of the
// best, so the best of them by that score alone is a draw among equals. The candidates whose score is
// within T standard errors of the best (T = --select-se, default 1; the standard error being the
// best candidate's, over the cross-fitting folds) are statistically tied with it, and a second
// criterion decides among them (the one-standard-error rule of Breiman et al., CART 1984, where
// the criterion is simplicity): here either the earliest candidate in the caller's order of
// preference (the simplest decision rule) or the best score on a second metric (--tie-break: by
// default micro-F1 when ranking by macro-F1, so a macro-F1 lead smaller than the noise is not
// bought with micro-F1). With T = 0 the best score wins outright (ties: the earliest).

#include <cstddef>
#include <vector>

namespace longtail_train {

struct ScoredCandidate {
  double score = 0;           ///< the ranking metric on validation (higher is better)
  double standard_error = 0;  ///< of `score`, over the cross-fitting folds (0: no estimate)
  double tie_score = 0;       ///< the second metric on validation; read only when breaking ties by it
};

/// The index of the selected candidate of `candidates` (in order of preference, earliest
/// preferred; non-empty): the best score when tolerance_se is 0 (ties: the earliest); otherwise,
/// among the candidates scoring at least best - tolerance_se * standard_error(best), the one with
/// the highest tie_score when `by_tie_score` (ties: the earliest), else the earliest.
/// Throws std::invalid_argument for no candidates, a negative or non-finite tolerance, or a
/// non-finite score.
std::size_t select_within_noise(const std::vector<ScoredCandidate>& candidates, double tolerance_se, bool by_tie_score);

}  // namespace longtail_train
