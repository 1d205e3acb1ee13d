// SPDX-License-Identifier: Apache-2.0
#pragma once
// Dense matrix products for the model: C = alpha * op(A) * op(B) + beta * C on row-major storage,
// computed by an optimised CBLAS (OpenBLAS) when the trainer was built with one, or by Eigen's own
// GEMM otherwise. The backend is a process-wide choice (--gemm), made once at start-up.
//
// Why a choice: OpenBLAS is usually the faster kernel, but Debian's OpenBLAS 0.3.21 does not know
// AMD Zen 4 and runs its AVX2 ("Haswell") kernels there, while Eigen compiled with -march=native
// uses AVX-512. `auto` therefore picks Eigen when OpenBLAS runs a kernel without AVX-512 on a
// build that has it, and OpenBLAS otherwise (OPENBLAS_CORETYPE=SkylakeX lets OpenBLAS use its
// AVX-512 kernels on such machines; `auto` then picks it).

#include <string>

#include <Eigen/Core>

#include "dataset.hpp"

namespace longtail_train {

enum class GemmBackend { eigen, blas };

const char* to_string(GemmBackend b);

/// True when the trainer was built with a CBLAS library.
bool blas_available();

/// "OpenBLAS 0.3.21, Haswell kernels" / "CBLAS" / "none".
std::string blas_description();

/// The backend `--gemm auto` resolves to on this machine (see the file comment).
GemmBackend auto_gemm_backend();

/// Process-wide backend (default: auto_gemm_backend()). Throws std::invalid_argument when BLAS is
/// requested but the trainer was built without it.
void set_gemm_backend(GemmBackend b);
GemmBackend gemm_backend();

/// Threads for Eigen's GEMM and for the BLAS library (process-wide). n >= 1.
void set_compute_threads(int n);

enum class Op { none, transpose };

/// C (m x n) = alpha * op(A) * op(B) + beta * C; op(A) is m x k, op(B) is k x n. All row-major with
/// leading dimensions lda, ldb, ldc (elements between consecutive rows). beta = 0 ignores C's
/// previous contents (NaN included).
template <class Scalar>
void gemm(Op op_a, Op op_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, Scalar alpha, const Scalar* a,
          Eigen::Index lda, const Scalar* b, Eigen::Index ldb, Scalar beta, Scalar* c, Eigen::Index ldc);

/// The same on row-major Eigen matrices: C = alpha * op(A) * op(B) + beta * C (C already sized).
template <class Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, const RowMatrix<Scalar>& a, const RowMatrix<Scalar>& b, Scalar beta,
          RowMatrix<Scalar>& c) {
  const Eigen::Index m = op_a == Op::none ? a.rows() : a.cols();
  const Eigen::Index k = op_a == Op::none ? a.cols() : a.rows();
  const Eigen::Index n = op_b == Op::none ? b.cols() : b.rows();
  const Eigen::Index kb = op_b == Op::none ? b.rows() : b.cols();
  eigen_assert(k == kb && c.rows() == m && c.cols() == n);
  (void)kb;
  gemm<Scalar>(op_a, op_b, m, n, k, alpha, a.data(), a.cols(), b.data(), b.cols(), beta, c.data(), c.cols());
}

}  // namespace longtail_train
