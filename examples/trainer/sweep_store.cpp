// SPDX-License-Identifier: Apache-2.0
#include "sweep_store.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "checkpoint.hpp"
#include "common/durable_file.hpp"
#include "common/fnv1a.hpp"
#include "data/data_error.hpp"
#include "data/file_open.hpp"
#include "data_source.hpp"
#include "sweep_entry_io.hpp"

namespace longtail_train {
namespace {

constexpr char kResultMagic[8] = {'L', 'T', 'S', 'W', 'R', 'E', 'S', '\x1a'};
constexpr std::uint32_t kResultVersion = 3;  // 2: the decision rules' standard errors; 3: their tie-break
constexpr std::uint32_t kByteOrder = 0x01020304;
constexpr const char* kSettingsFile = "sweep.settings";
constexpr const char* kSettingsHeader = "longtail-train sweep settings, version 1";
/// Checkpoints take at most ~10% of a configuration's time (TrainConfig::checkpoint_overhead).
constexpr double kCheckpointOverhead = 0.1;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

/// One "key<TAB>value" line: backslash, tab and newline escaped.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string unescape(const std::string& s, const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) throw sweep_io_error(path + ": a line ends with a lone backslash");
    if (s[i] == '\\')
      out += '\\';
    else if (s[i] == 't')
      out += '\t';
    else if (s[i] == 'n')
      out += '\n';
    else
      throw sweep_io_error(path + ": unknown escape \\" + std::string(1, s[i]));
  }
  return out;
}

std::string read_file(const std::string& path, const char* what) {
  try {
    return read_input_file(path, what);
  } catch (const data_error& e) {
    throw sweep_io_error(e.what());
  }
}

}  // namespace

void check_same_settings(const Settings& expected, const Settings& stored, const std::string& path) {
  for (const auto& [key, value] : expected) {
    const std::string* was = nullptr;
    for (const auto& [k, v] : stored)
      if (k == key) was = &v;
    if (was && *was == value) continue;
    const std::string advice =
        " (run with the same settings and data, or leave out --resume to start the sweep again, or use another --out)";
    if (key.size() > 12 && key.compare(key.size() - 12, 12, " fingerprint") == 0)
      throw resume_error("--resume: " + path + " was written for other " + key.substr(0, key.size() - 12) +
                         " (same description, different contents)" + advice);
    throw resume_error("--resume: " + path + " was written by a sweep with " + key + " = '" +
                       (was ? *was : std::string("(not recorded)")) + "' but this run has '" + value + "'" + advice);
  }
}

Settings SweepStore::shared_settings(const TrainConfig& base, const Splits& data) {
  Settings s;
  for (auto& kv : base.resume_settings(data))
    if (kv.first != "loss") s.push_back(std::move(kv));  // each configuration has its own
  s.emplace_back("--epochs", std::to_string(base.epochs));
  s.emplace_back("--patience", std::to_string(base.patience));
  s.emplace_back("--buckets", number(base.buckets.medium_from) + "," + number(base.buckets.head_from));
  // The decision rules do not change training, but they are part of each result kept.
  s.emplace_back("--rule", base.rules.rule ? base.rules.rule->name() : std::string("auto"));
  s.emplace_back("--metric", to_string(base.rules.metric));
  s.emplace_back("--rule-shrinkage", number(base.rules.shrinkage));
  s.emplace_back("--rule-min-positives", std::to_string(base.rules.min_positives));
  s.emplace_back("--rule-folds", std::to_string(base.rules.folds));
  s.emplace_back("--select-se", number(base.rules.tolerance_se));
  s.emplace_back("--tie-break", to_string(base.rules.tie_break));
  s.emplace_back("test data", describe_data(data.test));
  s.emplace_back("train data fingerprint", hex(fingerprint(data.train)));
  s.emplace_back("validation data fingerprint", hex(fingerprint(data.validation)));
  s.emplace_back("test data fingerprint", hex(fingerprint(data.test)));
  return s;
}

SweepStore::SweepStore(std::string directory, Settings shared)
    : directory_(std::move(directory)), shared_(std::move(shared)) {}

std::string SweepStore::checkpoint_path(const LossConfig& loss) const {
  return directory_ + "/" + loss.name() + ".ltck";
}

std::string SweepStore::result_path(const LossConfig& loss) const { return directory_ + "/" + loss.name() + ".result"; }

Settings SweepStore::settings_of(const LossConfig& loss) const {
  Settings s = shared_;
  s.emplace_back("loss", loss.describe());
  return s;
}

int SweepStore::start_fresh() const {
  ensure_writable_directory(directory_, "sweep checkpoint folder");
  remove_stale_temporaries(directory_);
  int removed = 0;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(directory_, ec)) {
    const std::string ext = item.path().extension().string();
    const bool ours = ext == ".ltck" || ext == ".result" || item.path().filename() == kSettingsFile;
    if (ours && item.is_regular_file(ec)) {
      if (std::remove(item.path().c_str()) != 0)
        throw file_error("cannot remove '" + item.path().string() + "' of an earlier sweep");
      ++removed;
    }
  }
  if (ec) throw file_error("cannot list the sweep checkpoint folder '" + directory_ + "': " + ec.message());
  std::string text = std::string(kSettingsHeader) + "\n";
  for (const auto& [k, v] : shared_) text += escape(k) + "\t" + escape(v) + "\n";
  write_file_atomically(directory_ + "/" + kSettingsFile, text, "sweep settings");
  return removed;
}

bool SweepStore::check_resumable() const {
  const std::string path = directory_ + "/" + kSettingsFile;
  if (!exists(path)) return false;
  ensure_writable_directory(directory_, "sweep checkpoint folder");
  remove_stale_temporaries(directory_);
  std::istringstream in(read_file(path, "sweep settings"));
  std::string line;
  if (!std::getline(in, line) || line != kSettingsHeader)
    throw sweep_io_error(path + ": not a longtail-train sweep settings file (first line '" + line + "')");
  Settings stored;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) throw sweep_io_error(path + ": a line without a tab: '" + line + "'");
    stored.emplace_back(unescape(line.substr(0, tab), path), unescape(line.substr(tab + 1), path));
  }
  check_same_settings(shared_, stored, path);
  return true;
}

void SweepStore::write_result(const LossConfig& loss, const SweepEntry& entry) const {
  ByteWriter payload;
  const Settings settings = settings_of(loss);
  payload.u64(settings.size());
  for (const auto& [k, v] : settings) {
    payload.str(k);
    payload.str(v);
  }
  SweepOutcome outcome;
  outcome.entry = entry;
  payload.bytes() += write_outcomes({outcome});
  ByteWriter file;
  for (char c : kResultMagic) file.u8(std::uint8_t(c));
  file.u32(kResultVersion);
  file.u32(kByteOrder);
  file.u64(payload.bytes().size());
  file.bytes() += payload.bytes();
  file.u64(fnv1a64(payload.bytes().data(), payload.bytes().size()));
  write_file_atomically(result_path(loss), file.bytes(), "sweep result");
}

std::optional<SweepEntry> SweepStore::load_result(const LossConfig& loss) const {
  const std::string path = result_path(loss);
  if (!exists(path)) return std::nullopt;
  const std::string bytes = read_file(path, "sweep result");
  ByteReader head(bytes, path);
  for (char c : kResultMagic)
    if (head.u8("magic") != std::uint8_t(c)) head.fail("not a longtail-train sweep result (wrong magic bytes)");
  if (const auto version = head.u32("version"); version != kResultVersion)
    head.fail("format version " + std::to_string(version) + ", this longtail-train reads version " +
              std::to_string(kResultVersion));
  if (head.u32("byte order") != kByteOrder) head.fail("written on a machine with another byte order");
  const std::uint64_t size = head.u64("payload size");
  if (head.left() < 8 || size != head.left() - 8)
    head.fail("the header announces " + std::to_string(size) + " payload bytes (truncated or appended to)");
  const std::string_view payload = std::string_view(bytes).substr(bytes.size() - head.left(), size);
  std::uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + bytes.size() - 8, 8);
  if (checksum != fnv1a64(payload.data(), payload.size())) head.fail("checksum mismatch (file corrupted)");

  ByteReader r(payload, path);
  const std::uint64_t n = r.u64("settings count");
  if (n > 1000) r.fail("implausible settings count " + std::to_string(n));
  Settings stored;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k = r.str("setting name");
    stored.emplace_back(std::move(k), r.str("setting value"));
  }
  check_same_settings(settings_of(loss), stored, path);
  const std::size_t at = payload.size() - r.left();
  std::vector<SweepOutcome> outcomes = read_outcomes(payload.substr(at), path);
  if (outcomes.size() != 1 || !outcomes[0].entry) throw sweep_io_error(path + ": does not hold one finished entry");
  if (outcomes[0].entry->name != loss.name())
    throw sweep_io_error(path + ": holds the result of '" + outcomes[0].entry->name + "'");
  return std::move(outcomes[0].entry);
}

ConfigurationTask SweepStore::task(const Splits& data, const SweepOptions& options, bool resume,
                                   const std::string& line_prefix) const {
  return [store = *this, &data, options, resume, line_prefix](const TrainConfig& config, Progress& progress) {
    TrainConfig cfg = config;
    cfg.checkpoint_path = store.checkpoint_path(cfg.loss);
    cfg.checkpoint_overhead = kCheckpointOverhead;
    if (resume && exists(cfg.checkpoint_path)) {
      cfg.resume_path = cfg.checkpoint_path;
      Progress::print_line(line_prefix + "sweep: resume " + cfg.loss.name() + " from " + cfg.checkpoint_path);
    }
    SweepEntry entry = sweep_entry(cfg.loss, train_model(data, cfg, progress), options);
    store.write_result(cfg.loss, entry);
    return entry;
  };
}

}  // namespace longtail_train
