// SPDX-License-Identifier: Apache-2.0
// Agreement with PyTorch: the golden files in tests/data/ (written by
// tests/reference/make_golden.py from torch's binary_cross_entropy_with_logits, torchvision's
// sigmoid_focal_loss, a torch transcription of the ASL paper and of the Distribution-Balanced
// authors' code, plus the logit offset of every loss; gradients by autograd, float64)
// must be reproduced by the double functors to 1e-6 relative, per element and reduced, for the
// loss and for the gradient of the sum and of the mean. A tiny absolute floor (1e-14, the values
// are O(1)) admits elements whose exact value is ~0. The float functors must agree to 1e-4
// relative, or 1e-5 of the largest magnitude in the array (float eps is 6e-8; soft targets make
// gradients that are small differences of O(1) terms).

#include <cstdio>
#include <fstream>
#include <set>

#include "golden.hpp"
#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

constexpr double kRel = 1e-6;
constexpr double kAbs = 1e-14;

std::string data_path(const std::string& file) { return std::string(LONGTAIL_TEST_DATA_DIR) + "/" + file; }

template <class S>
Eigen::Array<S, Eigen::Dynamic, 1> to_array(const std::vector<double>& v) {
  Eigen::Array<S, Eigen::Dynamic, 1> a(Eigen::Index(v.size()));
  for (std::size_t k = 0; k < v.size(); ++k) a[Eigen::Index(k)] = S(v[k]);
  return a;
}

template <class S>
RowMat<S> to_matrix(const std::vector<double>& v, int rows, int cols) {
  return Eigen::Map<const RowMat<double>>(v.data(), rows, cols).cast<S>();
}

/// Calls f(loss) with the functor a golden case describes.
template <class S, class F>
void with_golden_loss(const GoldenCase& g, Reduction r, F&& f) {
  const auto w = to_array<S>(g.weight), pw = to_array<S>(g.pos_weight);
  const auto offset = to_array<double>(g.logit_offset);  // converted by the functor, as weights are
  if (g.kind == "wbce") {
    longtail::WeightedBCEOptions o;
    o.reduction = r;
    o.label_smoothing = g.label_smoothing;
    f(longtail::cpu::WeightedBCE<S>(o, w, pw, offset));
  } else if (g.kind == "db") {
    longtail::DistributionBalancedOptions o;
    o.alpha = g.db[0];
    o.beta = g.db[1];
    o.mu = g.db[2];
    o.lambda = g.db[3];
    o.kappa = g.db[4];
    o.gamma = g.db[5];
    o.label_smoothing = g.label_smoothing;
    o.reduction = r;
    f(longtail::cpu::DistributionBalanced<S>(o, to_array<double>(g.label_counts), Eigen::Index(g.train_rows), w,
                                             offset));
  } else {
    longtail::FocalBCEOptions o;
    o.gamma_pos = g.gamma_pos;
    o.gamma_neg = g.gamma_neg;
    o.alpha = g.alpha;
    o.margin = g.margin;
    o.label_smoothing = g.label_smoothing;
    o.reduction = r;
    f(longtail::cpu::FocalBCE<S>(o, w, pw, offset));
  }
}

/// Runs every entry point of the functor on one golden case and compares with the file.
/// `Layout` is the storage order the inputs are handed over in.
template <class S, class Layout>
void check_case(const GoldenCase& g, double rel, bool array_relative_floor) {
  INFO("golden " << g.file << " case " << g.name);
  const int R = g.rows, C = g.cols;
  const Layout x = to_matrix<S>(g.logits, R, C), y = to_matrix<S>(g.targets, R, C);
  const MaskMat mask = g.mask.empty() ? MaskMat() : MaskMat(to_matrix<double>(g.mask, R, C).cast<std::uint8_t>());
  const Vec<S> sw = to_array<S>(g.sample_weight).matrix();
  const MaskMat* mask_p = g.mask.empty() ? nullptr : &mask;
  const Vec<S>* sw_p = g.sample_weight.empty() ? nullptr : &sw;

  const RowMat<double> want_elements = to_matrix<double>(g.loss_elements, R, C);
  const RowMat<double> want_grad_sum = to_matrix<double>(g.grad_sum, R, C);
  const RowMat<double> want_grad_mean = to_matrix<double>(g.grad_mean, R, C);
  auto floor_of = [&](const RowMat<double>& want) {
    return array_relative_floor ? 1e-5 * want.cwiseAbs().maxCoeff() : kAbs;
  };

  with_golden_loss<S>(g, Reduction::sum, [&](const auto& loss) {
    Layout elements(R, C), grad(R, C), grad_fused(R, C);
    with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) {
      const double s_elements = double(loss.forward_elements(x, y, elements, m, w));
      const double s_forward = double(loss.forward(x, y, m, w));
      loss.backward(x, y, grad, m, w);
      const double s_fused = double(loss.forward_backward(x, y, grad_fused, m, w));
      require_close(elements, want_elements, rel, floor_of(want_elements), "loss_elements");
      require_close(s_forward, g.loss_sum, rel, kAbs, "loss_sum (forward)");
      require_close(s_elements, g.loss_sum, rel, kAbs, "loss_sum (forward_elements)");
      require_close(s_fused, g.loss_sum, rel, kAbs, "loss_sum (forward_backward)");
      require_close(grad, want_grad_sum, rel, floor_of(want_grad_sum), "grad_sum (backward)");
      require_close(grad_fused, want_grad_sum, rel, floor_of(want_grad_sum), "grad_sum (forward_backward)");
    });
  });
  with_golden_loss<S>(g, Reduction::mean, [&](const auto& loss) {
    Layout grad(R, C), grad_fused(R, C);
    with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) {
      require_close(double(loss.forward(x, y, m, w)), g.loss_mean, rel, kAbs, "loss_mean (forward)");
      require_close(double(loss(x, y, m, w)), g.loss_mean, rel, kAbs, "loss_mean (operator())");
      loss.backward(x, y, grad, m, w);
      require_close(double(loss.forward_backward(x, y, grad_fused, m, w)), g.loss_mean, rel, kAbs,
                    "loss_mean (forward_backward)");
      require_close(grad, want_grad_mean, rel, floor_of(want_grad_mean), "grad_mean (backward)");
      require_close(grad_fused, want_grad_mean, rel, floor_of(want_grad_mean), "grad_mean (forward_backward)");
    });
  });
  with_golden_loss<S>(g, Reduction::none, [&](const auto& loss) {
    Layout grad(R, C);
    with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) {
      // Reduction::none: forward() returns the sum; the gradient is the per-element derivative.
      require_close(double(loss.forward_backward(x, y, grad, m, w)), g.loss_sum, rel, kAbs, "loss (none)");
      require_close(grad, want_grad_sum, rel, floor_of(want_grad_sum), "grad (none)");
    });
  });
}

}  // namespace

TEST_CASE("golden files are complete", "[golden]") {
  // Guards against a truncated or regenerated-with-fewer-cases file making the agreement vacuous.
  const auto wbce = load_golden(data_path("golden_wbce.txt"));
  const auto focal = load_golden(data_path("golden_focal.txt"));
  const auto asl = load_golden(data_path("golden_asl.txt"));
  const auto db = load_golden(data_path("golden_db.txt"));
  CHECK(wbce.size() >= 8);
  CHECK(asl.size() >= 6);
  CHECK(db.size() >= 9);
  std::set<std::string> db_kinds;  // the offset of every loss, and every DB kernel
  bool db_lambda1 = false, db_real_gamma = false, db_beta0 = false;
  for (const auto& g : db) {
    if (!g.logit_offset.empty()) db_kinds.insert(g.kind);
    if (g.kind != "db") continue;
    db_lambda1 |= g.db[3] == 1.0;
    db_real_gamma |= g.db[5] != std::floor(g.db[5]);
    db_beta0 |= g.db[1] == 0.0;
  }
  CHECK(db_kinds == std::set<std::string>{"wbce", "focal", "asl", "db"});
  CHECK((db_lambda1 && db_real_gamma && db_beta0));
  std::set<std::pair<double, bool>> gammas;  // (gamma, alpha set) among the focal cases
  bool weights = false, pos_weights = false, masks = false, sample_weights = false, smoothing = false;
  for (const auto* file : {&wbce, &focal, &asl})
    for (const auto& g : *file) {
      if (g.kind == "focal") gammas.insert({g.gamma_pos, g.alpha.has_value()});
      weights |= !g.weight.empty();
      pos_weights |= !g.pos_weight.empty();
      masks |= !g.mask.empty();
      sample_weights |= !g.sample_weight.empty();
      smoothing |= g.label_smoothing > 0;
    }
  for (double gamma : {0.0, 0.5, 1.0, 2.0, 2.5, 3.0})
    for (bool alpha : {false, true}) {
      INFO("focal gamma " << gamma << (alpha ? " with" : " without") << " alpha");
      CHECK(gammas.count({gamma, alpha}) == 1);
    }
  CHECK((weights && pos_weights && masks && sample_weights && smoothing));
  bool asymmetric = false, margin = false;
  for (const auto& g : asl) {
    asymmetric |= g.gamma_pos != g.gamma_neg;
    margin |= g.margin > 0;
  }
  CHECK((asymmetric && margin));
}

TEST_CASE("the golden reader rejects malformed files", "[golden]") {
  CHECK_THROWS_WITH(load_golden(data_path("does_not_exist.txt")), Catch::Contains("cannot open golden file"));
  const std::string path = "longtail_golden_malformed.txt";  // in the test's working directory
  auto write = [&](const char* text) { std::ofstream(path) << text; };
  write("case a\nkind wbce\nshape 1 1\nend\n");
  CHECK_THROWS_WITH(load_golden(path), Catch::Contains(path + ":4: a: missing field 'gamma_pos'"));
  write("case a\nkind wbce\nshape 1 x\n");
  CHECK_THROWS_WITH(load_golden(path), Catch::Contains(path + ":3: not a number: 'x'"));
  write("case a\nkind wbce\nshape 1 1\n");
  CHECK_THROWS_WITH(load_golden(path), Catch::Contains("file ends inside case a"));
  std::remove(path.c_str());
}

TEST_CASE("double functors match PyTorch (golden files) to 1e-6 relative", "[golden]") {
  const std::string file =
      GENERATE(as<std::string>{}, "golden_wbce.txt", "golden_focal.txt", "golden_asl.txt", "golden_db.txt");
  for (const GoldenCase& g : load_golden(data_path(file))) {
    check_case<double, RowMat<double>>(g, kRel, false);
    check_case<double, Mat<double>>(g, kRel, false);  // the same data handed over column-major
  }
}

TEST_CASE("float functors match PyTorch (golden files) to 1e-4 relative", "[golden][float]") {
  const std::string file =
      GENERATE(as<std::string>{}, "golden_wbce.txt", "golden_focal.txt", "golden_asl.txt", "golden_db.txt");
  for (const GoldenCase& g : load_golden(data_path(file))) check_case<float, RowMat<float>>(g, 1e-4, true);
}
