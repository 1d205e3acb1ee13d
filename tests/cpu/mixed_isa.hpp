// SPDX-License-Identifier: Apache-2.0
#pragma once
// The interface between the two halves of test_mixed_isa.cpp: mixed_isa_native_unit.cpp is
// compiled with -march=native, the test with the default flags, into one program. Plain types
// only: no longtail or Eigen type crosses the boundary.

#include <string>
#include <vector>

namespace lt_test {

struct MixedIsaResult {
  std::string abi;          // the inline namespace of the unit's CPU code (LONGTAIL_CPU_ABI)
  float loss = 0.0f;        // focal gamma 3 with pos_weight, mean
  std::vector<float> grad;  // column-major, rows x cols
};

/// forward_backward of longtail::cpu::FocalBCE<float> on column-major x, y, in the native unit.
MixedIsaResult focal_in_native_unit(const std::vector<float>& x, const std::vector<float>& y, int rows, int cols,
                                    const std::vector<float>& pos_weight);

}  // namespace lt_test
