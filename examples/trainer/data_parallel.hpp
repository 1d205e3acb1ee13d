// SPDX-License-Identifier: Apache-2.0
#pragma once
// Data-parallel training over a Communicator (distributed/communicator.hpp): which rank holds
// which rows, and the quantities the ranks add up so that N ranks train the model one process
// would (trainer.cpp runs the loop; docs/ARCHITECTURE.md "How a data-parallel run flows").
//
// The rule: row i of the training split belongs to rank i mod N and is row i / N of that rank's
// shard (the shard keeps the split's row order). The split itself is data/split.hpp's, computed
// on every rank from the source's rows and --data-seed, so every rank agrees on it without
// talking. Validation rows are scored per epoch by the same rule (rank r scores rows r, r + N,
// ...; the per-label TP / FP / FN counts are all-reduced), and every rank holds the whole
// validation split, which is 10% of the rows by default; the test split is kept by rank 0 only.
// The final threshold tuning and evaluation run on rank 0 over the whole validation and test
// splits in their row order: the same code and the same numbers as one process.
//
// With one process (SingleProcess) the shard is the whole split and every collective is the
// identity: the single-process run is this code with N = 1.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "longtail/metrics.hpp"

#include "dataset.hpp"
#include "distributed/communicator.hpp"

namespace longtail_train {

/// The rank that holds row `row` of the training split among `size` ranks, and where in its shard.
inline int shard_owner(std::int64_t row, int size) { return int(row % size); }
inline std::int64_t shard_position(std::int64_t row, int size) { return row / size; }

/// The rows of 0..rows-1 that rank `rank` of `size` holds, ascending: rank, rank + size, ...
std::vector<Eigen::Index> shard_rows(Eigen::Index rows, int rank, int size);

/// What train_model reads. With one process: the three splits. With N ranks: this rank's shard of
/// the training rows, the whole validation split, the whole test split on rank 0 (0 rows
/// elsewhere), and what the whole training split is (rows, description, fingerprint), which no
/// rank can compute from its shard.
struct TrainingData {
  const Dataset* train = nullptr;       ///< this rank's training rows (all of them with one process)
  const Dataset* validation = nullptr;  ///< the whole validation split, on every rank
  const Dataset* test = nullptr;        ///< the whole test split on rank 0; 0 rows elsewhere
  Eigen::Index train_rows = 0;          ///< rows of the whole training split
  std::string train_description;        ///< describe_data() of the whole training split
  std::uint64_t fingerprint = 0;        ///< of the whole training and validation splits (checkpoints)
};

/// The one-process view of `splits` (pointers into it: keep it alive).
TrainingData whole_data(const Splits& splits);

/// The splits as one rank of `comm` keeps them (see the file comment): built from the loaded
/// splits, which are released as soon as the shard is cut (the readers and the generator produce
/// whole splits: the TF-IDF of the embedded data and of --tsv is fitted on all training rows, and
/// the split rule needs the source's row count).
class DataShard {
 public:
  DataShard(Splits&& loaded, const Communicator& comm);
  const TrainingData& view() const { return view_; }
  /// Bytes of this rank's training rows (features and labels: values, column indices, row offsets).
  std::int64_t train_bytes() const;

 private:
  Dataset train_, validation_, test_;
  TrainingData view_;
};

/// Positives per label of the whole training split, from each rank's shard: the int64 counts are
/// all-reduced, so the class weights computed from them are those of one process.
Eigen::ArrayXd global_label_counts(const Dataset& shard, Communicator& comm);

/// Per-label confusion counts at a global threshold (what the per-epoch validation macro-F1 is
/// made of), exact integers so that the ranks' counts add up without rounding.
struct LabelCounts {
  Eigen::Array<std::int64_t, Eigen::Dynamic, 1> tp, fp, fn;
};
/// Counted with longtail::metrics' conventions: predicted when p > threshold, positive when y > 0.5.
LabelCounts label_confusion(const RowMatrix<float>& probabilities, const RowMatrix<float>& targets, double threshold);
/// Adds the ranks' counts (in place, every rank gets the sum).
void allreduce(LabelCounts& counts, Communicator& comm);
/// Micro and macro P / R / F1 of the counts, by the same formulas as longtail::metrics::f1_scores
/// (macro: the mean over all labels of the per-label values; zero_division 0): for the counts of
/// all rows the numbers are f1_scores' own, bit for bit.
longtail::metrics::F1Scores f1_from_counts(const LabelCounts& counts);

/// Throws std::runtime_error when the ranks' parameter vectors differ (a double sum per rank,
/// compared bit for bit across the ranks): the cheap check that the ranks stayed in sync.
void check_parameters_in_sync(const Eigen::VectorXf& params, Communicator& comm, int epoch);

}  // namespace longtail_train
