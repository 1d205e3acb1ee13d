// SPDX-License-Identifier: Apache-2.0
#pragma once
// Tags for the optional trailing arguments of the CPU functors' calls: the mask and the per-sample
// weights. `loss.forward(x, y, longtail::no_mask, w)` gives sample weights without a mask.

#include "longtail/options.hpp"  // Reduction::none before longtail::none (-Wshadow)

namespace longtail {

/// The type of an absent optional argument (mask, sample weights).
struct none_t {
  explicit constexpr none_t(int) {}
};

/// No mask: every element is valid.
inline constexpr none_t no_mask{0};
/// No per-sample weights: every row weighs 1.
inline constexpr none_t no_sample_weight{0};
/// Deprecated: the old name of both tags, easily read as Reduction::none (which is an unrelated
/// reduction mode). Use no_mask / no_sample_weight; kept so that existing code compiles.
inline constexpr none_t none{0};

}  // namespace longtail
