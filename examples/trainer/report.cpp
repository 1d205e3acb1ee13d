// SPDX-License-Identifier: Apache-2.0
#include "report.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "gemm.hpp"

namespace longtail_train {

namespace {

/// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned c = byte(0);
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c >= 0xE1 && c <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // JSON text is UTF-8: a byte that does not start a well-formed sequence (a label name
      // read from a Latin-1 file, say) becomes U+FFFD, so the output always parses.
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s, i, n);
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

namespace {

std::string metrics_json(const ThresholdedMetrics& m) {
  std::ostringstream os;
  os << "{\"micro_f1\": " << json_number(m.f1.micro.f1) << ", \"macro_f1\": " << json_number(m.f1.macro.f1)
     << ", \"samples_f1\": " << json_number(m.f1.samples.f1)
     << ", \"micro_precision\": " << json_number(m.f1.micro.precision)
     << ", \"micro_recall\": " << json_number(m.f1.micro.recall) << ", \"macro_f1_by_bucket\": {";
  for (std::size_t i = 0; i < m.buckets.size(); ++i) {
    const auto& b = m.buckets[i];
    os << (i ? ", " : "") << json_string(b.name) << ": {\"labels\": " << b.labels
       << ", \"min_count\": " << json_number(b.min_count) << ", \"max_count\": " << json_number(b.max_count)
       << ", \"macro_f1\": " << json_number(b.macro_f1) << "}";
  }
  os << "}}";
  return os.str();
}

}  // namespace

std::string evaluation_json(const SplitEvaluation& e) {
  std::ostringstream os;
  os << "{\"split\": " << json_string(e.split) << ", \"rows\": " << e.rows
     << ", \"threshold_0.5\": " << metrics_json(e.global) << ", \"rule\": " << json_string(e.rule)
     << ", \"rule_cross_fitted\": " << (e.cross_fitted ? "true" : "false")
     << ", \"tuned_thresholds\": " << metrics_json(e.tuned) << ", \"ranking\": {";
  const auto& r = e.ranking;
  for (std::size_t q = 0; q < r.k.size(); ++q) {
    const std::string k = std::to_string(r.k[q]);
    os << (q ? ", " : "") << "\"p@" << k << "\": " << json_number(r.precision[q]) << ", \"ndcg@" << k
       << "\": " << json_number(r.ndcg[q]) << ", \"psp@" << k << "\": " << json_number(r.ps_precision[q])
       << ", \"psndcg@" << k << "\": " << json_number(r.ps_ndcg[q]);
  }
  os << "}}";
  return os.str();
}

std::string rules_json(const RuleReport& report) {
  std::ostringstream os;
  os << "{\"chosen\": " << json_string(report.chosen_rule().fitted.rule.name())
     << ", \"automatic\": " << (report.automatic ? "true" : "false")
     << ", \"best\": " << json_string(report.rules.empty() ? "" : report.rules[report.best].fitted.rule.name())
     << ", \"within_standard_errors\": " << json_number(report.tolerance_se)
     << ", \"tie_break\": " << json_string(report.tie_metric ? to_string(*report.tie_metric) : "simplest")
     << ", \"metric\": " << json_string(to_string(report.metric)) << ", \"folds\": " << report.folds
     << ", \"note\": " << json_string(report.note) << ", \"rules\": [";
  for (std::size_t r = 0; r < report.rules.size(); ++r) {
    const RuleEvaluation& e = report.rules[r];
    const ThresholdKind kind = e.fitted.rule.kind;
    const bool has_global = kind == ThresholdKind::global || kind == ThresholdKind::shrunk;
    os << (r ? ",\n       " : "\n       ") << "{\"rule\": " << json_string(e.fitted.rule.name())
       << ", \"at_least_one\": " << (e.fitted.rule.at_least_one ? "true" : "false")
       << ", \"global_threshold\": " << (has_global ? json_number(e.fitted.global_threshold) : "null")
       << ", \"validation_cross_fitted\": " << metrics_json(e.validation)
       << ", \"validation_standard_error\": " << json_number(e.validation_se) << ", \"test\": " << metrics_json(e.test)
       << "}";
  }
  os << "]}";
  return os.str();
}

std::string format_summary(const TrainResult& r, const std::string& data_description) {
  std::ostringstream os;
  char line[256];
  os << "\n== " << r.name << " ==\n";
  os << "data:   " << data_description << "\n";
  os << "model:  MLP " << r.model.shape().to_string() << " (" << r.model.shape().parameter_count() << " parameters, "
     << (r.model.dense_input() ? "dense" : "sparse") << " input, GEMM: " << to_string(gemm_backend()) << ")\n";
  os << "loss:   " << r.loss_description << "\n";
  const bool validated = r.validation.rows > 0;
  char best[96] = "the last epoch is kept (no validation split)";
  if (validated && r.best_epoch > 0 && std::size_t(r.best_epoch) <= r.history.size())
    std::snprintf(best, sizeof best, "best %d (validation macro-F1 %.4f)", r.best_epoch,
                  r.history[std::size_t(r.best_epoch - 1)].val_macro_f1);
  std::snprintf(line, sizeof line, "epochs: %d run, %s%s; training %.3f s per epoch (%.3f s CPU); %.1f s in all\n",
                r.epochs_done, best, r.early_stopped ? ", stopped early" : "", r.train_seconds_per_epoch,
                r.train_cpu_seconds_per_epoch, r.seconds);
  os << line << "\n";
  if (validated) os << format_evaluation(r.validation) << "\n";
  os << format_evaluation(r.test);
  if (!r.rules.rules.empty()) os << "\n" << format_rules(r.rules);
  return os.str();
}

std::string result_json(const TrainResult& r, const std::string& data_description) {
  std::ostringstream js;
  js << "{\n  \"configuration\": " << json_string(r.name) << ",\n  \"loss\": " << json_string(r.loss_description)
     << ",\n  \"data\": " << json_string(data_description)
     << ",\n  \"model\": " << json_string(r.model.shape().to_string()) << ",\n  \"epochs_run\": " << r.epochs_done
     << ",\n  \"best_epoch\": " << r.best_epoch << ",\n  \"early_stopped\": " << (r.early_stopped ? "true" : "false")
     << ",\n  \"train_seconds_per_epoch\": " << json_number(r.train_seconds_per_epoch)
     << ",\n  \"train_cpu_seconds_per_epoch\": " << json_number(r.train_cpu_seconds_per_epoch)
     << ",\n  \"seconds\": " << json_number(r.seconds) << ",\n  \"validation\": " << evaluation_json(r.validation)
     << ",\n  \"test\": " << evaluation_json(r.test);
  if (!r.rules.rules.empty()) js << ",\n  \"decision_rules\": " << rules_json(r.rules);
  js << ",\n  \"warnings\": [";
  for (std::size_t i = 0; i < r.warnings.size(); ++i) js << (i ? ", " : "") << json_string(r.warnings[i]);
  js << "]\n}\n";
  return js.str();
}

std::string history_csv(const TrainResult& r) {
  std::ostringstream csv;
  csv << "epoch,train_loss,val_micro_f1,val_macro_f1,seconds,train_seconds,train_cpu_seconds\n";
  for (const auto& e : r.history) {
    char line[200];
    std::snprintf(line, sizeof line, "%d,%.8g,%.6f,%.6f,%.3f,%.3f,%.3f\n", e.epoch, e.train_loss, e.val_micro_f1,
                  e.val_macro_f1, e.seconds, e.train_seconds, e.train_cpu_seconds);
    csv << line;
  }
  return csv.str();
}

}  // namespace longtail_train
