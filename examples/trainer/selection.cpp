// SPDX-License-Identifier: Apache-2.0
#include "selection.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace longtail_train {

std::size_t select_within_noise(const std::vector<ScoredCandidate>& candidates, double tolerance_se,
                                bool by_tie_score) {
  if (candidates.empty()) throw std::invalid_argument("select_within_noise: no candidates");
  if (!(tolerance_se >= 0) || !std::isfinite(tolerance_se))
    throw std::invalid_argument("select_within_noise: the tolerance must be a finite number >= 0 (got " +
                                std::to_string(tolerance_se) + ")");
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (!std::isfinite(candidates[i].score) || !std::isfinite(candidates[i].tie_score) ||
        !(candidates[i].standard_error >= 0))
      throw std::invalid_argument("select_within_noise: candidate " + std::to_string(i) +
                                  " has a non-finite score or a negative standard error");
  std::size_t best = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i)
    if (candidates[i].score > candidates[best].score) best = i;
  if (tolerance_se == 0) return best;
  const double floor = candidates[best].score - tolerance_se * candidates[best].standard_error;
  std::size_t chosen = candidates.size();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].score < floor) continue;
    if (!by_tie_score) return i;
    if (chosen == candidates.size() || candidates[i].tie_score > candidates[chosen].tie_score) chosen = i;
  }
  return chosen;  // the best itself is within the floor, so something was chosen
}

}  // namespace longtail_train
