// SPDX-License-Identifier: Apache-2.0
#include "checkpoint.hpp"

#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/durable_file.hpp"
#include "common/fnv1a.hpp"
#include "data/data_error.hpp"
#include "data/file_open.hpp"
#include "decision_rules.hpp"

namespace longtail_train {
namespace {

constexpr char kMagic[8] = {'L', 'T', 'T', 'R', 'A', 'I', 'N', '\x1a'};
constexpr std::uint32_t kByteOrder = 0x01020304u;

std::uint64_t fnv1a64(std::string_view bytes) { return longtail_train::fnv1a64(bytes.data(), bytes.size()); }

/// Appends typed fields to a byte string.
class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    bytes_.append(s);
  }
  template <class V>
  void array(const V& v) {
    using S = typename V::Scalar;
    pod<std::uint64_t>(static_cast<std::uint64_t>(v.size()));
    bytes_.append(reinterpret_cast<const char*>(v.data()), sizeof(S) * std::size_t(v.size()));
  }
  void reserve(std::size_t n) { bytes_.reserve(n); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

/// Reads typed fields back, with bounds checks that name the file.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  template <class T>
  T pod(const char* field) {
    T v;
    need(sizeof v, field);
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string str(const char* field) {
    const auto n = pod<std::uint64_t>(field);
    need(n, field);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <class V>
  V array(const char* field, std::uint64_t expected = UINT64_MAX) {
    using S = typename V::Scalar;
    const auto n = pod<std::uint64_t>(field);
    if (expected != UINT64_MAX && n != expected)
      fail(std::string(field) + " has " + std::to_string(n) + " entries, expected " + std::to_string(expected));
    if (n > (bytes_.size() - pos_) / sizeof(S)) fail(std::string("truncated while reading ") + field);
    V v(static_cast<Eigen::Index>(n));
    if (n > 0) std::memcpy(v.data(), bytes_.data() + pos_, sizeof(S) * n);  // an empty array has no data()
    pos_ += sizeof(S) * n;
    return v;
  }
  bool done() const { return pos_ == bytes_.size(); }
  [[noreturn]] void fail(const std::string& what) const { throw checkpoint_error(path_ + ": bad checkpoint: " + what); }

 private:
  void need(std::uint64_t n, const char* field) {
    if (n > bytes_.size() - pos_) fail(std::string("truncated while reading ") + field);
  }
  std::string_view bytes_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

/// Appends the payload to `w`.
void write_payload(Writer& w, const Checkpoint& c) {
  const TrainingState& t = c.state;
  w.pod<std::uint64_t>(c.settings.size());
  for (const auto& [k, v] : c.settings) {
    w.str(k);
    w.str(v);
  }
  w.str(c.data);
  w.pod<std::uint64_t>(c.data_fingerprint);
  w.pod<std::int64_t>(c.shape.inputs);
  w.pod<std::uint64_t>(c.shape.hidden.size());
  for (auto h : c.shape.hidden) w.pod<std::int64_t>(h);
  w.pod<std::int64_t>(c.shape.outputs);
  w.pod<std::uint8_t>(c.dense_input);
  w.array(t.params);
  w.pod<std::int64_t>(t.adam_steps);
  w.array(t.adam_m);
  w.array(t.adam_v);
  w.pod<std::int32_t>(t.epochs_done);
  w.pod<std::uint8_t>(t.finished);
  w.array(t.best_params);
  w.pod<std::int32_t>(t.best_epoch);
  w.pod<double>(t.best_score);
  w.pod<std::int32_t>(t.epochs_without_improvement);
  w.pod<std::uint64_t>(t.history.size());
  for (const auto& e : t.history) {
    w.pod<std::int32_t>(e.epoch);
    w.pod<double>(e.train_loss);
    w.pod<double>(e.val_macro_f1);
    w.pod<double>(e.val_micro_f1);
    w.pod<double>(e.seconds);
    w.pod<double>(e.train_seconds);
    w.pod<double>(e.train_cpu_seconds);
  }
  w.array(c.thresholds);
  w.pod<std::uint64_t>(c.label_names.size());
  for (const auto& n : c.label_names) w.str(n);
  w.array(c.train_label_counts);
  // Version 2: the text featurizer (a presence byte, then its settings and idf).
  w.pod<std::uint8_t>(c.featurizer.has_value());
  if (c.featurizer) {
    const TextFeaturizerConfig& f = c.featurizer->config();
    w.pod<std::int32_t>(f.num_buckets);
    w.pod<std::uint8_t>(f.bigrams);
    w.pod<std::int32_t>(f.min_token_length);
    w.pod<std::uint8_t>(f.sublinear_tf);
    w.pod<std::uint8_t>(f.use_idf);
    w.pod<std::uint8_t>(c.featurizer->fitted());
    const std::vector<float>& idf = c.featurizer->idf();
    w.array(Eigen::Map<const Eigen::VectorXf>(idf.data(), Eigen::Index(idf.size())));
  }
  // Version 3: the decision rule the thresholds belong to, and its at-least-one setting.
  w.str(c.rule);
  w.pod<std::uint8_t>(c.at_least_one);
  // Version 4: the training rows of the label counts.
  w.pod<std::int64_t>(c.train_rows);
}

/// Largest model a checkpoint may describe: 2^31 - 1 parameters (Eigen::Index arithmetic on
/// the flat vector stays exact far beyond; the limit keeps a corrupt shape from asking for
/// exabytes).
constexpr std::int64_t kMaxParameters = (std::int64_t{1} << 31) - 1;

/// Parameter count of a shape read from a file, without overflow; -1 when above kMaxParameters.
std::int64_t checked_parameter_count(const MlpShape& s) {
  std::int64_t total = 0;
  for (std::size_t l = 0; l < s.layers(); ++l) {
    const std::int64_t fan_in = s.fan_in(l), fan_out = s.fan_out(l);
    if (fan_in > kMaxParameters || fan_out > kMaxParameters) return -1;
    const std::int64_t layer = (fan_in + 1) * fan_out;  // both <= 2^31: fits in 63 bits
    if (layer > kMaxParameters - total) return -1;
    total += layer;
  }
  return total;
}

bool all_finite(const Eigen::Ref<const Eigen::ArrayXd>& a) { return a.isFinite().all(); }

bool flag(Reader& r, const char* field) {
  const auto b = r.pod<std::uint8_t>(field);
  if (b > 1) r.fail(std::string(field) + " is " + std::to_string(b) + ", expected 0 or 1");
  return b != 0;
}

/// The featurizer section: every setting in its range, one bucket per model input, idf finite
/// and positive (the smooth idf is >= 1; anything else was not written by fit()).
void read_featurizer(Reader& r, Checkpoint& c) {
  if (!flag(r, "featurizer presence")) return;
  TextFeaturizerConfig f;
  f.num_buckets = r.pod<std::int32_t>("featurizer bucket count");
  f.bigrams = flag(r, "featurizer bigrams");
  f.min_token_length = r.pod<std::int32_t>("featurizer minimum token length");
  f.sublinear_tf = flag(r, "featurizer sublinear tf");
  f.use_idf = flag(r, "featurizer use_idf");
  const bool fitted = flag(r, "featurizer fitted");
  try {
    f.validate();
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("text featurizer: ") + e.what());
  }
  if (f.num_buckets != c.shape.inputs)
    r.fail("text featurizer has " + std::to_string(f.num_buckets) + " hash buckets, the model " +
           std::to_string(c.shape.inputs) + " inputs");
  const Eigen::VectorXf idf =
      r.array<Eigen::VectorXf>("featurizer idf", fitted ? std::uint64_t(f.num_buckets) : std::uint64_t{0});
  if (!idf.allFinite() || (idf.array() <= 0).any()) r.fail("a text featurizer idf is not a finite positive number");
  if (f.use_idf && !fitted) r.fail("text featurizer uses idf but was never fitted");
  TextFeaturizer featurizer(f);
  if (fitted) featurizer.set_idf(std::vector<float>(idf.data(), idf.data() + idf.size()));
  c.featurizer = std::move(featurizer);
}

}  // namespace

std::string TrainingState::check(Eigen::Index parameter_count) const {
  auto count = [&](const char* name, Eigen::Index n) -> std::string {
    return n == parameter_count ? ""
                                : std::string(name) + " has " + std::to_string(n) + " entries, the model " +
                                      std::to_string(parameter_count);
  };
  for (const auto& [name, v] : {std::pair<const char*, const Eigen::VectorXf*>{"parameters", &params},
                                {"best parameters", &best_params},
                                {"Adam first moment", &adam_m},
                                {"Adam second moment", &adam_v}}) {
    if (std::string e = count(name, v->size()); !e.empty()) return e;
    if (!v->allFinite()) return std::string(name) + " hold a non-finite value (NaN or infinity)";
  }
  if ((adam_v.array() < 0).any()) return "Adam second moment holds a negative value";
  if (adam_steps < 0) return "Adam step count is " + std::to_string(adam_steps);
  if (epochs_done < 0 || epochs_done > 1000000) return "epochs_done is " + std::to_string(epochs_done);
  if (best_epoch < 0 || best_epoch > epochs_done)
    return "best epoch " + std::to_string(best_epoch) + " is outside 0.." + std::to_string(epochs_done);
  if (epochs_without_improvement < 0 || epochs_without_improvement > epochs_done)
    return "epochs without improvement " + std::to_string(epochs_without_improvement) + " is outside 0.." +
           std::to_string(epochs_done);
  if (!(best_score == -1 || (best_score >= 0 && best_score <= 1)))
    return "best score " + std::to_string(best_score) + " is not a macro-F1 (or -1)";
  if (history.size() != std::size_t(epochs_done))
    return "history has " + std::to_string(history.size()) + " epochs, epochs_done is " + std::to_string(epochs_done);
  for (std::size_t i = 0; i < history.size(); ++i)
    if (history[i].epoch != int(i) + 1) return "history line " + std::to_string(i + 1) + " is for another epoch";
  return "";
}

std::string Checkpoint::setting(const std::string& key) const {
  for (const auto& [k, v] : settings)
    if (k == key) return v;
  return "";
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  // One buffer, sized once: a model's checkpoint is mostly its four parameter-sized vectors, and
  // every copy of them (string growth, concatenation) costs page faults on fresh memory; a
  // search saves after every epoch of every configuration.
  const TrainingState& t = c.state;
  const std::size_t vectors =
      sizeof(float) * std::size_t(t.params.size() + t.adam_m.size() + t.adam_v.size() + t.best_params.size()) +
      sizeof(double) * std::size_t(c.thresholds.size() + c.train_label_counts.size()) +
      (c.featurizer ? sizeof(float) * c.featurizer->idf().size() : 0);
  Writer file;
  file.reserve(vectors + (std::size_t(1) << 16));
  file.pod(kMagic);
  file.pod<std::uint32_t>(Checkpoint::kVersion);
  file.pod<std::uint32_t>(kByteOrder);
  const std::size_t size_at = file.bytes().size();
  file.pod<std::uint64_t>(0);  // the payload size, written below
  const std::size_t header = file.bytes().size();
  write_payload(file, c);
  std::string& bytes = file.bytes();
  const std::uint64_t size = bytes.size() - header;
  std::memcpy(&bytes[size_at], &size, sizeof size);
  const std::uint64_t checksum = fnv1a64(std::string_view(bytes).substr(header));
  bytes.append(reinterpret_cast<const char*>(&checksum), sizeof checksum);
  try {
    write_file_atomically(path, bytes, "checkpoint");
  } catch (const file_error& e) {
    throw checkpoint_error(e.what());
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  std::string file;
  try {
    file = read_input_file(path, "checkpoint");
  } catch (const data_error& e) {
    throw checkpoint_error(e.what());
  }
  Reader head(file, path);
  char magic[8];
  for (char& ch : magic) ch = head.pod<char>("magic");
  if (std::memcmp(magic, kMagic, 8) != 0) head.fail("not a longtail-train checkpoint (wrong magic bytes)");
  const auto version = head.pod<std::uint32_t>("version");
  if (version < 1 || version > Checkpoint::kVersion)
    head.fail("format version " + std::to_string(version) + ", this longtail-train reads versions 1 to " +
              std::to_string(Checkpoint::kVersion));
  if (head.pod<std::uint32_t>("byte order") != kByteOrder) head.fail("written on a machine with another byte order");
  const auto size = head.pod<std::uint64_t>("payload size");
  constexpr std::size_t header_bytes = 8 + 4 + 4 + 8;
  if (size > file.size() || file.size() != header_bytes + size + 8)
    head.fail("file has " + std::to_string(file.size()) + " bytes, the header announces " +
              std::to_string(header_bytes + size + 8) + " (truncated or appended to)");
  // A view, not a copy: a model's checkpoint is mostly its four parameter-sized vectors (140 MB
  // for the default text model), and predict's start-up is this load.
  const std::string_view payload = std::string_view(file).substr(header_bytes, size);
  std::uint64_t checksum;
  std::memcpy(&checksum, file.data() + header_bytes + size, sizeof checksum);
  if (checksum != fnv1a64(payload)) head.fail("checksum mismatch (file corrupted)");

  Reader r(payload, path);
  Checkpoint c;
  TrainingState& t = c.state;
  const auto n_settings = r.pod<std::uint64_t>("settings count");
  for (std::uint64_t i = 0; i < n_settings; ++i) {
    std::string k = r.str("setting name");
    c.settings.emplace_back(std::move(k), r.str("setting value"));
  }
  c.data = r.str("data description");
  if (version >= 2) c.data_fingerprint = r.pod<std::uint64_t>("data fingerprint");
  c.shape.inputs = r.pod<std::int64_t>("inputs");
  const auto layers = r.pod<std::uint64_t>("hidden layer count");
  if (layers > 64) r.fail("implausible hidden layer count " + std::to_string(layers));
  for (std::uint64_t i = 0; i < layers; ++i) c.shape.hidden.push_back(r.pod<std::int64_t>("hidden size"));
  c.shape.outputs = r.pod<std::int64_t>("outputs");
  c.dense_input = r.pod<std::uint8_t>("dense_input") != 0;
  if (c.shape.inputs <= 0 || c.shape.outputs <= 0) r.fail("bad model shape " + c.shape.to_string());
  for (auto h : c.shape.hidden)
    if (h <= 0) r.fail("bad model shape " + c.shape.to_string());
  const std::int64_t parameters = checked_parameter_count(c.shape);
  if (parameters < 0)
    r.fail("model " + c.shape.to_string() + " has more than " + std::to_string(kMaxParameters) + " parameters");
  const auto P = static_cast<std::uint64_t>(parameters);
  t.params = r.array<Eigen::VectorXf>("parameters", P);
  t.adam_steps = r.pod<std::int64_t>("adam steps");
  t.adam_m = r.array<Eigen::VectorXf>("adam first moment", P);
  t.adam_v = r.array<Eigen::VectorXf>("adam second moment", P);
  t.epochs_done = r.pod<std::int32_t>("epochs done");
  t.finished = r.pod<std::uint8_t>("finished") != 0;
  t.best_params = r.array<Eigen::VectorXf>("best parameters", P);
  t.best_epoch = r.pod<std::int32_t>("best epoch");
  t.best_score = r.pod<double>("best score");
  t.epochs_without_improvement = r.pod<std::int32_t>("epochs without improvement");
  const auto n_history = r.pod<std::uint64_t>("history length");
  if (n_history > 1000000) r.fail("implausible history length " + std::to_string(n_history));
  for (std::uint64_t i = 0; i < n_history; ++i) {
    EpochRecord e;
    e.epoch = r.pod<std::int32_t>("history epoch");
    e.train_loss = r.pod<double>("history loss");
    e.val_macro_f1 = r.pod<double>("history macro-F1");
    e.val_micro_f1 = r.pod<double>("history micro-F1");
    e.seconds = r.pod<double>("history seconds");
    e.train_seconds = r.pod<double>("history training seconds");
    e.train_cpu_seconds = r.pod<double>("history training CPU seconds");
    t.history.push_back(e);
  }
  if (const std::string problem = t.check(Eigen::Index(P)); !problem.empty()) r.fail(problem);
  c.thresholds = r.array<Eigen::ArrayXd>("thresholds");
  if (c.thresholds.size() != 0 && c.thresholds.size() != c.shape.outputs) r.fail("thresholds do not match the labels");
  if (!all_finite(c.thresholds) || (c.thresholds < 0).any() || (c.thresholds > 1).any())
    r.fail("a threshold is not a probability in [0, 1] (NaN, infinite or out of range)");
  const auto n_names = r.pod<std::uint64_t>("label name count");
  if (n_names != 0 && n_names != static_cast<std::uint64_t>(c.shape.outputs))
    r.fail("label names do not match the labels");
  for (std::uint64_t i = 0; i < n_names; ++i) c.label_names.push_back(r.str("label name"));
  c.train_label_counts = r.array<Eigen::ArrayXd>("training label counts");
  if (c.train_label_counts.size() != 0 && c.train_label_counts.size() != c.shape.outputs)
    r.fail("training label counts do not match the labels");
  if (!all_finite(c.train_label_counts) || (c.train_label_counts < 0).any())
    r.fail("a training label count is negative or not finite");
  if (version >= 2) read_featurizer(r, c);
  if (version < 3 && c.thresholds.size() != 0) c.rule = "per-label";  // what versions 1 and 2 tuned
  if (version >= 3) {
    c.rule = r.str("decision rule");
    const auto rule = parse_rule(c.rule);
    if (!rule) r.fail("unknown decision rule '" + c.rule + "'");
    c.at_least_one = r.pod<std::uint8_t>("at least one") != 0;
    if (rule->at_least_one != c.at_least_one)
      r.fail("decision rule '" + c.rule + "' and its at-least-one flag disagree");
  }
  if (version >= 4) {
    c.train_rows = r.pod<std::int64_t>("training rows");
    if (c.train_rows < 0) r.fail("the training rows are negative (" + std::to_string(c.train_rows) + ")");
    if (c.train_rows > 0 && c.train_label_counts.size() != 0 && (c.train_label_counts > double(c.train_rows)).any())
      r.fail("a training label count exceeds the " + std::to_string(c.train_rows) + " training rows");
  }
  if (!r.done()) r.fail("unexpected bytes after the last field");
  return c;
}

}  // namespace longtail_train
