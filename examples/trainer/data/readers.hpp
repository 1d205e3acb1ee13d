// SPDX-License-Identifier: Apache-2.0
#pragma once
// Umbrella header: every data source of the trainer.

#include "data/arff_reader.hpp"      // IWYU pragma: export
#include "data/data_error.hpp"       // IWYU pragma: export
#include "data/dataset_io.hpp"       // IWYU pragma: export
#include "data/generator.hpp"        // IWYU pragma: export
#include "data/label_set_io.hpp"     // IWYU pragma: export
#include "data/split.hpp"            // IWYU pragma: export
#include "data/statistics.hpp"       // IWYU pragma: export
#include "data/taxonomy.hpp"         // IWYU pragma: export
#include "data/text_featurizer.hpp"  // IWYU pragma: export
#include "data/text_tsv_reader.hpp"  // IWYU pragma: export
#include "data/xmc_text.hpp"         // IWYU pragma: export
