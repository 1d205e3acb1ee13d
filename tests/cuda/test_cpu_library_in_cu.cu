// SPDX-License-Identifier: Apache-2.0
// The CPU library and the CUDA API in one .cu translation unit, as in a user's CUDA trainer that
// computes class weights on the host and keeps a CPU loss beside the GPU one (validation, a CPU
// fallback). nvcc compiles the device side of every __host__ __device__ template that the CPU
// functors instantiate, on SIMD packets and in double; this file is built with
// --Werror=all-warnings (tests/cuda/CMakeLists.txt), so a math-core template that does not
// compile for the device there, or warns, fails the build. Runs on the host: no GPU needed.
//
// The results are compared with reference.cpp, the same CPU functors compiled by the host
// compiler alone.

#include <longtail/longtail.hpp>

#include <string>
#include <vector>

#include "cases.cuh"
#include "harness.cuh"

using namespace longtail_test;

namespace {

template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// forward_backward of a CPU functor on the problem, computed in this .cu file, in scalar S.
template <class S, class Loss>
Result run_here(const Loss& loss, const Problem& p) {
  const RowMatrix<S> x = Eigen::Map<const RowMatrix<float>>(p.x.data(), p.rows, p.cols).cast<S>();
  const RowMatrix<S> y = Eigen::Map<const RowMatrix<float>>(p.y.data(), p.rows, p.cols).cast<S>();
  RowMatrix<S> g(p.rows, p.cols);
  Result r;
  r.loss = static_cast<float>(loss.forward_backward(x, y, g));
  const RowMatrix<float> gf = g.template cast<float>();
  r.grad.assign(gf.data(), gf.data() + gf.size());
  return r;
}

template <class S>
Eigen::Array<S, Eigen::Dynamic, 1> as_array(const std::vector<float>& v) {
  return Eigen::Map<const Eigen::ArrayXf>(v.data(), static_cast<Eigen::Index>(v.size())).cast<S>();
}

}  // namespace

TEST_CASE("cuda host: the CPU functors work in a .cu file and match the host compiler's build", "[cuda][host]") {
  // 61 x 37: packet-sized chunks and a remainder in every row. The trainer's recipe: pos_weight
  // from the training counts, (N - n_c) / n_c capped at 7, computed here by class_weights.hpp.
  ProblemSpec spec;
  spec.rows = 61;
  spec.cols = 37;
  spec.seed = 77;
  Problem p = make_problem<float, std::uint8_t>(spec);
  const Eigen::Map<const RowMatrix<float>> targets(p.y.data(), p.rows, p.cols);
  longtail::ClassWeightOptions wopt;
  wopt.cap = 7;
  const Eigen::ArrayXf pos_weight = longtail::class_weights<float>(longtail::label_counts(targets), p.rows, wopt);
  REQUIRE(pos_weight.size() == p.cols);
  CHECK(pos_weight.maxCoeff() <= 7.0f);
  p.pos_weight.assign(pos_weight.data(), pos_weight.data() + pos_weight.size());

  // Float, here and in reference.cpp: the same formulas from the same compiler; a few ulp allow
  // for a different instruction selection of the two builds.
  const Tolerance same_code{1e-6, 0.0, 1e-7};
  // Double, here, against the float reference: the float reference's own accuracy.
  const Tolerance float_accuracy = storage_tolerance<float>();

  for (const auto& fc : focal_cases()) {
    INFO(fc.name);
    const Result ref = cpu_reference(fc.options, p, false);
    const longtail::cpu::FocalBCE<float> here(fc.options, {}, pos_weight);
    const Result f = run_here<float>(here, p);
    check_loss(fc.name + " float", f.loss, ref.loss, 1e-6);
    check_close(fc.name + " float grad", f.grad, ref.grad, same_code);
    const longtail::cpu::FocalBCE<double> here_double(fc.options, {}, as_array<double>(p.pos_weight));
    const Result d = run_here<double>(here_double, p);
    check_loss(fc.name + " double", d.loss, ref.loss);
    check_close(fc.name + " double grad", d.grad, ref.grad, float_accuracy);
  }
  const longtail::WeightedBCEOptions wo;
  const Result ref = cpu_reference(wo, p, false);
  const Result f = run_here<float>(longtail::cpu::WeightedBCE<float>(wo, {}, pos_weight), p);
  check_loss("weighted float", f.loss, ref.loss, 1e-6);
  check_close("weighted float grad", f.grad, ref.grad, same_code);
  const Result d = run_here<double>(longtail::cpu::WeightedBCE<double>(wo, {}, as_array<double>(p.pos_weight)), p);
  check_loss("weighted double", d.loss, ref.loss);
  check_close("weighted double grad", d.grad, ref.grad, float_accuracy);
}
