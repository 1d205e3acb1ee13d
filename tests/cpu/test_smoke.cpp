#include <catch2/catch.hpp>

#include "longtail/longtail.hpp"

TEST_CASE("smoke: focal BCE with gamma 0 equals weighted BCE", "[smoke]") {
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(7, 5) * 4;
  Eigen::MatrixXd y = (Eigen::MatrixXd::Random(7, 5).array() > 0).cast<double>();
  longtail::cpu::FocalBCE<double> focal(longtail::FocalBCEOptions::focal(0.0));
  longtail::cpu::WeightedBCE<double> bce;
  CHECK(focal(x, y) == Approx(bce(x, y)).epsilon(1e-12));
}
