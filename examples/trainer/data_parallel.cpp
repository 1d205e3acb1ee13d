// SPDX-License-Identifier: Apache-2.0
#include "data_parallel.hpp"

#include <cstring>
#include <stdexcept>
#include <utility>

#include "data/split.hpp"
#include "data_source.hpp"
#include "trainer.hpp"

namespace longtail_train {

std::vector<Eigen::Index> shard_rows(Eigen::Index rows, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("shard_rows: rank " + std::to_string(rank) + " of " + std::to_string(size));
  std::vector<Eigen::Index> out;
  out.reserve(std::size_t(rows / size + 1));
  for (Eigen::Index r = rank; r < rows; r += size) out.push_back(r);
  return out;
}

TrainingData whole_data(const Splits& s) {
  TrainingData d;
  d.train = &s.train;
  d.validation = &s.validation;
  d.test = &s.test;
  d.train_rows = s.train.rows();
  d.train_description = describe_data(s.train);
  d.fingerprint = fingerprint(s.train) ^ (fingerprint(s.validation) * 0x9E3779B97F4A7C15ull);
  return d;
}

namespace {

/// A split with no rows and the columns (and names) of `d`.
Dataset empty_like(const Dataset& d) { return select_rows(d, {}, d.name); }

}  // namespace

DataShard::DataShard(Splits&& loaded, const Communicator& comm) {
  const TrainingData whole = whole_data(loaded);
  if (comm.size() == 1) {
    train_ = std::move(loaded.train);
  } else {
    // Cut the shard, then release the whole training split at once.
    train_ = select_rows(loaded.train, shard_rows(loaded.train.rows(), comm.rank(), comm.size()), loaded.train.name);
    loaded.train = Dataset();
  }
  train_.features.makeCompressed();
  train_.labels.makeCompressed();
  validation_ = std::move(loaded.validation);
  test_ = comm.is_root() ? std::move(loaded.test) : empty_like(loaded.test);
  view_ = whole;
  view_.train = &train_;
  view_.validation = &validation_;
  view_.test = &test_;
}

std::int64_t DataShard::train_bytes() const {
  std::int64_t bytes = 0;
  for (const SparseRowMatrix* m : {&train_.features, &train_.labels})
    bytes += std::int64_t(m->nonZeros()) * std::int64_t(sizeof(float) + sizeof(std::int32_t)) +
             std::int64_t(m->outerSize() + 1) * std::int64_t(sizeof(std::int32_t));
  return bytes;
}

Eigen::ArrayXd global_label_counts(const Dataset& shard, Communicator& comm) {
  std::vector<std::int64_t> n(std::size_t(shard.num_labels()), 0);
  const SparseRowMatrix& y = shard.labels;
  for (Eigen::Index r = 0; r < y.outerSize(); ++r)
    for (SparseRowMatrix::InnerIterator it(y, r); it; ++it)
      if (it.value() > 0.5f) ++n[std::size_t(it.col())];
  comm.allreduce_sum(n.data(), n.size());
  Eigen::ArrayXd out(y.cols());
  for (Eigen::Index j = 0; j < out.size(); ++j) out[j] = double(n[std::size_t(j)]);
  return out;
}

LabelCounts label_confusion(const RowMatrix<float>& p, const RowMatrix<float>& y, double threshold) {
  if (p.rows() != y.rows() || p.cols() != y.cols())
    throw std::invalid_argument("label_confusion: probabilities and targets differ in shape");
  const Eigen::Index L = p.cols();
  LabelCounts c{decltype(LabelCounts::tp)::Zero(L), decltype(LabelCounts::fp)::Zero(L),
                decltype(LabelCounts::fn)::Zero(L)};
  for (Eigen::Index i = 0; i < p.rows(); ++i)
    for (Eigen::Index j = 0; j < L; ++j) {
      const bool pred = double(p(i, j)) > threshold, truth = double(y(i, j)) > 0.5;
      c.tp[j] += pred && truth;
      c.fp[j] += pred && !truth;
      c.fn[j] += !pred && truth;
    }
  return c;
}

void allreduce(LabelCounts& c, Communicator& comm) {
  const std::size_t L = std::size_t(c.tp.size());
  std::vector<std::int64_t> all(3 * L);  // one collective for the three
  for (std::size_t j = 0; j < L; ++j) {
    all[j] = c.tp[Eigen::Index(j)];
    all[L + j] = c.fp[Eigen::Index(j)];
    all[2 * L + j] = c.fn[Eigen::Index(j)];
  }
  comm.allreduce_sum(all.data(), all.size());
  for (std::size_t j = 0; j < L; ++j) {
    c.tp[Eigen::Index(j)] = all[j];
    c.fp[Eigen::Index(j)] = all[L + j];
    c.fn[Eigen::Index(j)] = all[2 * L + j];
  }
}

longtail::metrics::F1Scores f1_from_counts(const LabelCounts& c) {
  namespace m = longtail::metrics;
  const Eigen::Index L = c.tp.size();
  const Eigen::ArrayXd tp = c.tp.cast<double>(), fp = c.fp.cast<double>(), fn = c.fn.cast<double>();
  m::F1Scores out;
  out.micro = m::detail::prf(tp.sum(), fp.sum(), fn.sum(), 0.0);
  out.label_precision.resize(L);
  out.label_recall.resize(L);
  out.label_f1.resize(L);
  for (Eigen::Index j = 0; j < L; ++j) {
    const m::PRF r = m::detail::prf(tp[j], fp[j], fn[j], 0.0);
    out.label_precision[j] = r.precision;
    out.label_recall[j] = r.recall;
    out.label_f1[j] = r.f1;
  }
  out.label_support = tp + fn;
  if (L > 0) out.macro = {out.label_precision.mean(), out.label_recall.mean(), out.label_f1.mean()};
  return out;
}

void check_parameters_in_sync(const Eigen::VectorXf& params, Communicator& comm, int epoch) {
  if (comm.size() == 1) return;
  const double sum = params.cast<double>().sum();
  std::string mine(sizeof sum, '\0');
  std::memcpy(mine.data(), &sum, sizeof sum);
  const std::vector<std::string> all = comm.all_gather(mine);
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw std::runtime_error("data-parallel training: the parameters of rank " + std::to_string(r) +
                               " differ from rank 0's after epoch " + std::to_string(epoch) +
                               " (their checksums differ); the ranks no longer train one model");
}

}  // namespace longtail_train
