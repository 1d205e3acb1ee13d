// SPDX-License-Identifier: Apache-2.0
// Masks and NaN: masked elements are ignored entirely (even when their logits or targets are NaN
// or infinite), get gradient 0 and do not count in the mean's divisor; masking is equivalent to
// leaving the elements out; an all-masked batch has mean 0 and gradient 0; every mask element
// type means "nonzero = valid"; an unmasked NaN logit makes the loss NaN (and its own gradient NaN)
// without touching any other element.

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

using Eigen::Index;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<LossConfig> mask_configs() {
  return {wbce_config(), focal_config(2.0, 0.25), focal_config(0.5), asl_config(0.0, 4.0, 0.05)};
}

}  // namespace

TEST_CASE("masked elements are ignored, even NaN or infinite ones", "[mask]") {
  const Index rows = 12, cols = 9;
  const Mat<double> x = uniform(rows, cols, -5, 5, 71), y = bernoulli(rows, cols, 0.4, 72);
  const MaskMat mask = random_mask(rows, cols, 0.6, 73);
  const Eigen::ArrayXd w = class_vector(cols, 0.2, 3, 74), pw = class_vector(cols, 0.5, 8, 75);
  // Poison every masked element: NaN / +-inf logits, NaN targets.
  Mat<double> xp = x, yp = y;
  int k = 0;
  for (Index i = 0; i < x.size(); ++i)
    if (!mask.data()[i]) {
      xp.data()[i] = (k % 3 == 0) ? kNaN : (k % 3 == 1 ? kInf : -kInf);
      yp.data()[i] = (k % 2 == 0) ? kNaN : y.data()[i];
      ++k;
    }
  REQUIRE(k > 10);
  for (const LossConfig& c : mask_configs())
    for (Reduction r : {Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r));
      with_loss<double>(c, r, 0.1, w, pw, [&](const auto& loss) {
        Mat<double> g(rows, cols), gp(rows, cols), e(rows, cols), ep(rows, cols);
        const double l = loss.forward_backward(x, y, g, mask);
        const double lp = loss.forward_backward(xp, yp, gp, mask);
        loss.forward_elements(x, y, e, mask);
        loss.forward_elements(xp, yp, ep, mask);
        REQUIRE(std::isfinite(lp));
        require_bit_identical(lp, l, "loss with poisoned masked elements");
        require_bit_identical(gp, g, "grad with poisoned masked elements");
        require_bit_identical(ep, e, "elements with poisoned masked elements");
        for (Index i = 0; i < x.size(); ++i)
          if (!mask.data()[i]) {
            REQUIRE(gp.data()[i] == 0.0);
            REQUIRE(ep.data()[i] == 0.0);
          }
      });
    }
}

TEST_CASE("masking == leaving the elements out, and mean divides by the unmasked count", "[mask]") {
  // Masking whole columns 1, 4 and 6 must equal dropping them (per-class vectors dropped too).
  const Index rows = 10, cols = 8;
  const Mat<double> x = uniform(rows, cols, -5, 5, 81), y = bernoulli(rows, cols, 0.5, 82);
  const Eigen::ArrayXd w = class_vector(cols, 0.2, 3, 83), pw = class_vector(cols, 0.5, 8, 84);
  const Vec<double> sw = uniform(rows, 1, 0.1, 2, 85).col(0);
  const std::vector<Index> kept{0, 2, 3, 5, 7};
  MaskMat mask = MaskMat::Zero(rows, cols);
  Mat<double> xs(rows, Index(kept.size())), ys(rows, Index(kept.size()));
  Eigen::ArrayXd ws(Index(kept.size())), pws(Index(kept.size()));
  for (std::size_t k = 0; k < kept.size(); ++k) {
    mask.col(kept[k]).setOnes();
    xs.col(Index(k)) = x.col(kept[k]);
    ys.col(Index(k)) = y.col(kept[k]);
    ws[Index(k)] = w[kept[k]];
    pws[Index(k)] = pw[kept[k]];
  }
  for (const LossConfig& c : mask_configs())
    for (Reduction r : {Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r));
      Mat<double> g(rows, cols), gs(rows, Index(kept.size()));
      const double l = with_loss<double>(
          c, r, 0.0, w, pw, [&](const auto& loss) { return double(loss.forward_backward(x, y, g, mask, sw)); });
      const double ls = with_loss<double>(c, r, 0.0, ws, pws, [&](const auto& loss) {
        return double(loss.forward_backward(xs, ys, gs, longtail::none, sw));
      });
      // Same elements, same per-line order (column-major lines = columns): the sums agree to rounding.
      require_close(l, ls, 1e-14, 0, "loss");
      for (std::size_t k = 0; k < kept.size(); ++k)
        require_bit_identical(g.col(kept[k]), gs.col(Index(k)), "grad of a kept column");
      for (Index j : {1, 4, 6}) REQUIRE((g.col(j).array() == 0).all());
    }
}

TEST_CASE("all elements masked: sum 0, mean 0 (not NaN), gradient 0", "[mask]") {
  const Mat<double> x = uniform(6, 7, -5, 5, 91), y = bernoulli(6, 7, 0.5, 92);
  const MaskMat none_valid = MaskMat::Zero(6, 7);
  for (const LossConfig& c : mask_configs())
    for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r));
      with_loss<double>(c, r, 0.0, Eigen::ArrayXd(), Eigen::ArrayXd(), [&](const auto& loss) {
        Mat<double> g = Mat<double>::Constant(6, 7, kNaN);
        CHECK(loss.forward_backward(x, y, g, none_valid) == 0.0);
        CHECK((g.array() == 0).all());
        if (r != Reduction::none) CHECK(loss.forward(x, y, none_valid) == 0.0);
      });
    }
}

TEST_CASE("every mask element type means nonzero = valid", "[mask]") {
  const Index rows = 7, cols = 10;
  const Mat<double> x = uniform(rows, cols, -5, 5, 101), y = bernoulli(rows, cols, 0.5, 102);
  const MaskMat m8 = random_mask(rows, cols, 0.5, 103);
  const Eigen::Matrix<bool, -1, -1> mb = m8.cast<bool>();
  const Mat<float> mf = m8.cast<float>() * 0.5f;    // nonzero but not 1
  const Mat<double> md = m8.cast<double>() * -2.0;  // negative nonzero counts as valid too
  const Eigen::Matrix<int, -1, -1, Eigen::RowMajor> mi = m8.cast<int>() * 7;
  for (const LossConfig& c : mask_configs()) {
    INFO(c.label);
    with_loss<double>(c, Reduction::mean, 0.0, Eigen::ArrayXd(), Eigen::ArrayXd(), [&](const auto& loss) {
      Mat<double> g8(rows, cols), g(rows, cols);
      const double l8 = loss.forward_backward(x, y, g8, m8);
      require_bit_identical(loss.forward_backward(x, y, g, mb), l8, "bool mask loss");
      require_bit_identical(g, g8, "bool mask grad");
      require_bit_identical(loss.forward_backward(x, y, g, mf), l8, "float mask loss");
      require_bit_identical(g, g8, "float mask grad");
      require_bit_identical(loss.forward_backward(x, y, g, md), l8, "double mask loss");
      require_bit_identical(g, g8, "double mask grad");
      require_bit_identical(loss.forward_backward(x, y, g, mi), l8, "int row-major mask loss");
      require_bit_identical(g, g8, "int row-major mask grad");
      // An all-ones mask equals no mask.
      require_bit_identical(loss.forward_backward(x, y, g, MaskMat::Ones(rows, cols)), double(loss.forward(x, y)),
                            "all-ones mask");
    });
  }
}

TEMPLATE_TEST_CASE("an unmasked NaN logit gives a NaN loss and leaves other elements alone", "[nan]", float, double) {
  using S = TestType;
  const Index rows = 9, cols = 13;
  const Mat<S> x = uniform(rows, cols, -5, 5, 111).cast<S>(), y = bernoulli(rows, cols, 0.5, 112).cast<S>();
  Mat<S> xn = x;
  xn(4, 7) = std::numeric_limits<S>::quiet_NaN();
  const RowMat<S> xnr = xn;  // row-major: the NaN in the other orientation's lines
  for (const LossConfig& c : all_configs())
    for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r));
      with_loss<S>(c, r, 0.1, Eigen::Array<S, -1, 1>(), Eigen::Array<S, -1, 1>(), [&](const auto& loss) {
        Mat<S> g(rows, cols), gn(rows, cols), en(rows, cols);
        RowMat<S> gnr(rows, cols);
        loss.forward_backward(x, y, g);
        if (r != Reduction::none) CHECK(std::isnan(double(loss.forward(xn, y))));
        CHECK(std::isnan(double(loss.forward_backward(xn, y, gn))));
        CHECK(std::isnan(double(loss.forward_backward(xnr, y, gnr))));
        CHECK(std::isnan(double(loss.forward_elements(xn, y, en))));
        CHECK(std::isnan(double(gn(4, 7))));
        CHECK(std::isnan(double(gnr(4, 7))));
        CHECK(std::isnan(double(en(4, 7))));
        // Every other gradient is untouched by the NaN (bit-identical to the NaN-free run).
        gn(4, 7) = g(4, 7);
        gnr(4, 7) = g(4, 7);
        require_bit_identical(gn, g, "grad of the other elements");
        require_bit_identical(Mat<S>(gnr), g, "grad of the other elements (row-major)");
      });
    }
}
