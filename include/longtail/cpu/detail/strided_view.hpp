// SPDX-License-Identifier: Apache-2.0
#pragma once
// Non-owning strided 2-D views over Eigen objects, and the shape / argument checks the functors
// run on every call (O(rows + cols), always on).

#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "longtail/cpu/simd_abi.hpp"
#include "longtail/error.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN
namespace detail {

using Index = Eigen::Index;

/// Element (i, j) lives at data[i * row_stride + j * col_stride].
template <class T>
struct StridedView {
  T* data = nullptr;
  Index rows = 0, cols = 0, row_stride = 0, col_stride = 0;
};

template <class D>
constexpr bool has_direct_access = (int(std::decay_t<D>::Flags) & Eigen::DirectAccessBit) != 0;

/// Whether D's coefficients may be written (not a Map of const data, not a block of a const
/// object).
template <class D>
constexpr bool is_lvalue = (int(std::decay_t<D>::Flags) & Eigen::LvalueBit) != 0;

/// false, dependent on T: a static_assert that fires only when its template is instantiated.
template <class T>
constexpr bool always_false = false;

/// View of an Eigen object with direct access (Matrix, Array, Map, Ref, blocks of those).
template <class D>
auto make_view(const Eigen::DenseBase<D>& m) {
  using S = typename D::Scalar;
  const D& d = m.derived();
  StridedView<const S> v;
  v.data = d.data();
  v.rows = d.rows();
  v.cols = d.cols();
  const Index inner = d.innerStride(), outer = d.outerStride();
  v.row_stride = D::IsRowMajor ? outer : inner;
  v.col_stride = D::IsRowMajor ? inner : outer;
  return v;
}

/// View of a writable Eigen object with direct access (the functors' outputs).
template <class D>
auto make_mutable_view(Eigen::DenseBase<D>& m) {
  const auto v = make_view(m);
  return StridedView<typename D::Scalar>{m.derived().data(), v.rows, v.cols, v.row_stride, v.col_stride};
}

/// Objects without direct access (expressions such as `y.cast<float>()` or `x * 2`) are
/// evaluated once into a plain matrix; objects with direct access are used in place.
template <class D>
decltype(auto) direct(const Eigen::DenseBase<D>& m) {
  if constexpr (has_direct_access<D>) {
    return m.derived();
  } else {
    return Eigen::Matrix < typename D::Scalar, Eigen::Dynamic, Eigen::Dynamic,
           D::IsRowMajor ? Eigen::RowMajor : Eigen::ColMajor > (m.derived());
  }
}

template <class D>
void check_shape(const char* name, const Eigen::DenseBase<D>& m, Index rows, Index cols) {
  if (m.rows() != rows || m.cols() != cols)
    longtail::detail::fail(name, " has shape ", m.rows(), "x", m.cols(), " but logits are ", rows, "x", cols);
}

}  // namespace detail
LONGTAIL_CPU_NAMESPACE_END
