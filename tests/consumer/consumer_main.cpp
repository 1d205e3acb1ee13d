// SPDX-License-Identifier: Apache-2.0
// A downstream program, as a user writes it: includes the umbrella header, computes two losses
// and checks them against values written out by hand from the formulas. Built by the CMake
// consumer projects (find_package and add_subdirectory); exit status 0 = the package works.

#include <cmath>
#include <cstdio>

#include <Eigen/Core>

#include <longtail/longtail.hpp>

namespace {

double softplus(double t) { return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

bool expect(const char* what, double got, double want) {
  const bool ok = std::abs(got - want) <= 1e-12 * std::abs(want);
  std::printf("%-28s got %.17g want %.17g %s\n", what, got, want, ok ? "ok" : "MISMATCH");
  return ok;
}

}  // namespace

int main() {
  Eigen::MatrixXd x(2, 2);
  x << 1.5, -0.5, -2.0, 3.0;
  Eigen::MatrixXd y(2, 2);
  y << 1, 0, 0, 1;
  const Eigen::ArrayXd weight = Eigen::ArrayXd::Constant(2, 2.0);

  // Weighted BCE, mean: w * [y softplus(-x) + (1 - y) softplus(x)] averaged over 4 elements.
  longtail::cpu::WeightedBCE<double> bce({}, weight);
  const double bce_want = 2.0 * (softplus(-1.5) + softplus(-0.5) + softplus(-2.0) + softplus(-3.0)) / 4.0;

  // Focal BCE gamma 2, sum: (1 - p_t)^2 * softplus(-z), z = (2y - 1) x, 1 - p_t = sigmoid(-z).
  auto options = longtail::FocalBCEOptions::focal(2.0);
  options.reduction = longtail::Reduction::sum;
  options.execution.threads = 2;
  longtail::cpu::FocalBCE<double> focal(options);
  double focal_want = 0;
  for (double z : {1.5, 0.5, 2.0, 3.0}) {
    const double q = 1.0 / (1.0 + std::exp(z));
    focal_want += q * q * softplus(-z);
  }

  Eigen::MatrixXd grad(2, 2);
  const bool ok = expect("WeightedBCE mean", bce(x, y), bce_want) &&
                  expect("FocalBCE(2) sum", focal.forward_backward(x, y, grad), focal_want);
  bool threw = false;
  try {
    longtail::cpu::FocalBCE<double> bad(longtail::FocalBCEOptions::focal(-1.0));
  } catch (const longtail::invalid_argument& e) {
    threw = true;
    std::printf("rejected as expected: %s\n", e.what());
  }
  std::printf("longtail %d.%d.%d consumer: %s\n", LONGTAIL_VERSION_MAJOR, LONGTAIL_VERSION_MINOR,
              LONGTAIL_VERSION_PATCH, ok && threw ? "OK" : "FAILED");
  return ok && threw ? 0 : 1;
}
