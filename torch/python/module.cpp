// SPDX-License-Identifier: Apache-2.0
// longtail._C: the Python extension module. Thin bindings over longtail::torch (the losses as
// autograd Functions), class_weights.hpp and metrics.hpp; the Python package (longtail/*.py)
// wraps them into nn.Modules and functions with PyTorch's argument names. Errors:
// longtail::torch::type_error -> TypeError, every other longtail::invalid_argument -> ValueError
// (pybind11 maps std::invalid_argument to ValueError), with longtail's messages.

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include <torch/extension.h>

#include <Eigen/Core>

#include "longtail/class_weights.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/weighted_bce.hpp"
#include "longtail/metrics.hpp"
#include "longtail/torch/losses.hpp"
#include "prepared.hpp"  // torch/src: the CUDA launcher entry point for the raw-throughput baseline

namespace py = pybind11;
namespace lt = longtail::torch;

namespace {

using OptTensor = std::optional<at::Tensor>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

longtail::Reduction parse_reduction(const std::string& r) {
  if (r == "mean") return longtail::Reduction::mean;
  if (r == "sum") return longtail::Reduction::sum;
  if (r == "none") return longtail::Reduction::none;
  longtail::detail::fail("reduction must be 'none', 'mean' or 'sum' (got '", r, "')");
}

lt::LossTensors loss_tensors(const OptTensor& weight, const OptTensor& pos_weight, const OptTensor& mask,
                             const OptTensor& sample_weight) {
  lt::LossTensors t;
  if (weight) t.weight = *weight;
  if (pos_weight) t.pos_weight = *pos_weight;
  if (mask) t.mask = *mask;
  if (sample_weight) t.sample_weight = *sample_weight;
  return t;
}

void set_mean_divisor(std::optional<double>& field, std::optional<double> divisor) {
  if (divisor && !(std::isfinite(*divisor) && *divisor > 0))
    longtail::detail::fail("mean_divisor must be a finite number > 0 (got ", *divisor, ")");
  field = divisor;
}

at::Tensor weighted_bce(const at::Tensor& logits, const at::Tensor& targets, const OptTensor& weight,
                        const OptTensor& pos_weight, const OptTensor& mask, const OptTensor& sample_weight,
                        const std::string& reduction, double label_smoothing, std::optional<double> mean_divisor,
                        bool recompute, bool check_inputs) {
  longtail::WeightedBCEOptions o;
  o.reduction = parse_reduction(reduction);
  o.label_smoothing = label_smoothing;
  o.execution.check_inputs = check_inputs;
  set_mean_divisor(o.mean_divisor, mean_divisor);
  return lt::weighted_bce_with_logits(logits, targets, o, loss_tensors(weight, pos_weight, mask, sample_weight),
                                      recompute ? lt::GradMode::recompute : lt::GradMode::fused);
}

at::Tensor focal_bce(const at::Tensor& logits, const at::Tensor& targets, const OptTensor& weight,
                     const OptTensor& pos_weight, const OptTensor& mask, const OptTensor& sample_weight,
                     double gamma_pos, double gamma_neg, std::optional<double> alpha, double margin,
                     const std::string& reduction, double label_smoothing, std::optional<double> mean_divisor,
                     bool recompute, bool check_inputs) {
  longtail::FocalBCEOptions o;
  o.gamma_pos = gamma_pos;
  o.gamma_neg = gamma_neg;
  o.alpha = alpha;
  o.margin = margin;
  o.reduction = parse_reduction(reduction);
  o.label_smoothing = label_smoothing;
  o.execution.check_inputs = check_inputs;
  set_mean_divisor(o.mean_divisor, mean_divisor);
  return lt::focal_bce_with_logits(logits, targets, o, loss_tensors(weight, pos_weight, mask, sample_weight),
                                   recompute ? lt::GradMode::recompute : lt::GradMode::fused);
}

/// A float64 CPU copy (or view) of a tensor for the Eigen-side helpers.
at::Tensor as_double(const at::Tensor& t, const char* name, int dims) {
  if (t.dim() != dims) longtail::detail::fail(name, " must be ", dims, "-D (got ", t.dim(), " dimensions)");
  if (t.is_complex()) throw lt::type_error(std::string(name) + " must be a real or bool tensor");
  return t.detach().to(at::kCPU).to(at::kDouble).contiguous();
}

Eigen::Map<const RowMatrixXd> matrix(const at::Tensor& d) { return {d.data_ptr<double>(), d.size(0), d.size(1)}; }
Eigen::Map<const Eigen::ArrayXd> vector(const at::Tensor& d) { return {d.data_ptr<double>(), d.numel()}; }

at::Tensor to_tensor(const Eigen::ArrayXd& a) {
  at::Tensor t = at::empty({a.size()}, at::kDouble);
  std::copy(a.data(), a.data() + a.size(), t.data_ptr<double>());
  return t;
}

at::Tensor class_weights(const at::Tensor& counts, std::int64_t num_samples, const std::string& scheme, double cap,
                         double beta, bool normalize_mean, std::optional<double> zero_count_weight) {
  longtail::ClassWeightOptions o;
  const auto s = longtail::parse_weight_scheme(scheme);
  if (!s)
    longtail::detail::fail(
        "scheme must be one of uniform, pos_neg_ratio, inverse_frequency, sqrt_pos_neg_ratio, "
        "sqrt_inverse_frequency, effective_number (got '",
        scheme, "')");
  o.scheme = *s;
  o.cap = cap;
  o.beta = beta;
  o.normalize_mean = normalize_mean;
  o.zero_count_weight = zero_count_weight;
  const at::Tensor c = as_double(counts, "counts", 1);
  return to_tensor(longtail::class_weights<double>(vector(c), num_samples, o));
}

at::Tensor label_counts(const at::Tensor& targets) {
  const at::Tensor y = as_double(targets, "targets", 2);
  return to_tensor(longtail::label_counts(matrix(y)));
}

py::dict prf_dict(const longtail::metrics::PRF& r) {
  py::dict d;
  d["precision"] = r.precision;
  d["recall"] = r.recall;
  d["f1"] = r.f1;
  return d;
}

py::dict f1_scores(const at::Tensor& scores, const at::Tensor& targets, const at::Tensor& thresholds,
                   double zero_division) {
  const at::Tensor s = as_double(scores, "scores", 2), y = as_double(targets, "targets", 2);
  const at::Tensor h = as_double(thresholds, "thresholds", 1);
  longtail::metrics::MetricOptions o;
  o.zero_division = zero_division;
  const auto r = longtail::metrics::f1_scores(matrix(s), matrix(y), vector(h), o);
  py::dict d;
  d["micro"] = prf_dict(r.micro);
  d["macro"] = prf_dict(r.macro);
  d["samples"] = prf_dict(r.samples);
  d["label_precision"] = to_tensor(r.label_precision);
  d["label_recall"] = to_tensor(r.label_recall);
  d["label_f1"] = to_tensor(r.label_f1);
  d["label_support"] = to_tensor(r.label_support);
  return d;
}

at::Tensor tune_thresholds(const at::Tensor& scores, const at::Tensor& targets, double fallback,
                           std::int64_t min_positives) {
  const at::Tensor s = as_double(scores, "scores", 2), y = as_double(targets, "targets", 2);
  longtail::metrics::ThresholdSearch search;
  search.fallback = fallback;
  search.min_positives = min_positives;
  return to_tensor(longtail::metrics::tune_thresholds(matrix(s), matrix(y), search));
}

py::list frequency_bucket_f1(const at::Tensor& label_f1, const at::Tensor& train_counts, double medium_from,
                             double head_from) {
  const at::Tensor f = as_double(label_f1, "label_f1", 1), c = as_double(train_counts, "train_counts", 1);
  longtail::metrics::FrequencyBuckets b;
  b.medium_from = medium_from;
  b.head_from = head_from;
  py::list out;
  for (const auto& bucket : longtail::metrics::frequency_bucket_f1(vector(f), vector(c), b)) {
    py::dict d;
    d["name"] = bucket.name;
    d["min_count"] = bucket.min_count;
    d["max_count"] = bucket.max_count;
    d["labels"] = bucket.labels;
    d["macro_f1"] = bucket.macro_f1;
    out.append(d);
  }
  return out;
}

/// The CPU functor called directly on a contiguous float32 tensor pair, no autograd and no
/// tensor checks: the baseline of the adapter-overhead measurement (bench/bench_torch_adapter.py).
double raw_forward_backward(const std::string& loss, const at::Tensor& logits, const at::Tensor& targets,
                            at::Tensor& grad, double gamma) {
#ifdef LONGTAIL_TORCH_WITH_CUDA
  if (logits.is_cuda()) {
    // The launcher as longtail_torch calls it, minus autograd, the argument checks and the
    // backward's scaling: returns 0 (the loss stays on the device; reading it would synchronise).
    longtail::torch::detail::Prepared p;
    p.logits = logits;
    p.targets = targets;
    p.rows = logits.size(0);
    p.cols = logits.size(1);
    longtail::torch::detail::Outputs out;
    out.loss = at::empty({}, logits.options().dtype(at::kFloat));
    out.grad = grad;
    if (loss == "focal")
      longtail::torch::detail::cuda_evaluate(longtail::FocalBCEOptions::focal(gamma), p, out);
    else
      longtail::torch::detail::cuda_evaluate(longtail::WeightedBCEOptions{}, p, out);
    return 0.0;
  }
#endif
  if (logits.scalar_type() != at::kFloat || targets.scalar_type() != at::kFloat || grad.scalar_type() != at::kFloat ||
      !logits.is_contiguous() || !targets.is_contiguous() || !grad.is_contiguous() || !logits.is_cpu())
    longtail::detail::fail("_raw_forward_backward takes contiguous float32 CPU tensors");
  using Map = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  using MutMap = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  const Map x(logits.data_ptr<float>(), logits.size(0), logits.size(1));
  const Map y(targets.data_ptr<float>(), targets.size(0), targets.size(1));
  MutMap g(grad.data_ptr<float>(), grad.size(0), grad.size(1));
  if (loss == "focal") {
    auto o = longtail::FocalBCEOptions::focal(gamma);
    o.execution.threads = at::get_num_threads();
    return longtail::cpu::FocalBCE<float>(o).forward_backward(x, y, g);
  }
  longtail::WeightedBCEOptions o;
  o.execution.threads = at::get_num_threads();
  return longtail::cpu::WeightedBCE<float>(o).forward_backward(x, y, g);
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "longtail's losses, class weights and metrics for PyTorch (C++ extension)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lt::type_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
  using py::arg;
  m.def("weighted_bce", &weighted_bce, arg("logits"), arg("targets"), arg("weight"), arg("pos_weight"), arg("mask"),
        arg("sample_weight"), arg("reduction"), arg("label_smoothing"), arg("mean_divisor"), arg("recompute"),
        arg("check_inputs"));
  m.def("focal_bce", &focal_bce, arg("logits"), arg("targets"), arg("weight"), arg("pos_weight"), arg("mask"),
        arg("sample_weight"), arg("gamma_pos"), arg("gamma_neg"), arg("alpha"), arg("margin"), arg("reduction"),
        arg("label_smoothing"), arg("mean_divisor"), arg("recompute"), arg("check_inputs"));
  m.def("class_weights", &class_weights, arg("counts"), arg("num_samples"), arg("scheme"), arg("cap"), arg("beta"),
        arg("normalize_mean"), arg("zero_count_weight"));
  m.def("label_counts", &label_counts, arg("targets"));
  m.def("f1_scores", &f1_scores, arg("scores"), arg("targets"), arg("thresholds"), arg("zero_division"));
  m.def("tune_thresholds", &tune_thresholds, arg("scores"), arg("targets"), arg("fallback"), arg("min_positives"));
  m.def("frequency_bucket_f1", &frequency_bucket_f1, arg("label_f1"), arg("train_counts"), arg("medium_from"),
        arg("head_from"));
  m.def("_raw_forward_backward", &raw_forward_backward, arg("loss"), arg("logits"), arg("targets"), arg("grad"),
        arg("gamma"));
#ifdef LONGTAIL_TORCH_WITH_CUDA
  m.attr("with_cuda") = true;
#else
  m.attr("with_cuda") = false;
#endif
}
