// SPDX-License-Identifier: Apache-2.0
// Memory layouts: every Eigen dense object with direct access (row- and column-major matrices,
// blocks, Maps with outer and inner strides, transposed views, Refs) and plain expressions give
// the same results as contiguous column-major inputs; outputs are written exactly where the view
// says and nowhere else; grad may be the logits themselves; uint8 / float / double targets agree
// bit for bit; empty and 1x1 inputs.
//
// Per element, every layout goes through the same packet arithmetic, so gradients and per-element
// losses must be bit-identical. The reduced loss is bit-identical within one orientation (lines
// are rows for row-major logits, columns for column-major ones, rows when neither is contiguous)
// and equal to ~1e-15 relative across orientations, where the summation order differs.

#include "reference_loss.hpp"
#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

using Eigen::Dynamic;
using Eigen::Index;
using DynStride = Eigen::Stride<Dynamic, Dynamic>;

constexpr Index kRows = 13, kCols = 11;
constexpr double kSentinel = 12345.5;

struct Base {
  Mat<double> x, y;
  MaskMat mask;
  Vec<double> sw;
  Eigen::ArrayXd w, pw;
};

Base make_base() {
  Base b;
  b.x = uniform(kRows, kCols, -6.0, 6.0, 55);
  b.y = bernoulli(kRows, kCols, 0.4, 56);
  b.mask = random_mask(kRows, kCols, 0.8, 57);
  b.sw = uniform(kRows, 1, 0.1, 2.0, 58).col(0);
  b.w = class_vector(kCols, 0.2, 3.0, 59);
  b.pw = class_vector(kCols, 0.5, 8.0, 60);
  return b;
}

/// The configurations the layout tests run (one of each code path: plain BCE, integer and real
/// focal exponents, ASL margin).
std::vector<LossConfig> layout_configs() {
  return {wbce_config(), focal_config(2.0, 0.25), focal_config(2.5), asl_config(1.0, 0.5, 0.1)};
}

struct Result {
  double loss = 0;
  Mat<double> grad, elements;
};

/// Runs forward_backward and forward_elements with whatever argument types it is given; copies
/// the (possibly strided) outputs back into plain matrices.
template <class X, class Y, class M, class W, class G, class E>
Result run(const LossConfig& c, const Base& b, const X& x, const Y& y, const M& mask, const W& sw, G&& grad,
           E&& elements) {
  Result r;
  with_loss<double>(c, Reduction::sum, 0.1, b.w, b.pw, [&](const auto& loss) {
    r.loss = loss.forward_backward(x, y, grad, mask, sw);
    const double again = loss.forward_elements(x, y, elements, mask, sw);
    REQUIRE(same_bits(again, r.loss));
  });
  r.grad = grad;
  r.elements = elements;
  return r;
}

/// A buffer of `n` sentinels: outputs written through a strided view into it must leave every
/// other entry untouched.
std::vector<double> sentinel_buffer(std::size_t n) { return std::vector<double>(n, kSentinel); }

void require_untouched_outside(const std::vector<double>& buf, const std::vector<bool>& used, const std::string& what) {
  for (std::size_t k = 0; k < buf.size(); ++k)
    if (!used[k] && buf[k] != kSentinel) FAIL(what << ": wrote outside the view at buffer offset " << k);
}

}  // namespace

TEST_CASE("non-contiguous and differently ordered inputs give the contiguous result", "[layout]") {
  const Base b = make_base();
  for (const LossConfig& c : layout_configs()) {
    INFO(c.label);
    Mat<double> g0(kRows, kCols), e0(kRows, kCols);
    const Result ref = run(c, b, b.x, b.y, b.mask, b.sw, g0, e0);

    auto same_orientation = [&](const Result& r, const char* what) {
      INFO(what);
      require_bit_identical(r.grad, ref.grad, "grad");
      require_bit_identical(r.elements, ref.elements, "elements");
      require_bit_identical(r.loss, ref.loss, "loss");
    };
    auto other_orientation = [&](const Result& r, const char* what) {
      INFO(what);
      require_bit_identical(r.grad, ref.grad, "grad");
      require_bit_identical(r.elements, ref.elements, "elements");
      require_close(r.loss, ref.loss, 1e-14, 0, "loss");
    };

    SECTION("row-major matrices") {
      const RowMat<double> x = b.x, y = b.y;
      const Eigen::Matrix<std::uint8_t, Dynamic, Dynamic, Eigen::RowMajor> m = b.mask;
      RowMat<double> g(kRows, kCols), e(kRows, kCols);
      other_orientation(run(c, b, x, y, m, b.sw, g, e), "row-major");
    }
    SECTION("blocks of larger matrices (outer stride)") {
      Mat<double> bx = Mat<double>::Constant(kRows + 7, kCols + 5, std::nan("")),
                  by = Mat<double>::Zero(kRows + 7, kCols + 5);
      MaskMat bm = MaskMat::Zero(kRows + 3, kCols + 2);
      bx.block(4, 2, kRows, kCols) = b.x;
      by.block(1, 3, kRows, kCols) = b.y;
      bm.block(2, 1, kRows, kCols) = b.mask;
      Mat<double> bg = Mat<double>::Constant(kRows + 2, kCols + 2, kSentinel), be = bg;
      const Result r =
          run(c, b, bx.block(4, 2, kRows, kCols), by.block(1, 3, kRows, kCols), bm.block(2, 1, kRows, kCols), b.sw,
              bg.block(1, 1, kRows, kCols), be.block(1, 1, kRows, kCols));
      same_orientation(r, "blocks");
      for (Index j = 0; j < bg.cols(); ++j)
        for (Index i = 0; i < bg.rows(); ++i)
          if (i < 1 || i > kRows || j < 1 || j > kCols) REQUIRE((bg(i, j) == kSentinel && be(i, j) == kSentinel));
    }
    SECTION("Maps with inner and outer strides, into sentinel buffers") {
      // Column-major, element (i, j) at i * 3 + j * 41 (inner stride 3, outer stride 41).
      const Index inner = 3, outer = 41;
      const std::size_t n = std::size_t(outer * kCols);
      std::vector<double> xb(n, std::nan("")), yb(n, 0.0), gb = sentinel_buffer(n), eb = sentinel_buffer(n);
      std::vector<bool> used(n, false);
      Eigen::Map<Mat<double>, 0, DynStride> xm(xb.data(), kRows, kCols, DynStride(outer, inner));
      Eigen::Map<Mat<double>, 0, DynStride> ym(yb.data(), kRows, kCols, DynStride(outer, inner));
      Eigen::Map<Mat<double>, 0, DynStride> gm(gb.data(), kRows, kCols, DynStride(outer, inner));
      Eigen::Map<Mat<double>, 0, DynStride> em(eb.data(), kRows, kCols, DynStride(outer, inner));
      xm = b.x;
      ym = b.y;
      for (Index j = 0; j < kCols; ++j)
        for (Index i = 0; i < kRows; ++i) used[std::size_t(i * inner + j * outer)] = true;
      // Sample weights with an inner stride too: every other entry of a longer vector.
      Vec<double> swb = Vec<double>::Constant(2 * kRows, std::nan(""));
      Eigen::Map<const Vec<double>, 0, Eigen::InnerStride<2>> swm(swb.data(), kRows);
      for (Index i = 0; i < kRows; ++i) swb(2 * i) = b.sw(i);
      const Eigen::Map<const Mat<double>, 0, DynStride> xc(xb.data(), kRows, kCols, DynStride(outer, inner));
      // Neither rows nor columns are contiguous: the kernel walks rows (gathering lanes), so the
      // reduced loss is summed in the row-major order.
      other_orientation(run(c, b, xc, ym, b.mask, swm, gm, em), "strided Maps");
      require_untouched_outside(gb, used, "grad");
      require_untouched_outside(eb, used, "elements");
    }
    SECTION("row-major Map with inner stride 2 and outer stride 30") {
      std::vector<double> xb(30 * kRows, std::nan("")), gb = sentinel_buffer(30 * kRows),
                                                        eb = sentinel_buffer(30 * kRows);
      using RMap = Eigen::Map<RowMat<double>, 0, DynStride>;
      RMap xm(xb.data(), kRows, kCols, DynStride(30, 2)), gm(gb.data(), kRows, kCols, DynStride(30, 2)),
          em(eb.data(), kRows, kCols, DynStride(30, 2));
      xm = b.x;
      std::vector<bool> used(xb.size(), false);
      for (Index i = 0; i < kRows; ++i)
        for (Index j = 0; j < kCols; ++j) used[std::size_t(i * 30 + j * 2)] = true;
      other_orientation(run(c, b, xm, b.y, b.mask, b.sw, gm, em), "row-major strided Map");
      require_untouched_outside(gb, used, "grad");
      require_untouched_outside(eb, used, "elements");
    }
    SECTION("transposed views") {
      // Storage of the transposes; .transpose() of them is a row-major view of the original shape.
      const Mat<double> xt = b.x.transpose(), yt = b.y.transpose();
      const MaskMat mt = b.mask.transpose();
      Mat<double> gt(kCols, kRows), et(kCols, kRows);
      other_orientation(
          run(c, b, xt.transpose(), yt.transpose(), mt.transpose(), b.sw.transpose(), gt.transpose(), et.transpose()),
          "transposed");
    }
    SECTION("every argument in a different layout (gathered lanes)") {
      const RowMat<double> y = b.y;  // row-major
      Mat<double> bigx = Mat<double>::Zero(2 * kRows, kCols);
      bigx.topRows(kRows) = b.x;                                                               // column-major block
      const Eigen::Matrix<float, Dynamic, Dynamic, Eigen::RowMajor> m = b.mask.cast<float>();  // float mask
      RowMat<double> g(kRows, kCols);                                                          // row-major grad
      Mat<double> big_e = Mat<double>::Constant(kRows, 2 * kCols, kSentinel);
      Eigen::Map<Mat<double>, 0, Eigen::OuterStride<>> e(big_e.data(), kRows, kCols, Eigen::OuterStride<>(2 * kRows));
      same_orientation(run(c, b, bigx.topRows(kRows), y, m, b.sw, g, e), "mixed layouts");
    }
    SECTION("Eigen::Ref arguments") {
      const Eigen::Ref<const Mat<double>> x = b.x, y = b.y;
      Mat<double> g(kRows, kCols), e(kRows, kCols);
      Eigen::Ref<Mat<double>> gr = g, er = e;
      same_orientation(run(c, b, x, y, b.mask, Eigen::Ref<const Vec<double>>(b.sw), gr, er), "Ref");
    }
    SECTION("expressions (no direct access) as logits, targets, mask and sample weights") {
      Mat<double> g(kRows, kCols), e(kRows, kCols);
      const Result r = run(c, b, b.x * 1.0, b.y.cast<float>().cast<double>(), (b.mask.array() != 0).matrix(),
                           (b.sw.array() + 0.0).matrix(), g, e);
      same_orientation(r, "expressions");
    }
    SECTION("sample weights as a row vector and as a strided row of a matrix") {
      Mat<double> g(kRows, kCols), e(kRows, kCols);
      const Eigen::RowVectorXd swr = b.sw.transpose();
      same_orientation(run(c, b, b.x, b.y, b.mask, swr, g, e), "row vector");
      Mat<double> holder = Mat<double>::Constant(3, kRows, -1.0);
      holder.row(1) = b.sw.transpose();  // inner stride 3
      same_orientation(run(c, b, b.x, b.y, b.mask, holder.row(1), g, e), "strided row");
    }
  }
}

TEST_CASE("grad may alias the logits (in place)", "[layout][aliasing]") {
  const Base b = make_base();
  for (const LossConfig& c : layout_configs())
    for (Reduction r : {Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r));
      with_loss<double>(c, r, 0.0, b.w, b.pw, [&](const auto& loss) {
        Mat<double> g(kRows, kCols);
        const double l = loss.forward_backward(b.x, b.y, g, b.mask, b.sw);

        Mat<double> x = b.x;
        require_bit_identical(loss.forward_backward(x, b.y, x, b.mask, b.sw), l, "in-place loss");
        require_bit_identical(x, g, "in-place grad (column-major)");

        RowMat<double> xr = b.x;
        loss.backward(xr, b.y, xr, b.mask, b.sw);
        require_bit_identical(xr, g, "in-place backward (row-major)");

        // In place through a strided view, with a mask whose masked logits are NaN.
        Mat<double> big = Mat<double>::Constant(kRows + 4, kCols, kSentinel);
        auto view = big.middleRows(2, kRows);
        Mat<double> x_nan = b.x;
        for (Index k = 0; k < x_nan.size(); ++k)
          if (!b.mask.data()[k]) x_nan.data()[k] = std::nan("");
        view = x_nan;
        require_bit_identical(loss.forward_backward(view, b.y, view, b.mask, b.sw), l,
                              "in-place loss (block, NaN masked)");
        require_bit_identical(Mat<double>(view), g, "in-place grad (block, NaN masked)");
        REQUIRE((big.topRows(2).array() == kSentinel).all());
        REQUIRE((big.bottomRows(2).array() == kSentinel).all());
      });
    }
}

TEST_CASE("uint8, float and double targets give bit-identical results", "[layout][targets]") {
  const Base b = make_base();
  const Eigen::Matrix<std::uint8_t, Dynamic, Dynamic> yu = b.y.cast<std::uint8_t>();
  const Mat<float> yf = b.y.cast<float>();
  const Eigen::Matrix<std::uint8_t, Dynamic, Dynamic, Eigen::RowMajor> yur = yu;
  for (const LossConfig& c : layout_configs()) {
    INFO(c.label);
    Mat<double> g(kRows, kCols), e(kRows, kCols);
    const Result rd = run(c, b, b.x, b.y, b.mask, b.sw, g, e);
    const Result ru = run(c, b, b.x, yu, b.mask, b.sw, g, e);
    const Result rf = run(c, b, b.x, yf, b.mask, b.sw, g, e);
    const Result rur = run(c, b, b.x, yur, b.mask, b.sw, g, e);  // uint8, row-major against column-major logits
    for (const Result* r : {&ru, &rf, &rur}) {
      require_bit_identical(r->loss, rd.loss, "loss");
      require_bit_identical(r->grad, rd.grad, "grad");
      require_bit_identical(r->elements, rd.elements, "elements");
    }
    // Float functors with uint8 targets as well.
    with_loss<float>(c, Reduction::mean, 0.0, b.w.cast<float>(), b.pw.cast<float>(), [&](const auto& loss) {
      const Mat<float> xf = b.x.cast<float>();
      Mat<float> g1(kRows, kCols), g2(kRows, kCols);
      require_bit_identical(loss.forward_backward(xf, yu, g1), loss.forward_backward(xf, yf, g2), "float loss");
      require_bit_identical(g1, g2, "float grad");
    });
  }
}

TEMPLATE_TEST_CASE("empty inputs: zero loss, no access", "[layout][empty]", float, double) {
  using S = TestType;
  for (const LossConfig& c : layout_configs())
    for (auto [rows, cols] : {std::pair<Index, Index>{0, 5}, {5, 0}, {0, 0}}) {
      INFO(c.label << " shape " << rows << "x" << cols);
      for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
        with_loss<S>(c, r, 0.1, Eigen::Array<S, -1, 1>(), Eigen::Array<S, -1, 1>(), [&](const auto& loss) {
          const Mat<S> x(rows, cols), y(rows, cols);
          Mat<S> g(rows, cols), e(rows, cols);
          const MaskMat m(rows, cols);
          const Vec<S> sw = Vec<S>::Ones(rows);
          if (r != Reduction::none) CHECK(loss.forward(x, y) == S(0));
          CHECK(loss.forward_backward(x, y, g) == S(0));
          CHECK(loss.forward_elements(x, y, e, m, sw) == S(0));
          loss.backward(x, y, g, m, sw);
          // All (zero) elements masked: mean is 0, not NaN.
          CHECK(loss.forward_backward(x, y, g, m, sw) == S(0));
        });
      }
      // Per-class vectors fit 0 x 5 (five classes, no samples).
      if (cols == 5) {
        with_loss<S>(c, Reduction::mean, 0.0, Eigen::Array<S, -1, 1>::Ones(5), Eigen::Array<S, -1, 1>::Constant(5, 2),
                     [&](const auto& loss) {
                       const Mat<S> x(rows, cols), y(rows, cols);
                       CHECK(loss.forward(x, y) == S(0));
                     });
      }
    }
}

TEMPLATE_TEST_CASE("1x1 inputs equal the long-double reference", "[layout][tiny]", float, double) {
  using S = TestType;
  const double rel = std::is_same_v<S, float> ? 2e-6 : 1e-14;
  for (const LossConfig& c : layout_configs())
    for (double xv : {-3.25, 0.0, 0.75, 4.5})
      for (double yv : {0.0, 1.0, 0.25}) {
        INFO(c.label << " x " << xv << " y " << yv);
        Eigen::Array<S, -1, 1> w(1), pw(1);
        w << S(1.5);
        pw << S(3);
        Vec<S> sw(1);
        sw << S(0.5);
        for (Reduction r : {Reduction::sum, Reduction::mean}) {
          with_loss<S>(c, r, 0.0, w, pw, [&](const auto& loss) {
            Mat<S> x(1, 1), y(1, 1), g(1, 1);
            x << S(xv);
            y << S(yv);
            const auto ref = reference_element(c, {xv, yv, 1.5, 3.0, 0.5, 0.0});
            const double l = double(loss.forward_backward(x, y, g, longtail::none, sw));
            require_close(l, double(ref.value), rel, 0, "loss");
            // Mean over 1 element = sum. The gradient is a difference of two terms of size up to
            // ~5 here; where they cancel exactly (x = 0, a = b) a build that fuses one product
            // into an FMA (-march=native) leaves their rounding error, so the floor is that size.
            require_close(double(g(0, 0)), double(ref.grad), rel, 5 * rel, "grad");
          });
        }
      }
}
