// SPDX-License-Identifier: Apache-2.0
#include "checkpoint.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <type_traits>

#include <unistd.h>

namespace longtail_train {
namespace {

constexpr char kMagic[8] = {'L', 'T', 'T', 'R', 'A', 'I', 'N', '\x1a'};
constexpr std::uint32_t kByteOrder = 0x01020304u;

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

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
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

/// Reads typed fields back, with bounds checks that name the file.
class Reader {
 public:
  Reader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}
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
    std::string s = bytes_.substr(pos_, n);
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
    std::memcpy(v.data(), bytes_.data() + pos_, sizeof(S) * n);
    pos_ += sizeof(S) * n;
    return v;
  }
  bool done() const { return pos_ == bytes_.size(); }
  [[noreturn]] void fail(const std::string& what) const { throw checkpoint_error(path_ + ": bad checkpoint: " + what); }

 private:
  void need(std::uint64_t n, const char* field) {
    if (n > bytes_.size() - pos_) fail(std::string("truncated while reading ") + field);
  }
  const std::string& bytes_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

std::string payload_of(const Checkpoint& c) {
  Writer w;
  w.pod<std::uint64_t>(c.settings.size());
  for (const auto& [k, v] : c.settings) {
    w.str(k);
    w.str(v);
  }
  w.str(c.data);
  w.pod<std::int64_t>(c.shape.inputs);
  w.pod<std::uint64_t>(c.shape.hidden.size());
  for (auto h : c.shape.hidden) w.pod<std::int64_t>(h);
  w.pod<std::int64_t>(c.shape.outputs);
  w.pod<std::uint8_t>(c.dense_input);
  w.array(c.params);
  w.pod<std::int64_t>(c.adam_steps);
  w.array(c.adam_m);
  w.array(c.adam_v);
  w.pod<std::int32_t>(c.epochs_done);
  w.pod<std::uint8_t>(c.finished);
  w.array(c.best_params);
  w.pod<std::int32_t>(c.best_epoch);
  w.pod<double>(c.best_score);
  w.pod<std::int32_t>(c.epochs_without_improvement);
  w.pod<std::uint64_t>(c.history.size());
  for (const auto& e : c.history) {
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
  return w.bytes();
}

}  // namespace

std::string Checkpoint::setting(const std::string& key) const {
  for (const auto& [k, v] : settings)
    if (k == key) return v;
  return "";
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string payload = payload_of(c);
  Writer head;
  head.pod(kMagic);
  head.pod<std::uint32_t>(Checkpoint::kVersion);
  head.pod<std::uint32_t>(kByteOrder);
  head.pod<std::uint64_t>(payload.size());
  const std::uint64_t checksum = fnv1a64(payload);

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw checkpoint_error(path + ": cannot write checkpoint (" + what + ": " + reason + ")");
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("open");
  bool ok = std::fwrite(head.bytes().data(), 1, head.bytes().size(), f) == head.bytes().size() &&
            std::fwrite(payload.data(), 1, payload.size(), f) == payload.size() &&
            std::fwrite(&checksum, sizeof checksum, 1, f) == 1 && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  if (std::fclose(f) != 0) ok = false;
  if (!ok) fail("write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

Checkpoint load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw checkpoint_error(path + ": cannot open checkpoint (" + std::strerror(errno) + ")");
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader head(file, path);
  char magic[8];
  for (char& ch : magic) ch = head.pod<char>("magic");
  if (std::memcmp(magic, kMagic, 8) != 0) head.fail("not a longtail-train checkpoint (wrong magic bytes)");
  const auto version = head.pod<std::uint32_t>("version");
  if (version != Checkpoint::kVersion)
    head.fail("format version " + std::to_string(version) + ", this longtail-train reads version " +
              std::to_string(Checkpoint::kVersion));
  if (head.pod<std::uint32_t>("byte order") != kByteOrder) head.fail("written on a machine with another byte order");
  const auto size = head.pod<std::uint64_t>("payload size");
  constexpr std::size_t header_bytes = 8 + 4 + 4 + 8;
  if (file.size() != header_bytes + size + 8)
    head.fail("file has " + std::to_string(file.size()) + " bytes, the header announces " +
              std::to_string(header_bytes + size + 8) + " (truncated or appended to)");
  const std::string payload = file.substr(header_bytes, size);
  std::uint64_t checksum;
  std::memcpy(&checksum, file.data() + header_bytes + size, sizeof checksum);
  if (checksum != fnv1a64(payload)) head.fail("checksum mismatch (file corrupted)");

  Reader r(payload, path);
  Checkpoint c;
  const auto n_settings = r.pod<std::uint64_t>("settings count");
  for (std::uint64_t i = 0; i < n_settings; ++i) {
    std::string k = r.str("setting name");
    c.settings.emplace_back(std::move(k), r.str("setting value"));
  }
  c.data = r.str("data description");
  c.shape.inputs = r.pod<std::int64_t>("inputs");
  const auto layers = r.pod<std::uint64_t>("hidden layer count");
  if (layers > 64) r.fail("implausible hidden layer count " + std::to_string(layers));
  for (std::uint64_t i = 0; i < layers; ++i) c.shape.hidden.push_back(r.pod<std::int64_t>("hidden size"));
  c.shape.outputs = r.pod<std::int64_t>("outputs");
  c.dense_input = r.pod<std::uint8_t>("dense_input") != 0;
  if (c.shape.inputs <= 0 || c.shape.outputs <= 0) r.fail("bad model shape " + c.shape.to_string());
  for (auto h : c.shape.hidden)
    if (h <= 0) r.fail("bad model shape " + c.shape.to_string());
  const auto P = static_cast<std::uint64_t>(c.shape.parameter_count());
  c.params = r.array<Eigen::VectorXf>("parameters", P);
  c.adam_steps = r.pod<std::int64_t>("adam steps");
  c.adam_m = r.array<Eigen::VectorXf>("adam first moment", P);
  c.adam_v = r.array<Eigen::VectorXf>("adam second moment", P);
  c.epochs_done = r.pod<std::int32_t>("epochs done");
  c.finished = r.pod<std::uint8_t>("finished") != 0;
  c.best_params = r.array<Eigen::VectorXf>("best parameters", P);
  c.best_epoch = r.pod<std::int32_t>("best epoch");
  c.best_score = r.pod<double>("best score");
  c.epochs_without_improvement = r.pod<std::int32_t>("epochs without improvement");
  const auto n_history = r.pod<std::uint64_t>("history length");
  if (n_history > 1000000) r.fail("implausible history length");
  for (std::uint64_t i = 0; i < n_history; ++i) {
    EpochRecord e;
    e.epoch = r.pod<std::int32_t>("history epoch");
    e.train_loss = r.pod<double>("history loss");
    e.val_macro_f1 = r.pod<double>("history macro-F1");
    e.val_micro_f1 = r.pod<double>("history micro-F1");
    e.seconds = r.pod<double>("history seconds");
    e.train_seconds = r.pod<double>("history training seconds");
    e.train_cpu_seconds = r.pod<double>("history training CPU seconds");
    c.history.push_back(e);
  }
  c.thresholds = r.array<Eigen::ArrayXd>("thresholds");
  if (c.thresholds.size() != 0 && c.thresholds.size() != c.shape.outputs) r.fail("thresholds do not match the labels");
  const auto n_names = r.pod<std::uint64_t>("label name count");
  if (n_names != 0 && n_names != static_cast<std::uint64_t>(c.shape.outputs))
    r.fail("label names do not match the labels");
  for (std::uint64_t i = 0; i < n_names; ++i) c.label_names.push_back(r.str("label name"));
  c.train_label_counts = r.array<Eigen::ArrayXd>("training label counts");
  if (!r.done()) r.fail("unexpected bytes after the last field");
  return c;
}

}  // namespace longtail_train
