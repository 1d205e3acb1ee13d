// SPDX-License-Identifier: Apache-2.0
#include "sweep_entry_io.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace longtail_train {

namespace {
constexpr std::uint8_t kNoTieMetric = 0xFF;  // a RuleReport whose ties went to the simplest rule
}  // namespace

void ByteWriter::raw(const void* p, std::size_t n) {
  if (n) bytes_.append(static_cast<const char*>(p), n);
}

void ByteWriter::str(const std::string& s) {
  u64(s.size());
  raw(s.data(), s.size());
}

void ByteWriter::doubles(const Eigen::ArrayXd& a) {
  u64(std::uint64_t(a.size()));
  raw(a.data(), std::size_t(a.size()) * sizeof(double));
}

void ByteWriter::doubles(const std::vector<double>& v) {
  u64(v.size());
  raw(v.data(), v.size() * sizeof(double));
}

void ByteReader::fail(const std::string& what) const {
  throw sweep_io_error(source_ + ": " + what + " (at byte " + std::to_string(pos_) + " of " +
                       std::to_string(bytes_.size()) + ")");
}

void ByteReader::raw(void* p, std::size_t n, const char* field) {
  if (n > left()) fail(std::string("truncated in the ") + field);
  // No memcpy from / into a null pointer of an empty array (UBSan).
  if (n) std::memcpy(p, bytes_.data() + pos_, n);
  pos_ += n;
}

std::uint8_t ByteReader::u8(const char* field) {
  std::uint8_t v;
  raw(&v, 1, field);
  return v;
}
std::uint32_t ByteReader::u32(const char* field) {
  std::uint32_t v;
  raw(&v, sizeof v, field);
  return v;
}
std::uint64_t ByteReader::u64(const char* field) {
  std::uint64_t v;
  raw(&v, sizeof v, field);
  return v;
}
std::int64_t ByteReader::i64(const char* field) {
  std::int64_t v;
  raw(&v, sizeof v, field);
  return v;
}
double ByteReader::f64(const char* field) {
  double v;
  raw(&v, sizeof v, field);
  return v;
}

std::size_t ByteReader::count(const char* field, std::size_t item_size) {
  const std::uint64_t n = u64(field);
  if (n > left() / item_size)
    fail(std::string("the ") + field + " announces " + std::to_string(n) + " items, more than the " +
         std::to_string(left()) + " bytes left");
  return std::size_t(n);
}

std::string ByteReader::str(const char* field) {
  std::string s(count(field, 1), '\0');
  raw(s.data(), s.size(), field);
  return s;
}

Eigen::ArrayXd ByteReader::array(const char* field) {
  Eigen::ArrayXd a(Eigen::Index(count(field, sizeof(double))));
  raw(a.data(), std::size_t(a.size()) * sizeof(double), field);
  return a;
}

std::vector<double> ByteReader::vector(const char* field) {
  std::vector<double> v(count(field, sizeof(double)));
  raw(v.data(), v.size() * sizeof(double), field);
  return v;
}

namespace {

enum : std::uint8_t { kEntry = 1, kFailure = 2 };

void write_prf(ByteWriter& w, const longtail::metrics::PRF& p) {
  w.f64(p.precision);
  w.f64(p.recall);
  w.f64(p.f1);
}

longtail::metrics::PRF read_prf(ByteReader& r) {
  longtail::metrics::PRF p;
  p.precision = r.f64("precision");
  p.recall = r.f64("recall");
  p.f1 = r.f64("F1");
  return p;
}

void write_metrics(ByteWriter& w, const ThresholdedMetrics& m) {
  write_prf(w, m.f1.micro);
  write_prf(w, m.f1.macro);
  write_prf(w, m.f1.samples);
  w.doubles(m.f1.label_precision);
  w.doubles(m.f1.label_recall);
  w.doubles(m.f1.label_f1);
  w.doubles(m.f1.label_support);
  w.u64(m.buckets.size());
  for (const auto& b : m.buckets) {
    w.str(b.name);
    w.f64(b.min_count);
    w.f64(b.max_count);
    w.i64(std::int64_t(b.labels));
    w.f64(b.macro_f1);
  }
}

ThresholdedMetrics read_metrics(ByteReader& r) {
  ThresholdedMetrics m;
  m.f1.micro = read_prf(r);
  m.f1.macro = read_prf(r);
  m.f1.samples = read_prf(r);
  m.f1.label_precision = r.array("per-label precision");
  m.f1.label_recall = r.array("per-label recall");
  m.f1.label_f1 = r.array("per-label F1");
  m.f1.label_support = r.array("per-label support");
  const Eigen::Index labels = m.f1.label_f1.size();
  if (m.f1.label_precision.size() != labels || m.f1.label_recall.size() != labels ||
      m.f1.label_support.size() != labels)
    r.fail("the per-label arrays have different lengths");
  const std::uint64_t buckets = r.u64("bucket count");
  if (buckets > 64) r.fail("implausible bucket count " + std::to_string(buckets));
  for (std::uint64_t i = 0; i < buckets; ++i) {
    longtail::metrics::BucketF1 b;
    b.name = r.str("bucket name");
    b.min_count = r.f64("bucket minimum count");
    b.max_count = r.f64("bucket maximum count");
    b.labels = Eigen::Index(r.i64("bucket label count"));
    b.macro_f1 = r.f64("bucket macro-F1");
    if (b.labels < 0 || b.labels > labels)
      r.fail("bucket '" + b.name + "' has " + std::to_string(b.labels) + " labels");
    m.buckets.push_back(std::move(b));
  }
  return m;
}

void write_evaluation(ByteWriter& w, const SplitEvaluation& e) {
  w.str(e.split);
  w.i64(std::int64_t(e.rows));
  write_metrics(w, e.global);
  write_metrics(w, e.tuned);
  w.str(e.rule);
  w.u8(e.cross_fitted ? 1 : 0);
  const auto& k = e.ranking.k;
  w.u64(k.size());
  for (int v : k) w.i64(v);
  w.doubles(e.ranking.precision);
  w.doubles(e.ranking.ndcg);
  w.doubles(e.ranking.ps_precision);
  w.doubles(e.ranking.ps_ndcg);
}

SplitEvaluation read_evaluation(ByteReader& r) {
  SplitEvaluation e;
  e.split = r.str("split name");
  e.rows = Eigen::Index(r.i64("split rows"));
  if (e.rows < 0) r.fail("negative row count of split '" + e.split + "'");
  e.global = read_metrics(r);
  e.tuned = read_metrics(r);
  e.rule = r.str("decision rule");
  const std::uint8_t cross_fitted = r.u8("cross-fitted flag");
  if (cross_fitted > 1) r.fail("cross-fitted flag is " + std::to_string(cross_fitted));
  e.cross_fitted = cross_fitted == 1;
  const std::uint64_t ks = r.u64("ranking k count");
  if (ks > 64) r.fail("implausible ranking k count " + std::to_string(ks));
  for (std::uint64_t i = 0; i < ks; ++i) {
    const std::int64_t k = r.i64("ranking k");
    if (k < 1 || k > std::numeric_limits<int>::max()) r.fail("ranking k " + std::to_string(k));
    e.ranking.k.push_back(int(k));
  }
  e.ranking.precision = r.vector("P@k");
  e.ranking.ndcg = r.vector("nDCG@k");
  e.ranking.ps_precision = r.vector("PSP@k");
  e.ranking.ps_ndcg = r.vector("PSnDCG@k");
  for (const auto* v : {&e.ranking.precision, &e.ranking.ndcg, &e.ranking.ps_precision, &e.ranking.ps_ndcg})
    if (v->size() != ks) r.fail("a ranking metric does not have one value per k");
  return e;
}

/// The decision rules of a configuration (decision_rules.hpp's RuleReport): each rule as tuned on
/// all validation rows (kind, at-least-one, thresholds, t_g), its cross-fitted validation and its
/// test metrics and the standard error of its validation score; which one was chosen, which was
/// best, how, by which F1 and tolerance, with how many folds, and the note.
void write_rules(ByteWriter& w, const RuleReport& report) {
  w.u64(report.rules.size());
  for (const auto& rule : report.rules) {
    w.u8(std::uint8_t(rule.fitted.rule.kind));
    w.u8(rule.fitted.rule.at_least_one ? 1 : 0);
    w.doubles(rule.fitted.thresholds);
    w.f64(rule.fitted.global_threshold);
    write_metrics(w, rule.validation);
    write_metrics(w, rule.test);
    w.f64(rule.validation_se);
  }
  w.u64(report.chosen);
  w.u64(report.best);
  w.f64(report.tolerance_se);
  w.u8(report.automatic ? 1 : 0);
  w.u8(std::uint8_t(report.metric));
  w.u8(report.tie_metric ? std::uint8_t(*report.tie_metric) : kNoTieMetric);
  w.i64(report.folds);
  w.str(report.note);
}

RuleReport read_rules(ByteReader& r) {
  RuleReport report;
  const std::uint64_t n = r.u64("decision rule count");
  if (n > all_rules().size()) r.fail("implausible decision rule count " + std::to_string(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    RuleEvaluation rule;
    const std::uint8_t kind = r.u8("decision rule kind");
    if (kind > std::uint8_t(ThresholdKind::per_label)) r.fail("decision rule kind " + std::to_string(kind));
    rule.fitted.rule.kind = ThresholdKind(kind);
    const std::uint8_t at_least_one = r.u8("at-least-one flag");
    if (at_least_one > 1) r.fail("at-least-one flag is " + std::to_string(at_least_one));
    rule.fitted.rule.at_least_one = at_least_one == 1;
    rule.fitted.thresholds = r.array("decision rule thresholds");
    rule.fitted.global_threshold = r.f64("global threshold");
    rule.validation = read_metrics(r);
    rule.test = read_metrics(r);
    rule.validation_se = r.f64("validation standard error");
    if (!(rule.validation_se >= 0 && rule.validation_se <= 1))
      r.fail("validation standard error " + std::to_string(rule.validation_se));
    report.rules.push_back(std::move(rule));
  }
  report.chosen = std::size_t(r.u64("chosen decision rule"));
  if (!report.rules.empty() && report.chosen >= report.rules.size())
    r.fail("chosen decision rule " + std::to_string(report.chosen) + " of " + std::to_string(report.rules.size()));
  report.best = std::size_t(r.u64("best decision rule"));
  if (!report.rules.empty() && report.best >= report.rules.size())
    r.fail("best decision rule " + std::to_string(report.best) + " of " + std::to_string(report.rules.size()));
  report.tolerance_se = r.f64("decision rule tolerance");
  if (!(report.tolerance_se >= 0) || !std::isfinite(report.tolerance_se))
    r.fail("decision rule tolerance " + std::to_string(report.tolerance_se));
  const std::uint8_t automatic = r.u8("automatic flag");
  if (automatic > 1) r.fail("automatic flag is " + std::to_string(automatic));
  report.automatic = automatic == 1;
  const std::uint8_t metric = r.u8("decision rule metric");
  if (metric > std::uint8_t(F1Average::macro_micro)) r.fail("decision rule metric " + std::to_string(metric));
  report.metric = F1Average(metric);
  const std::uint8_t tie = r.u8("tie-break metric");
  if (tie != kNoTieMetric && tie > std::uint8_t(F1Average::macro_micro))
    r.fail("tie-break metric " + std::to_string(tie));
  if (tie != kNoTieMetric) report.tie_metric = F1Average(tie);
  const std::int64_t folds = r.i64("cross-fitting folds");
  if (folds < 0 || folds > 1000000) r.fail("cross-fitting folds " + std::to_string(folds));
  report.folds = int(folds);
  report.note = r.str("decision rule note");
  return report;
}

SweepOutcome read_outcome(ByteReader& r) {
  SweepOutcome o;
  o.index = std::size_t(r.u64("configuration index"));
  const std::uint8_t kind = r.u8("outcome kind");
  const std::uint8_t kept = r.u8("kept flag");
  if (kept > 1) r.fail("kept flag is " + std::to_string(kept));
  o.kept = kept == 1;
  if (kind == kFailure) {
    o.error = r.str("error message");
    return o;
  }
  if (kind != kEntry) r.fail("outcome kind " + std::to_string(kind) + " (expected 1 or 2)");
  SweepEntry e;
  e.name = r.str("configuration name");
  const std::int64_t best = r.i64("best epoch"), run = r.i64("epochs run");
  if (run < 0 || run > 1000000 || best < 0 || best > run)
    r.fail("best epoch " + std::to_string(best) + " of " + std::to_string(run));
  e.best_epoch = int(best);
  e.epochs_done = int(run);
  const std::uint8_t early = r.u8("early-stop flag");
  if (early > 1) r.fail("early-stop flag is " + std::to_string(early));
  e.early_stopped = early == 1;
  e.seconds = r.f64("seconds");
  e.train_seconds_per_epoch = r.f64("training seconds per epoch");
  e.weights_fnv1a = r.u64("weights fingerprint");
  e.validation = read_evaluation(r);
  e.test = read_evaluation(r);
  e.rules = read_rules(r);
  o.entry = std::move(e);
  return o;
}

}  // namespace

void write_outcome(std::string& out, const SweepOutcome& o) {
  ByteWriter w;
  w.u64(o.index);
  w.u8(o.entry ? kEntry : kFailure);
  w.u8(o.kept ? 1 : 0);
  if (!o.entry) {
    w.str(o.error);
  } else {
    const SweepEntry& e = *o.entry;
    w.str(e.name);
    w.i64(e.best_epoch);
    w.i64(e.epochs_done);
    w.u8(e.early_stopped ? 1 : 0);
    w.f64(e.seconds);
    w.f64(e.train_seconds_per_epoch);
    w.u64(e.weights_fnv1a);
    write_evaluation(w, e.validation);
    write_evaluation(w, e.test);
    write_rules(w, e.rules);
  }
  out += w.bytes();
}

std::string write_outcomes(const std::vector<SweepOutcome>& outcomes) {
  ByteWriter w;
  w.u64(outcomes.size());
  for (const auto& o : outcomes) write_outcome(w.bytes(), o);
  return std::move(w.bytes());
}

std::vector<SweepOutcome> read_outcomes(std::string_view bytes, const std::string& source) {
  ByteReader r(bytes, source);
  const std::uint64_t n = r.u64("outcome count");
  // An outcome takes at least 18 bytes (index, kind, kept, an empty message's length).
  if (n > r.left() / 18)
    r.fail("announces " + std::to_string(n) + " outcomes in " + std::to_string(r.left()) + " bytes");
  std::vector<SweepOutcome> out;
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(read_outcome(r));
  if (!r.done()) r.fail("unexpected bytes after the last outcome");
  return out;
}

}  // namespace longtail_train
