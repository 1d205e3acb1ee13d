// SPDX-License-Identifier: Apache-2.0
#include "gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <stdexcept>

#if defined(LONGTAIL_TRAIN_CBLAS)
#include <cblas.h>
#endif

namespace longtail_train {
namespace {

std::atomic<int> g_backend{-1};  // -1: not chosen yet (auto on first use)

#if defined(LONGTAIL_TRAIN_CBLAS)
CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::none ? CblasNoTrans : CblasTrans; }
#endif

[[maybe_unused]] std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return s;
}

template <class Scalar>
void eigen_gemm(Op op_a, Op op_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, Scalar alpha, const Scalar* a,
                Eigen::Index lda, const Scalar* b, Eigen::Index ldb, Scalar beta, Scalar* c, Eigen::Index ldc) {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
  const CMap A(a, op_a == Op::none ? m : k, op_a == Op::none ? k : m, Eigen::OuterStride<>(lda));
  const CMap B(b, op_b == Op::none ? k : n, op_b == Op::none ? n : k, Eigen::OuterStride<>(ldb));
  MMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == Scalar(0))
    C.setZero();
  else if (beta != Scalar(1))
    C *= beta;
  if (op_a == Op::none && op_b == Op::none)
    C.noalias() += alpha * (A * B);
  else if (op_a == Op::none)
    C.noalias() += alpha * (A * B.transpose());
  else if (op_b == Op::none)
    C.noalias() += alpha * (A.transpose() * B);
  else
    C.noalias() += alpha * (A.transpose() * B.transpose());
}

}  // namespace

const char* to_string(GemmBackend b) { return b == GemmBackend::blas ? "blas" : "eigen"; }

bool blas_available() {
#if defined(LONGTAIL_TRAIN_CBLAS)
  return true;
#else
  return false;
#endif
}

std::string blas_description() {
#if defined(LONGTAIL_TRAIN_OPENBLAS)
  std::string s = "OpenBLAS";
  if (const char* cfg = openblas_get_config()) s += std::string(" (") + cfg + ")";
  if (const char* core = openblas_get_corename()) s += std::string(", ") + core + " kernels";
  return s;
#elif defined(LONGTAIL_TRAIN_CBLAS)
  return "CBLAS";
#else
  return "none";
#endif
}

GemmBackend auto_gemm_backend() {
#if defined(LONGTAIL_TRAIN_OPENBLAS)
#if defined(__AVX512F__)
  const char* core_c = openblas_get_corename();
  const std::string core = lower(core_c ? core_c : "");
  const bool blas_has_avx512 = core.find("skylakex") != std::string::npos ||
                               core.find("cooperlake") != std::string::npos ||
                               core.find("sapphire") != std::string::npos;
  return blas_has_avx512 ? GemmBackend::blas : GemmBackend::eigen;
#else
  return GemmBackend::blas;
#endif
#elif defined(LONGTAIL_TRAIN_CBLAS)
  return GemmBackend::blas;
#else
  return GemmBackend::eigen;
#endif
}

void set_gemm_backend(GemmBackend b) {
  if (b == GemmBackend::blas && !blas_available())
    throw std::invalid_argument("--gemm blas: this longtail-train was built without a BLAS library");
  g_backend.store(static_cast<int>(b));
}

GemmBackend gemm_backend() {
  int b = g_backend.load();
  if (b < 0) {
    b = static_cast<int>(auto_gemm_backend());
    g_backend.store(b);
  }
  return static_cast<GemmBackend>(b);
}

void set_compute_threads(int n) {
  n = std::max(n, 1);
  Eigen::setNbThreads(n);
#if defined(LONGTAIL_TRAIN_OPENBLAS)
  openblas_set_num_threads(n);
#endif
}

template <>
void gemm<float>(Op op_a, Op op_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, float alpha, const float* a,
                 Eigen::Index lda, const float* b, Eigen::Index ldb, float beta, float* c, Eigen::Index ldc) {
  if (m == 0 || n == 0) return;
#if defined(LONGTAIL_TRAIN_CBLAS)
  if (gemm_backend() == GemmBackend::blas) {
    cblas_sgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb),
                beta, c, int(ldc));
    return;
  }
#endif
  eigen_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(Op op_a, Op op_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, double alpha, const double* a,
                  Eigen::Index lda, const double* b, Eigen::Index ldb, double beta, double* c, Eigen::Index ldc) {
  if (m == 0 || n == 0) return;
#if defined(LONGTAIL_TRAIN_CBLAS)
  if (gemm_backend() == GemmBackend::blas) {
    cblas_dgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb),
                beta, c, int(ldc));
    return;
  }
#endif
  eigen_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace longtail_train
