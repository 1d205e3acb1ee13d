// SPDX-License-Identifier: Apache-2.0
#include "text_predict.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <utility>

#include "decision_rules.hpp"
#include "inference.hpp"
#include "report.hpp"

namespace longtail_train {
namespace {

/// Lines of a stream read in blocks: no per-character stream calls, and a line longer than the
/// limit is refused before it is held in memory whole.
class LineReader {
 public:
  LineReader(std::istream& in, const std::string& source, std::size_t max_line_bytes)
      : in_(in), source_(source), max_(max_line_bytes), block_(std::size_t{1} << 16) {}

  /// The next line into `line` (without '\n' and one trailing '\r'); false at the end.
  bool next(std::string& line) {
    line.clear();
    bool any = false;  // bytes (or a newline) seen for this line
    for (;;) {
      if (pos_ == end_ && !refill()) {
        if (!any) return false;
        break;  // last line without a newline
      }
      any = true;
      const char* begin = block_.data() + pos_;
      const char* newline = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
      const std::size_t n = newline ? std::size_t(newline - begin) : end_ - pos_;
      if (line.size() + n > max_ + 1)  // + 1: a '\r' that will be dropped
        throw text_input_error(source_ + " line " + std::to_string(number_ + 1) + ": longer than " +
                               std::to_string(max_) + " bytes (one document per line)");
      line.append(begin, n);
      pos_ += n;
      if (newline) {
        ++pos_;
        break;
      }
    }
    ++number_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > max_)
      throw text_input_error(source_ + " line " + std::to_string(number_) + ": longer than " + std::to_string(max_) +
                             " bytes (one document per line)");
    if (number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    return true;
  }
  std::size_t number() const { return number_; }

 private:
  bool refill() {
    pos_ = 0;
    end_ = std::size_t(in_.rdbuf() ? in_.rdbuf()->sgetn(block_.data(), std::streamsize(block_.size())) : 0);
    if (in_.bad()) throw text_input_error(source_ + ": read error after line " + std::to_string(number_));
    return end_ > 0;
  }

  std::istream& in_;
  const std::string& source_;
  std::size_t max_;
  std::vector<char> block_;
  std::size_t pos_ = 0, end_ = 0, number_ = 0;
};

}  // namespace

TextPredictor::TextPredictor(const Mlp<float>& model, const TextFeaturizer& featurizer, Eigen::ArrayXd thresholds,
                             std::vector<std::string> label_names, TextPredictOptions options)
    : model_(model), featurizer_(featurizer), thresholds_(std::move(thresholds)), options_(options) {
  const Eigen::Index labels = model.shape().outputs;
  if (featurizer.config().num_buckets != model.shape().inputs)
    throw std::invalid_argument("TextPredictor: the featurizer has " + std::to_string(featurizer.config().num_buckets) +
                                " buckets, the model " + std::to_string(model.shape().inputs) + " inputs");
  if (thresholds_.size() == 0) thresholds_ = Eigen::ArrayXd::Constant(labels, 0.5);
  if (thresholds_.size() != labels)
    throw std::invalid_argument("TextPredictor: " + std::to_string(thresholds_.size()) + " thresholds for " +
                                std::to_string(labels) + " labels");
  if (!label_names.empty() && label_names.size() != std::size_t(labels))
    throw std::invalid_argument("TextPredictor: " + std::to_string(label_names.size()) + " label names for " +
                                std::to_string(labels) + " labels");
  if (options_.top < 1) throw std::invalid_argument("TextPredictor: top must be >= 1");
  if (options_.batch_rows < 1) throw std::invalid_argument("TextPredictor: batch_rows must be >= 1");
  names_.reserve(std::size_t(labels));
  for (Eigen::Index j = 0; j < labels; ++j)
    names_.push_back(json_string(label_names.empty() ? std::to_string(j) : label_names[std::size_t(j)]));
}

RowMatrix<float> TextPredictor::probabilities(const std::vector<std::string>& texts) const {
  SparseRowMatrix x = featurizer_.transform(texts);
  x.makeCompressed();
  return predict_probabilities(model_, x);
}

std::string TextPredictor::json_line(std::size_t line_number, const float* p) const {
  const auto labels = std::size_t(thresholds_.size());
  // Most probable first; equal probabilities in index order, so the output is deterministic.
  auto more_probable = [p](std::size_t a, std::size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); };
  std::vector<std::size_t> order(labels);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const std::size_t k = std::min(std::size_t(options_.top), labels);
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(), more_probable);
  std::string s = "{\"line\": " + std::to_string(line_number) + ", \"top\": [";
  char number[32];
  for (std::size_t r = 0; r < k; ++r) {
    const std::size_t j = order[r];
    std::snprintf(number, sizeof number, "%.4f", double(p[j]));
    s += (r ? ", {\"label\": " : "{\"label\": ") + names_[j] + ", \"index\": " + std::to_string(j) +
         ", \"p\": " + number + "}";
  }
  s += "], \"predicted\": [";
  std::vector<std::size_t> above;
  for (std::size_t j = 0; j < labels; ++j)
    if (double(p[j]) > thresholds_[Eigen::Index(j)]) above.push_back(j);
  if (above.empty() && options_.at_least_one && labels > 0)
    above.push_back(std::size_t(top_label(p, Eigen::Index(labels))));
  std::sort(above.begin(), above.end(), more_probable);
  for (std::size_t r = 0; r < above.size(); ++r) s += (r ? ", " : "") + names_[above[r]];
  s += "]}";
  return s;
}

std::size_t TextPredictor::run(std::istream& in, const std::string& source, std::ostream& out) const {
  LineReader reader(in, source, options_.max_line_bytes);
  std::vector<std::string> batch;
  batch.reserve(options_.batch_rows);
  std::size_t done = 0;
  std::string text, lines;
  auto flush = [&] {
    if (batch.empty()) return;
    const RowMatrix<float> p = probabilities(batch);
    lines.clear();
    for (Eigen::Index i = 0; i < p.rows(); ++i) {
      lines += json_line(done + std::size_t(i) + 1, p.row(i).data());
      lines += '\n';
    }
    out << lines;
    out.flush();
    if (!out) throw text_input_error("predict: cannot write the output (after line " + std::to_string(done) + ")");
    done += batch.size();
    batch.clear();
  };
  while (reader.next(text)) {
    batch.push_back(std::move(text));
    text = std::string();
    if (batch.size() == options_.batch_rows) flush();
  }
  flush();
  return done;
}

}  // namespace longtail_train
