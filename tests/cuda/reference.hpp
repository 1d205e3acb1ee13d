// SPDX-License-Identifier: Apache-2.0
#pragma once
// The CPU reference for the CUDA tests: problems in plain float arrays, evaluated by the
// longtail::cpu functors. Compiled by the host compiler alone (reference.cpp), with Eigen's SIMD:
// in a .cu file Eigen turns its vectorisation off, and the reference would run scalar code
// (test_cpu_library_in_cu.cu checks that the two builds agree).

#include <cstdint>
#include <vector>

#include "longtail/options.hpp"

namespace longtail_test {

/// A problem in float (already rounded to the storage types it will be run in), row-major.
struct Problem {
  std::int64_t rows = 0, cols = 0;
  std::vector<float> x, y;
  std::vector<std::uint8_t> mask;                        // empty: none
  std::vector<float> sample_weight, weight, pos_weight;  // empty: none
  std::vector<float> logit_offset;                       // empty: none
  /// The Distribution-Balanced loss's training label counts (one per column) and rows.
  std::vector<double> label_counts;
  std::int64_t train_rows = 0;
  std::int64_t n() const { return rows * cols; }
};

/// The Distribution-Balanced loss's per-class device inputs for a problem
/// (longtail::distribution_balanced_class_terms<float>: 1 / n_c, and the class bias plus the
/// problem's logit offset).
struct DbClassTerms {
  std::vector<float> class_rate, logit_offset;
};
DbClassTerms db_class_terms(const longtail::DistributionBalancedOptions& options, const Problem& p);

/// Outputs of one evaluation, in float.
struct Result {
  float loss = 0.0f;
  std::vector<float> grad;      // empty when not computed
  std::vector<float> elements;  // empty when not computed
};

/// forward_backward (and forward_elements when want_elements) of longtail::cpu::FocalBCE<float> /
/// WeightedBCE<float> with the problem's optional inputs.
Result cpu_reference(const longtail::FocalBCEOptions& options, const Problem& p, bool want_elements);
Result cpu_reference(const longtail::WeightedBCEOptions& options, const Problem& p, bool want_elements);
Result cpu_reference(const longtail::DistributionBalancedOptions& options, const Problem& p, bool want_elements);

}  // namespace longtail_test
