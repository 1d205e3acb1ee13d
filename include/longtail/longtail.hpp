// SPDX-License-Identifier: Apache-2.0
#pragma once
// Umbrella header: the whole CPU library (needs Eigen only; never includes a CUDA header).

#include "longtail/class_priors.hpp"
#include "longtail/class_weights.hpp"
#include "longtail/config.hpp"
#include "longtail/cpu/distribution_balanced.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/per_class_vector.hpp"
#include "longtail/cpu/weighted_bce.hpp"
#include "longtail/error.hpp"
#include "longtail/math/distribution_balanced.hpp"
#include "longtail/math/focal_bce.hpp"
#include "longtail/math/weighted_bce.hpp"
#include "longtail/metrics.hpp"
#include "longtail/no_argument.hpp"
#include "longtail/options.hpp"
#include "longtail/ranking_metrics.hpp"
