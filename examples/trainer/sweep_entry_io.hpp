// SPDX-License-Identifier: Apache-2.0
#pragma once
// The binary form of a sweep configuration's outcome (sweep.hpp's SweepOutcome: its entry with
// every evaluation, or its failure), one format for the two places an outcome leaves the process
// that trained it: the results a rank sends to the others at the end of a distributed sweep
// (sweep_distribution.hpp) and the result file a configuration leaves when it finishes
// (sweep_store.hpp), so that a resumed sweep reports it without training it again.
//
// Exact: doubles travel as their 8 bytes, so an entry read back prints and ranks exactly like the
// one that was written. The loss configuration is not stored (the grid gives it: the index, or the
// name of the result file); the headline values are recomputed by the reader (set_headlines).
// Little-endian fields: u64 index | u8 kind (1 = entry, 2 = failure) | u8 kept | then a failure's
// message, or the entry: name, best epoch, epochs run, early stop, seconds, training seconds per
// epoch, the weights' FNV-1a, the validation and the test SplitEvaluation (split, rows, the metrics at 0.5 and at the
// decision rule: P / R / F1 micro, macro, samples, the per-label arrays, the buckets; the rule's
// name and whether its validation metrics are cross-fitted; the ranking metrics), and the
// decision rules' report (every rule's thresholds, validation and test metrics; the chosen one). Readers check every
// length against the bytes left and name the source.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "sweep.hpp"

namespace longtail_train {

class sweep_io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Little-endian fields appended to a byte string (the host is little-endian: the result file's
/// byte-order mark refuses files from others).
class ByteWriter {
 public:
  void u8(std::uint8_t v) { raw(&v, 1); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void str(const std::string& s);
  void doubles(const Eigen::ArrayXd& a);
  void doubles(const std::vector<double>& v);
  std::string& bytes() { return bytes_; }

 private:
  void raw(const void* p, std::size_t n);
  std::string bytes_;
};

/// Reads what ByteWriter wrote, checking every length against the bytes left; errors name
/// `source` and the field.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}
  std::uint8_t u8(const char* field);
  std::uint32_t u32(const char* field);
  std::uint64_t u64(const char* field);
  std::int64_t i64(const char* field);
  double f64(const char* field);
  std::string str(const char* field);
  Eigen::ArrayXd array(const char* field);
  std::vector<double> vector(const char* field);
  bool done() const { return pos_ == bytes_.size(); }
  std::size_t left() const { return bytes_.size() - pos_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void raw(void* p, std::size_t n, const char* field);
  /// A count of items of `item_size` bytes each that the remaining bytes can hold.
  std::size_t count(const char* field, std::size_t item_size);
  std::string_view bytes_;
  std::string source_;
  std::size_t pos_ = 0;
};

/// Appends the binary form of `outcome` to `out`.
void write_outcome(std::string& out, const SweepOutcome& outcome);

/// The outcomes in `bytes` (written by write_outcomes). `source` names them in errors ("rank 1's
/// results", "result file x.result"). Throws sweep_io_error.
std::vector<SweepOutcome> read_outcomes(std::string_view bytes, const std::string& source);
/// u64 count + each outcome.
std::string write_outcomes(const std::vector<SweepOutcome>& outcomes);

}  // namespace longtail_train
