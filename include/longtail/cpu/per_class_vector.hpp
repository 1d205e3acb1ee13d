// SPDX-License-Identifier: Apache-2.0
#pragma once
// The per-class vectors (weight, pos_weight) as the functors' constructors take them: any real
// vector - an Eigen vector or array of any real scalar (class_weights<double>() for a
// FocalBCE<float>), a std::vector, an initializer list - converted to the functor's Scalar.
// Nothing is checked here: the constructor checks the shape and the values with the argument's
// name (ElementwiseLoss::set_class_vectors), so even a matrix passed by mistake gets a message
// naming it instead of an Eigen assertion.

#include <initializer_list>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "longtail/cpu/simd_abi.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN

class PerClassVector {
 public:
  using Index = Eigen::Index;

  /// Empty: every class weighs 1.
  PerClassVector() = default;

  /// Any Eigen dense object of a real (floating-point or integer) scalar. Copied element by
  /// element in storage order, whatever its shape (checked later, with the argument's name).
  template <class D>
  PerClassVector(const Eigen::DenseBase<D>& v) : rows_(v.rows()), cols_(v.cols()) {  // NOLINT: implicit
    using S = typename D::Scalar;
    static_assert(std::is_arithmetic_v<S> && !std::is_same_v<S, bool>,
                  "longtail: weight / pos_weight must hold real numbers (float, double, an integer type)");
    values_.resize(v.size());
    Index k = 0;
    for (Index j = 0; j < cols_; ++j)
      for (Index i = 0; i < rows_; ++i) values_[k++] = static_cast<double>(v.derived().coeff(i, j));
  }

  /// A std::vector of any real type.
  template <class S, class A>
  PerClassVector(const std::vector<S, A>& v)  // NOLINT: implicit
      : values_(static_cast<Index>(v.size())), rows_(static_cast<Index>(v.size())) {
    static_assert(std::is_arithmetic_v<S> && !std::is_same_v<S, bool>,
                  "longtail: weight / pos_weight must hold real numbers (float, double, an integer type)");
    for (std::size_t k = 0; k < v.size(); ++k) values_[static_cast<Index>(k)] = static_cast<double>(v[k]);
  }

  /// An initializer list: `{1.0, 2.5, 7.0}`.
  PerClassVector(std::initializer_list<double> v)  // NOLINT: implicit
      : values_(static_cast<Index>(v.size())), rows_(static_cast<Index>(v.size())) {
    Index k = 0;
    for (double x : v) values_[k++] = x;
  }

  Index size() const { return values_.size(); }
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  /// Whether it has the shape of a vector (n x 1, 1 x n, or empty).
  bool is_vector() const { return rows_ == 1 || cols_ == 1 || values_.size() == 0; }
  /// The values in double, as given (converted exactly from every real type but long double).
  const Eigen::ArrayXd& values() const { return values_; }

 private:
  Eigen::ArrayXd values_;
  Index rows_ = 0, cols_ = 1;
};

LONGTAIL_CPU_NAMESPACE_END
