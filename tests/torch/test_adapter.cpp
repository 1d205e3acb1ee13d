// SPDX-License-Identifier: Apache-2.0
// The C++ side of the PyTorch adapter (longtail/torch/losses.hpp) as a libtorch user calls it,
// built against the installed package by consumer.find_package_torch (tests/CMakeLists.txt):
// values and gradients against torch::binary_cross_entropy_with_logits and a focal loss written in
// torch ops (float64), the fused and recompute modes, the Loss objects, and the errors. A small
// program (no Catch2: one translation unit with libtorch's headers costs ~1 min to compile);
// exit status 0 = every check passed.

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include <torch/torch.h>

#include <longtail/torch/losses.hpp>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%-70s %s\n", what.c_str(), ok ? "ok" : "FAILED");
  failures += !ok;
}

double max_rel(const at::Tensor& got, const at::Tensor& want) {
  const auto g = got.to(at::kDouble), w = want.to(at::kDouble);
  return ((g - w).abs() / (w.abs() + 1e-3 * w.abs().max())).max().item<double>();
}

/// loss and gradient of fn at x (a fresh leaf).
std::pair<at::Tensor, at::Tensor> value_grad(const std::function<at::Tensor(const at::Tensor&)>& fn,
                                             const at::Tensor& x) {
  auto leaf = x.detach().clone().requires_grad_(true);
  auto v = fn(leaf);
  v.sum().backward();
  return {v.detach(), leaf.grad()};
}

at::Tensor focal_reference(const at::Tensor& x, const at::Tensor& y, double gamma, const at::Tensor& pos_weight) {
  const auto q = torch::sigmoid(-x), p = torch::sigmoid(x);
  const auto l = pos_weight * y * q.pow(gamma) * torch::softplus(-x) + (1 - y) * p.pow(gamma) * torch::softplus(x);
  return l.mean();
}

template <class E, class F>
void expect_throw(F&& f, const std::string& needle, const std::string& what) {
  try {
    f();
  } catch (const E& e) {
    const bool ok = std::string(e.what()).find(needle) != std::string::npos;
    if (!ok) std::printf("  message: %s\n", e.what());
    check(ok, what);
    return;
  } catch (...) {
    std::printf("  another exception type\n");
  }
  check(false, what);
}

}  // namespace

int main() {
  namespace lt = longtail::torch;
  torch::manual_seed(0);
  const auto x = torch::randn({32, 17}, torch::kFloat64) * 3;
  const auto y = (torch::rand({32, 17}) < 0.3).to(torch::kFloat64);
  const auto pw = torch::rand({17}, torch::kFloat64) * 5 + 0.1;

  // Weighted BCE == BCEWithLogitsLoss(pos_weight), float64 and float32.
  lt::LossTensors classes;
  classes.pos_weight = pw;
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-6;
    auto c = classes;
    c.pos_weight = pw.to(dtype);
    const auto [v, g] = value_grad(
        [&](const at::Tensor& t) { return lt::weighted_bce_with_logits(t, y.to(dtype), {}, c); }, x.to(dtype));
    const auto [rv, rg] = value_grad(
        [&](const at::Tensor& t) { return torch::binary_cross_entropy_with_logits(t, y, {}, pw, at::Reduction::Mean); },
        x);
    check(
        max_rel(v, rv) <= tol && max_rel(g, rg) <= tol,
        std::string("weighted BCE == binary_cross_entropy_with_logits, ") + (dtype == torch::kFloat64 ? "f64" : "f32"));
  }

  // Focal gamma 2.5 with pos_weight, fused and recompute, through the Loss object.
  for (auto mode : {lt::GradMode::fused, lt::GradMode::recompute}) {
    const lt::FocalBCEWithLogitsLoss loss(longtail::FocalBCEOptions::focal(2.5), classes, mode);
    const auto [v, g] = value_grad([&](const at::Tensor& t) { return loss(t, y); }, x);
    const auto [rv, rg] = value_grad([&](const at::Tensor& t) { return focal_reference(t, y, 2.5, pw); }, x);
    check(max_rel(v, rv) <= 1e-12 && max_rel(g, rg) <= 1e-12,
          std::string("focal gamma 2.5 == reference, ") + (mode == lt::GradMode::fused ? "fused" : "recompute"));
  }

  // A transposed (non-contiguous) view gives the same numbers.
  {
    const auto xt = x.t().contiguous().t();
    const auto a = lt::focal_bce_with_logits(xt, y), b = lt::focal_bce_with_logits(x, y);
    check(!xt.is_contiguous() && a.item<double>() == b.item<double>(), "transposed logits read in place");
  }

  // Reduction::none and a mask: the per-element losses; masked elements 0.
  {
    auto o = longtail::FocalBCEOptions::focal(2.0);
    o.reduction = longtail::Reduction::none;
    lt::LossTensors t;
    t.mask = torch::rand({32, 17}) > 0.5;
    const auto e = lt::focal_bce_with_logits(x, y, o, t);
    check(e.sizes() == x.sizes() && (e.masked_select(t.mask.logical_not()) == 0).all().item<bool>(),
          "reduction none with a mask");
  }

  // Errors.
  expect_throw<longtail::invalid_argument>(
      [&] { lt::focal_bce_with_logits(x, y, longtail::FocalBCEOptions::focal(-1)); }, "gamma_pos",
      "negative gamma -> invalid_argument naming gamma_pos");
  expect_throw<lt::type_error>([&] { lt::focal_bce_with_logits(x.to(torch::kInt), y); }, "logits has dtype Int",
                               "integer logits -> type_error");
  expect_throw<longtail::invalid_argument>([&] { lt::focal_bce_with_logits(x, y.slice(1, 0, 5)); }, "targets has shape",
                                           "shape mismatch -> invalid_argument");
  // (The engine rethrows the exception of the backward as it is: longtail::invalid_argument.)
  expect_throw<std::exception>(
      [&] {
        auto leaf = x.clone().requires_grad_(true);
        auto g = torch::autograd::grad({lt::focal_bce_with_logits(leaf, y)}, {leaf}, {}, true, true);
        torch::autograd::grad({g[0].sum()}, {leaf});
      },
      "double backward is not supported", "double backward -> error");

  std::printf("%s\n", failures ? "FAILED" : "all adapter checks passed");
  return failures ? 1 : 0;
}
