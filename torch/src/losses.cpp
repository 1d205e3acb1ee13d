// SPDX-License-Identifier: Apache-2.0
// The autograd Functions behind longtail/torch/losses.hpp: argument checks, the CPU evaluation
// through the Eigen functors (strided Maps over the tensors' memory, no copies), the dispatch to
// the CUDA launchers (losses_cuda.cu) and the backward.

#include "longtail/torch/losses.hpp"

#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <Eigen/Core>

#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/weighted_bce.hpp"
#include "prepared.hpp"

namespace longtail::torch {
namespace {

using detail::Outputs;
using detail::Prepared;
using ::torch::autograd::AutogradContext;
using ::torch::autograd::variable_list;

std::string shape_of(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

[[noreturn]] void fail_type(const char* loss, const char* arg, const at::Tensor& t, const char* allowed) {
  std::ostringstream os;
  os << loss << ": " << arg << " has dtype " << t.scalar_type() << " but must be " << allowed;
  throw type_error(os.str());
}

template <class Options>
constexpr const char* loss_name() {
  if constexpr (std::is_same_v<Options, FocalBCEOptions>)
    return "FocalBCE";
  else
    return "WeightedBCE";
}

// ---- argument checks and normalisation -----------------------------------------------------------

bool is_float_dtype(at::ScalarType s) {
  return s == at::kFloat || s == at::kDouble || s == at::kHalf || s == at::kBFloat16;
}

/// A per-class vector of shape (C) or (1, C) as a 1-D tensor; nullopt-like undefined if absent.
at::Tensor class_vector(const char* loss, const char* arg, const at::Tensor& v, std::int64_t cols) {
  if (!v.defined()) return v;
  if (!v.is_floating_point() && v.scalar_type() != at::kLong && v.scalar_type() != at::kInt)
    fail_type(loss, arg, v, "a floating-point (or integer) tensor");
  const bool per_class = (v.dim() == 1 && v.size(0) == cols) || (v.dim() == 2 && v.size(0) == 1 && v.size(1) == cols);
  if (!per_class)
    longtail::detail::fail(loss, ": ", arg, " has shape ", shape_of(v), " but must be per class: (", cols, ") or (1, ",
                           cols, ")");
  return v.reshape({cols});
}

/// Everything the backends need, checked; tensors still in the caller's dtypes.
Prepared check_arguments(const char* loss, const at::Tensor& logits, const at::Tensor& targets, const LossTensors& t) {
  if (!logits.defined()) longtail::detail::fail(loss, ": logits is an undefined tensor");
  if (!targets.defined()) longtail::detail::fail(loss, ": targets is an undefined tensor");
  if (!is_float_dtype(logits.scalar_type())) fail_type(loss, "logits", logits, "float32, float64, float16 or bfloat16");
  if (logits.dim() != 2)
    longtail::detail::fail(loss, ": logits must be 2-D (samples x labels) here (got shape ", shape_of(logits), ")");
  if (!targets.sizes().equals(logits.sizes()))
    longtail::detail::fail(loss, ": targets has shape ", shape_of(targets), " but logits are ", shape_of(logits));
  if (targets.requires_grad())
    longtail::detail::fail(loss,
                           ": targets requires grad, but the gradient with respect to the targets is not "
                           "implemented (pass targets.detach())");
  if (targets.is_complex()) fail_type(loss, "targets", targets, "a real or bool tensor");
  Prepared p;
  p.rows = logits.size(0);
  p.cols = logits.size(1);
  const auto device = logits.device();
  auto same_device = [&](const char* arg, const at::Tensor& v) {
    if (v.defined() && v.device() != device) {
      std::ostringstream os;
      os << loss << ": " << arg << " is on " << v.device() << " but logits are on " << device;
      throw longtail::invalid_argument(os.str());
    }
  };
  same_device("targets", targets);
  same_device("weight", t.weight);
  same_device("pos_weight", t.pos_weight);
  same_device("mask", t.mask);
  same_device("sample_weight", t.sample_weight);
  for (auto [arg, v] : {std::pair<const char*, const at::Tensor*>{"weight", &t.weight},
                        {"pos_weight", &t.pos_weight},
                        {"sample_weight", &t.sample_weight}})
    if (v->defined() && v->requires_grad())
      longtail::detail::fail(loss, ": ", arg, " requires grad, but weights are constants here (pass ", arg,
                             ".detach())");
  p.logits = logits;
  p.targets = targets;
  // BCEWithLogitsLoss broadcasts `weight` over the input: (C) / (1, C) is per class, (N, 1) per row.
  at::Tensor row_weight;
  if (t.weight.defined() && t.weight.dim() == 2 && t.weight.size(1) == 1 && t.weight.size(0) == p.rows &&
      !(p.rows == 1 && p.cols == 1)) {
    row_weight = t.weight.reshape({p.rows});
  } else {
    p.weight = class_vector(loss, "weight", t.weight, p.cols);
  }
  p.pos_weight = class_vector(loss, "pos_weight", t.pos_weight, p.cols);
  if (t.mask.defined()) {
    if (!t.mask.sizes().equals(logits.sizes()))
      longtail::detail::fail(loss, ": mask has shape ", shape_of(t.mask), " but logits are ", shape_of(logits));
    if (t.mask.is_complex()) fail_type(loss, "mask", t.mask, "a bool or real tensor");
    p.mask = t.mask;
  }
  if (t.sample_weight.defined()) {
    const auto& w = t.sample_weight;
    if (!((w.dim() == 1 && w.size(0) == p.rows) || (w.dim() == 2 && w.size(0) == p.rows && w.size(1) == 1)))
      longtail::detail::fail(loss, ": sample_weight has shape ", shape_of(w), " but must be one weight per row: (",
                             p.rows, ") or (", p.rows, ", 1)");
    if (!w.is_floating_point() && w.scalar_type() != at::kLong && w.scalar_type() != at::kInt)
      fail_type(loss, "sample_weight", w, "a floating-point (or integer) tensor");
    p.sample_weight = w.reshape({p.rows});
  }
  if (row_weight.defined()) p.sample_weight = p.sample_weight.defined() ? p.sample_weight * row_weight : row_weight;
  return p;
}

/// bool tensors are read as their bytes (0/1), other non-uint8 masks as "!= 0".
at::Tensor as_byte_mask(const at::Tensor& m) {
  if (m.scalar_type() == at::kByte) return m;
  if (m.scalar_type() == at::kBool) return m.view(at::kByte);
  return m.ne(0).view(at::kByte);
}

// ---- CPU -----------------------------------------------------------------------------------------

template <class T>
using ConstRowMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                               Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
template <class T>
using RowMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                          Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

/// The tensor's own memory and strides (a transposed or sliced tensor is read in place).
template <class T>
ConstRowMap<T> const_map(const at::Tensor& t) {
  return ConstRowMap<T>(static_cast<const T*>(t.data_ptr()), t.size(0), t.size(1),
                        Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(t.stride(0), t.stride(1)));
}
template <class T>
RowMap<T> mutable_map(at::Tensor& t) {
  return RowMap<T>(static_cast<T*>(t.data_ptr()), t.size(0), t.size(1),
                   Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(t.stride(0), t.stride(1)));
}

/// CPU storage: float/double logits (half and bfloat16 through a float copy), targets of the
/// logits' type or uint8 (bool read as bytes), uint8 masks, contiguous per-row weights.
Prepared to_cpu_storage(Prepared p) {
  const at::ScalarType s = p.logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  if (p.logits.scalar_type() != s) p.logits = p.logits.to(s);
  const auto y = p.targets.scalar_type();
  if (y == at::kBool)
    p.targets = p.targets.view(at::kByte);
  else if (y != at::kByte && y != s)
    p.targets = p.targets.to(s);
  if (p.mask.defined()) p.mask = as_byte_mask(p.mask);
  if (p.sample_weight.defined()) p.sample_weight = p.sample_weight.to(s).contiguous();
  return p;
}

template <class S>
cpu::ClassVector<S> to_class_vector(const at::Tensor& v) {
  if (!v.defined()) return {};
  const at::Tensor d = v.to(at::kDouble).contiguous();
  cpu::ClassVector<S> out(d.numel());
  const double* src = d.data_ptr<double>();
  for (Eigen::Index j = 0; j < out.size(); ++j) out[j] = static_cast<S>(src[j]);
  return out;
}

template <class S>
struct CpuLoss;
template <>
struct CpuLoss<WeightedBCEOptions> {
  template <class S>
  using type = cpu::WeightedBCE<S>;
};
template <>
struct CpuLoss<FocalBCEOptions> {
  template <class S>
  using type = cpu::FocalBCE<S>;
};

/// Calls f(logits, targets, mask, sample_weight) with Eigen maps (longtail::no_mask / no_sample_weight when absent).
template <class S, class F>
S with_maps(const Prepared& p, F&& f) {
  const auto x = const_map<S>(p.logits);
  auto with_target = [&](const auto& y) -> S {
    auto with_mask = [&](const auto& m) -> S {
      if (p.sample_weight.defined()) {
        const Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>> w(p.sample_weight.data_ptr<S>(), p.rows);
        return f(x, y, m, w);
      }
      return f(x, y, m, longtail::no_sample_weight);
    };
    if (p.mask.defined()) return with_mask(const_map<std::uint8_t>(p.mask));
    return with_mask(longtail::no_mask);
  };
  if (p.targets.scalar_type() == at::kByte) return with_target(const_map<std::uint8_t>(p.targets));
  return with_target(const_map<S>(p.targets));
}

/// One pass of the CPU functor writing what `out` asks for (grad and elements never both).
template <class Options, class S>
void cpu_evaluate_as(const Options& options, const Prepared& p, Outputs& out) {
  Options o = options;
  o.execution.threads = at::get_num_threads();  // follow torch.set_num_threads
  const typename CpuLoss<Options>::template type<S> loss(o, to_class_vector<S>(p.weight),
                                                         to_class_vector<S>(p.pos_weight));
  S value;
  if (out.grad.defined()) {
    auto g = mutable_map<S>(out.grad);
    value = with_maps<S>(p, [&](const auto& x, const auto& y, const auto& m, const auto& w) {
      return loss.forward_backward(x, y, g, m, w);
    });
  } else if (out.elements.defined()) {
    auto e = mutable_map<S>(out.elements);
    value = with_maps<S>(p, [&](const auto& x, const auto& y, const auto& m, const auto& w) {
      return loss.forward_elements(x, y, e, m, w);
    });
  } else {
    value = with_maps<S>(
        p, [&](const auto& x, const auto& y, const auto& m, const auto& w) { return loss.forward(x, y, m, w); });
  }
  if (out.loss.defined()) out.loss.fill_(static_cast<double>(value));
}

template <class Options>
void cpu_evaluate(const Options& options, const Prepared& p, Outputs& out) {
  if (p.logits.scalar_type() == at::kDouble)
    cpu_evaluate_as<Options, double>(options, p, out);
  else
    cpu_evaluate_as<Options, float>(options, p, out);
}

// ---- one evaluation on either device --------------------------------------------------------------

/// Storage for the device; outputs allocated in the compute dtype (converted back by the caller).
Prepared to_device_storage(const Prepared& p) {
  if (p.logits.is_cuda()) return p;  // losses_cuda.cu converts (it knows what the kernels read)
  if (!p.logits.device().is_cpu()) {
    std::ostringstream os;
    os << "longtail: logits are on " << p.logits.device() << "; only CPU and CUDA tensors are supported";
    throw longtail::invalid_argument(os.str());
  }
  return to_cpu_storage(p);
}

template <class Options>
void evaluate(const Options& options, const Prepared& p, Outputs& out) {
  if (p.logits.is_cuda()) {
#ifdef LONGTAIL_TORCH_WITH_CUDA
    detail::cuda_evaluate(options, p, out);
#else
    longtail::detail::fail(loss_name<Options>(),
                           ": logits are a CUDA tensor but this longtail_torch was built without CUDA (it needs nvcc "
                           "and a CUDA-enabled libtorch at configure time)");
#endif
  } else {
    cpu_evaluate(options, p, out);
  }
}

/// The dtype the backend writes gradients / elements in (CPU: float for half and bfloat16).
at::ScalarType compute_dtype(const Prepared& p) {
  if (p.logits.is_cuda()) return p.logits.scalar_type();
  return p.logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// ---- autograd ------------------------------------------------------------------------------------

/// What a call needs in backward; kept in the autograd context as a capsule.
template <class Options>
struct SavedCall : ::torch::CustomClassHolder {
  Options options;
  Prepared prepared;  // device storage
  at::ScalarType logits_dtype = at::kFloat;
};

/// The forward and backward of one loss; the autograd Functions below (one per loss, so that
/// grad_fn prints as FocalBCEBackward / WeightedBCEBackward) forward to it.
template <class Options>
class LossFunction {
 public:
  // `logits` is the only differentiable input; everything else travels in `call`.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logits,
                            const c10::intrusive_ptr<SavedCall<Options>>& call, bool want_grad, bool recompute) {
    (void)logits;  // the same tensor as call->prepared.logits before conversion
    const Prepared& p = call->prepared;
    const auto dtype = compute_dtype(p);
    const auto opts = p.logits.options().dtype(dtype);
    const bool none = call->options.reduction == Reduction::none;
    Outputs out;
    at::Tensor result;
    if (none) {
      out.elements = at::empty({p.rows, p.cols}, opts);
      // The CUDA kernels write the per-element losses and their derivatives in one pass; the CPU
      // functors write one of the two per pass, so there the derivative waits for backward.
      if (want_grad && !recompute && p.logits.is_cuda()) out.grad = at::empty({p.rows, p.cols}, opts);
      evaluate(call->options, p, out);
      result = out.elements.scalar_type() == call->logits_dtype ? out.elements : out.elements.to(call->logits_dtype);
    } else {
      out.loss = at::empty({}, p.logits.options().dtype(p.logits.is_cuda() ? at::kFloat : at::kDouble));
      // Fused: the gradient of the reduced loss comes out of the same pass and waits for backward.
      if (want_grad && !recompute) out.grad = at::empty({p.rows, p.cols}, opts);
      evaluate(call->options, p, out);
      result = out.loss.to(call->logits_dtype);
    }
    if (want_grad) {
      if (out.grad.defined()) {
        // Saved as a SavedVariable, not as context data: autograd releases it right after this
        // node's backward unless the graph is retained, so the tensor backward hands on is then
        // its only reference and a leaf keeps it as .grad without a copy (with retain_graph=True
        // autograd copies it instead, and a second backward finds it intact).
        ctx->save_for_backward({out.grad});
        ctx->saved_data["fused"] = true;
        call->prepared = Prepared{};  // backward needs none of the inputs: release them now
      } else {
        // Recompute in backward: keep the call (its tensors are references, not copies, unless a
        // dtype conversion made one) and let autograd check that the logits were not modified.
        ctx->save_for_backward({p.logits});
      }
      ctx->saved_data["call"] = at::IValue::make_capsule(call);
    }
    return result;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto call = c10::static_intrusive_pointer_cast<SavedCall<Options>>(ctx->saved_data["call"].toCapsule());
    if (at::GradMode::is_enabled())
      longtail::detail::fail(loss_name<Options>(),
                             ": double backward is not supported (the gradient is evaluated in closed form and is not "
                             "itself differentiable); call backward without create_graph=True");
    const at::Tensor& g = grad_outputs[0];
    at::Tensor grad;
    bool owned = false;  // `grad` is referenced nowhere else: it may be scaled in place
    if (ctx->saved_data.count("fused")) {
      grad = ctx->get_saved_variables()[0];
    } else {
      // Recompute: the per-element derivative for Reduction::none (scaled by g elementwise below),
      // the reduced loss's gradient otherwise.
      Prepared p = call->prepared;
      p.logits = ctx->get_saved_variables()[0];
      Options o = call->options;
      if (o.reduction == Reduction::none) o.reduction = Reduction::sum;
      Outputs out;
      out.grad = at::empty({p.rows, p.cols}, p.logits.options().dtype(compute_dtype(p)));
      if (p.logits.is_cuda()) out.loss = at::empty({}, p.logits.options().dtype(at::kFloat));
      evaluate(o, p, out);
      grad = out.grad;
      owned = true;
    }
    // Scale by the incoming gradient. The usual loss.backward() passes a 0-d 1.0: on the CPU
    // that is read and the saved gradient is handed on as it is (no extra pass over memory).
    // The saved one is never scaled in place: a retained graph's next backward reads it again.
    const bool unit = g.numel() == 1 && g.device().is_cpu() && g.item<double>() == 1.0;
    if (!unit) grad = owned ? grad.mul_(g) : grad * g;
    if (grad.scalar_type() != call->logits_dtype) grad = grad.to(call->logits_dtype);
    return {grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace
}  // namespace longtail::torch

namespace longtail::torch::detail {

template <class Options, class Self>
struct Backward : public ::torch::autograd::Function<Self> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logits,
                            const c10::intrusive_ptr<SavedCall<Options>>& call, bool want_grad, bool recompute) {
    return LossFunction<Options>::forward(ctx, logits, call, want_grad, recompute);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return LossFunction<Options>::backward(ctx, std::move(grad_outputs));
  }
};
struct FocalBCEBackward : Backward<FocalBCEOptions, FocalBCEBackward> {};
struct WeightedBCEBackward : Backward<WeightedBCEOptions, WeightedBCEBackward> {};

}  // namespace longtail::torch::detail

namespace longtail::torch {
namespace {

template <class Options>
at::Tensor apply_loss(const at::Tensor& logits_in, const at::Tensor& targets, const Options& options,
                      const LossTensors& tensors, GradMode mode) {
  options.validate();
  constexpr const char* name = loss_name<Options>();
  auto call = c10::make_intrusive<SavedCall<Options>>();
  call->options = options;
  call->logits_dtype = logits_in.defined() ? logits_in.scalar_type() : at::kFloat;
  call->prepared = to_device_storage(check_arguments(name, logits_in, targets, tensors));
  const bool want_grad = at::GradMode::is_enabled() && logits_in.requires_grad();
  using Function = std::conditional_t<std::is_same_v<Options, FocalBCEOptions>, detail::FocalBCEBackward,
                                      detail::WeightedBCEBackward>;
  return Function::apply(logits_in, call, want_grad, mode == GradMode::recompute);
}

}  // namespace

at::Tensor weighted_bce_with_logits(const at::Tensor& logits, const at::Tensor& targets,
                                    const WeightedBCEOptions& options, const LossTensors& tensors, GradMode mode) {
  return apply_loss(logits, targets, options, tensors, mode);
}

at::Tensor focal_bce_with_logits(const at::Tensor& logits, const at::Tensor& targets, const FocalBCEOptions& options,
                                 const LossTensors& tensors, GradMode mode) {
  return apply_loss(logits, targets, options, tensors, mode);
}

}  // namespace longtail::torch
