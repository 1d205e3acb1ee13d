// SPDX-License-Identifier: Apache-2.0
// The public API with float logits (float and uint8 targets): GPU vs CPU parity for every loss
// parameterisation and option set, the call variants, shapes, alignment, in-place gradients,
// determinism, and every error path. The functors instantiate all 9 math-core kernels for these
// two storage combinations; other storage types are in test_storage.cu.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "cases.cuh"
#include "gpu.cuh"

using namespace longtail_test;
namespace lc = longtail::cuda;

namespace {

/// The reduced loss and every gradient bit-identical.
void check_same_bits(const Result& got, const Result& want) {
  CHECK(bits_of(got.loss) == bits_of(want.loss));
  REQUIRE(got.grad.size() == want.grad.size());
  CHECK(std::memcmp(got.grad.data(), want.grad.data(), want.grad.size() * sizeof(float)) == 0);
}

template <class Target>
void parity_matrix(const std::vector<std::pair<std::int64_t, std::int64_t>>& shapes,
                   const std::vector<OptionCase>& options, std::uint64_t seed) {
  const Tolerance tol = storage_tolerance<float>();
  for (const auto& shape : shapes) {
    for (const auto& oc : options) {
      ProblemSpec spec;
      spec.rows = shape.first;
      spec.cols = shape.second;
      spec.soft_targets = true;
      spec.mask = oc.mask;
      spec.sample_weight = oc.sample_weight;
      spec.weight = oc.weight;
      spec.pos_weight = oc.pos_weight;
      spec.logit_offset = oc.logit_offset;
      spec.seed = ++seed;
      const Problem p = make_problem<float, Target>(spec);
      RunOptions run;
      run.offset = seed % 3 == 0 ? 1 : 0;
      run.in_place = seed % 2 == 0;
      run.separate_calls = seed % 4 == 1;
      auto check = [&](const std::string& name, const Result& got, const Result& ref) {
        const std::string what = name + " / " + oc.name + " / " + std::to_string(p.rows) + "x" +
                                 std::to_string(p.cols) + (run.offset ? " unaligned" : "") +
                                 (run.in_place ? " in place" : "");
        check_loss(what + " loss", got.loss, ref.loss);
        check_close(what + " grad", got.grad, ref.grad, tol);
        check_close(what + " elements", got.elements, ref.elements, tol);
      };
      {
        const auto o = with(longtail::WeightedBCEOptions{}, oc);
        check("weighted", gpu_run<lc::WeightedBCE, float, Target>(o, p, run), cpu_reference(o, p, true));
      }
      for (const auto& fc : focal_cases()) {
        const auto o = with(fc.options, oc);
        check(fc.name, gpu_run<lc::FocalBCE, float, Target>(o, p, run), cpu_reference(o, p, true));
      }
    }
  }
}

/// Float logits and uint8 targets of one shape, no optional inputs.
Problem plain_problem(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  ProblemSpec spec;
  spec.rows = rows;
  spec.cols = cols;
  spec.seed = seed;
  return make_problem<float, std::uint8_t>(spec);
}

std::vector<OptionCase> subset(std::initializer_list<const char*> names) {
  std::vector<OptionCase> out;
  for (const auto& c : option_cases())
    for (const char* n : names)
      if (c.name == n) out.push_back(c);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("cuda float: GPU matches the CPU functors for every loss and option", "[cuda][gpu][parity]", float,
                   std::uint8_t) {
  LONGTAIL_REQUIRE_GPU();
  parity_matrix<TestType>({{1, 1}, {3, 5}, {7, 33}, {64, 698}, {1, 1000}, {1000, 1}}, option_cases(), 100);
}

TEMPLATE_TEST_CASE("cuda float: GPU matches the CPU functors at 4096x698", "[cuda][gpu][parity]", float, std::uint8_t) {
  LONGTAIL_REQUIRE_GPU();
  parity_matrix<TestType>({{4096, 698}}, subset({"mean", "everything", "none+mask+pos_weight"}), 200);
}

TEST_CASE("cuda float: 100000x698, more tiles than partial sums (2 tiles per unit)", "[cuda][gpu][parity][big]") {
  LONGTAIL_REQUIRE_GPU();
  REQUIRE(lc::detail::Decomposition::of(std::int64_t(100000) * 698).tiles_per_unit == 2);
  ProblemSpec spec;
  spec.rows = 100000;
  spec.cols = 698;
  spec.mask = true;
  spec.weight = true;
  spec.seed = 5;
  const Problem p = make_problem<float, std::uint8_t>(spec);
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  RunOptions run;
  run.elements = false;
  const Result got = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p, run);
  const Result ref = cpu_reference(o, p, false);
  check_loss("loss", got.loss, ref.loss);
  check_close("grad", got.grad, ref.grad, storage_tolerance<float>());
}

TEST_CASE("cuda float: masked NaN logits never reach the loss or the gradient", "[cuda][gpu]") {
  LONGTAIL_REQUIRE_GPU();
  ProblemSpec spec;
  spec.rows = 300;
  spec.cols = 77;
  spec.mask = true;
  spec.nan_under_mask = true;
  const Problem p = make_problem<float, float>(spec);
  for (const auto& fc : focal_cases()) {
    INFO(fc.name);
    const Result got = gpu_run<lc::FocalBCE, float, float>(fc.options, p);
    const Result ref = cpu_reference(fc.options, p, true);
    check_loss(fc.name, got.loss, ref.loss);
    check_close(fc.name + " grad", got.grad, ref.grad, storage_tolerance<float>());
  }
}

TEST_CASE("cuda float: empty batches give a loss of 0", "[cuda][gpu]") {
  LONGTAIL_REQUIRE_GPU();
  DeviceBuffer<float> loss(1);
  DeviceBuffer<unsigned char> ws(lc::workspace_size(0, 698));
  for (auto shape : {std::pair<std::int64_t, std::int64_t>{0, 698}, {5, 0}}) {
    CUDA_REQUIRE(cudaMemset(loss.get(), 0xff, sizeof(float)));
    lc::Batch<float, float> batch{nullptr, nullptr, shape.first, shape.second};
    lc::FocalBCE<float> focal;
    CUDA_REQUIRE(focal.forward(batch, loss.get(), {ws.get(), ws.size()}));
    CHECK(download_scalar(loss.get()) == 0.0f);
  }
}

TEST_CASE("cuda float: loss scaling multiplies the gradient only", "[cuda][gpu]") {
  LONGTAIL_REQUIRE_GPU();
  ProblemSpec spec;
  spec.rows = 129;
  spec.cols = 698;
  spec.mask = true;
  const Problem p = make_problem<float, std::uint8_t>(spec);
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  auto run_scaled = [&](float scale) {
    return gpu_evaluate<float, std::uint8_t>(p, RunOptions{},
                                             [&](const auto& batch, const auto& classes, auto out, const auto& ws) {
                                               out.grad_scale = scale;
                                               return lc::FocalBCE<float>(o, classes).evaluate(batch, out, ws);
                                             });
  };
  const Result one = run_scaled(1.0f), scaled = run_scaled(1024.0f);
  CHECK(bits_of(one.loss) == bits_of(scaled.loss));
  for (std::size_t k = 0; k < one.grad.size(); ++k) {
    // Scaling by a power of two is exact unless it leaves float's range.
    if (one.grad[k] * 1024.0f != scaled.grad[k]) {
      FAIL_CHECK("element " << k << ": " << one.grad[k] << " * 1024 != " << scaled.grad[k]);
      break;
    }
  }
}

TEST_CASE("cuda float: the raw launchers (size query, launch) agree with the functors bitwise", "[cuda][gpu]") {
  LONGTAIL_REQUIRE_GPU();
  ProblemSpec spec;
  spec.rows = 333;
  spec.cols = 698;
  spec.mask = true;
  spec.pos_weight = true;
  const Problem p = make_problem<float, std::uint8_t>(spec);
  const auto o = longtail::FocalBCEOptions::asymmetric(1.0, 4.0, 0.05);
  const Result via_functor = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p);
  const Result via_launcher = gpu_evaluate<float, std::uint8_t>(
      p, RunOptions{}, [&](const auto& batch, const auto& classes, const auto& out, const auto& ws) {
        std::size_t bytes = 0;
        const cudaError_t query = lc::focal_bce(nullptr, bytes, o, classes, batch, out);
        if (query != cudaSuccess || bytes != ws.bytes) return cudaErrorUnknown;
        return lc::focal_bce(ws.d_ptr, bytes, o, classes, batch, out);
      });
  check_same_bits(via_launcher, via_functor);
  check_loss("raw launcher vs CPU", via_launcher.loss, cpu_reference(o, p, false).loss);
  const auto w = longtail::WeightedBCEOptions{};
  const Result weighted = gpu_evaluate<float, std::uint8_t>(
      p, RunOptions{}, [&](const auto& batch, const auto& classes, const auto& out, const auto& ws) {
        std::size_t bytes = ws.bytes;
        return lc::weighted_bce(ws.d_ptr, bytes, w, classes, batch, out);
      });
  check_loss("weighted raw launcher vs CPU", weighted.loss, cpu_reference(w, p, false).loss);
}

// ---- determinism ------------------------------------------------------------------------------

TEST_CASE("cuda float: the loss and gradients are bit-identical across runs and grid sizes",
          "[cuda][gpu][determinism]") {
  LONGTAIL_REQUIRE_GPU();
  ProblemSpec spec;
  spec.rows = 4096;
  spec.cols = 698;
  spec.mask = true;
  spec.sample_weight = true;
  spec.weight = true;
  spec.seed = 9;
  const Problem p = make_problem<float, std::uint8_t>(spec);
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  RunOptions run;
  run.elements = false;
  const Result first = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p, run);
  for (int grid : {0, 0, 1, 3, 64, 1000}) {  // 0: the device's own choice
    lc::detail::grid_blocks_override() = grid;
    const Result again = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p, run);
    lc::detail::grid_blocks_override() = 0;
    INFO("grid override " << grid);
    check_same_bits(again, first);
  }
}

TEST_CASE("cuda float: the dependent finalize launch changes no bit", "[cuda][gpu][determinism][big]") {
  LONGTAIL_REQUIRE_GPU();
  // 100001 x 698: 2 tiles per unit and a partial last tile, so stage 1 runs long enough for a
  // finalize that read the partials too early to see unfinished ones.
  const Problem p = plain_problem(100001, 698, 21);
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  RunOptions run;
  run.elements = false;
  // Which launch this device gets: dependent iff compute capability 9+ and this binary carries
  // compute_90+ code (nvcc's __CUDA_ARCH_LIST__; detail/launch.cuh asks the runtime instead).
  int device = 0, major = 0;
  CUDA_REQUIRE(cudaGetDevice(&device));
  CUDA_REQUIRE(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  constexpr int archs[] = {__CUDA_ARCH_LIST__};
  const int newest = *std::max_element(std::begin(archs), std::end(archs));
  bool dependent_launch = false;
  CUDA_REQUIRE(lc::detail::dependent_finalize_supported(dependent_launch));
  INFO("compute capability major " << major << ", newest compiled architecture " << newest);
  CHECK(dependent_launch == (major >= 9 && newest >= 900));
  const Result dependent = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p, run);
  check_loss("dependent finalize vs CPU", dependent.loss, cpu_reference(o, p, false).loss);
  lc::detail::dependent_finalize_enabled() = false;
  const Result ordinary = gpu_run<lc::FocalBCE, float, std::uint8_t>(o, p, run);
  lc::detail::dependent_finalize_enabled() = true;
  check_same_bits(ordinary, dependent);
}

TEST_CASE("cuda float: a call captured in a CUDA graph gives the eager call's bits", "[cuda][gpu][determinism]") {
  LONGTAIL_REQUIRE_GPU();
  // Training loops replay graphs: the launch sequence (stage 1, then the finalize kernel, a
  // programmatic dependent launch on sm_90+) must be capturable and give the same bits.
  const Problem p = plain_problem(4096, 698, 5);
  StorageArrays<float, std::uint8_t> a(p, 0);
  DeviceBuffer<float> x(a.x), g_eager(p.n()), g_graph(p.n()), losses(2);
  DeviceBuffer<std::uint8_t> y(a.y);
  DeviceBuffer<unsigned char> ws(lc::workspace_size(p.rows, p.cols));
  cudaStream_t stream;
  CUDA_REQUIRE(cudaStreamCreate(&stream));
  const lc::Batch<float, std::uint8_t> batch{x.get(), y.get(), p.rows, p.cols};
  const lc::FocalBCE<float> focal(longtail::FocalBCEOptions::focal(2.0, 0.25));
  CUDA_REQUIRE(focal.forward_backward(batch, losses.get(), g_eager.get(), {ws.get(), ws.size()}, stream));
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  const cudaError_t captured =
      focal.forward_backward(batch, losses.get() + 1, g_graph.get(), {ws.get(), ws.size()}, stream);
  CUDA_REQUIRE(cudaStreamEndCapture(stream, &graph));
  CUDA_REQUIRE(captured);
  CUDA_REQUIRE(cudaGraphInstantiateWithFlags(&exec, graph, 0));
  for (int k = 0; k < 3; ++k) CUDA_REQUIRE(cudaGraphLaunch(exec, stream));
  CUDA_REQUIRE(cudaStreamSynchronize(stream));
  const auto l = losses.download();
  CHECK(bits_of(l[1]) == bits_of(l[0]));
  check_loss("graph replay vs CPU", l[1], cpu_reference(longtail::FocalBCEOptions::focal(2.0, 0.25), p, false).loss);
  const auto ge = g_eager.download(), gg = g_graph.download();
  CHECK(std::memcmp(ge.data(), gg.data(), ge.size() * sizeof(float)) == 0);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST_CASE("cuda float: launches on a stream are deterministic under concurrency", "[cuda][gpu][determinism]") {
  LONGTAIL_REQUIRE_GPU();
  ProblemSpec spec;
  spec.rows = 2048;
  spec.cols = 698;
  const Problem p = make_problem<float, float>(spec);
  StorageArrays<float, float> a(p, 0);
  DeviceBuffer<float> x(a.x), y(a.y), g0(p.n()), g1(p.n()), losses(64);
  DeviceBuffer<unsigned char> ws0(lc::workspace_size(p.rows, p.cols)), ws1(lc::workspace_size(p.rows, p.cols));
  cudaStream_t s0, s1;
  CUDA_REQUIRE(cudaStreamCreate(&s0));
  CUDA_REQUIRE(cudaStreamCreate(&s1));
  const lc::Batch<float, float> batch{x.get(), y.get(), p.rows, p.cols};
  const lc::WeightedBCE<float> bce;
  for (int k = 0; k < 32; ++k) {  // two streams, each with its own workspace, interleaved
    CUDA_REQUIRE(bce.forward_backward(batch, losses.get() + 2 * k, g0.get(), {ws0.get(), ws0.size()}, s0));
    CUDA_REQUIRE(bce.forward_backward(batch, losses.get() + 2 * k + 1, g1.get(), {ws1.get(), ws1.size()}, s1));
  }
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const auto l = losses.download();
  for (float v : l) CHECK(bits_of(v) == bits_of(l[0]));
  const auto a0 = g0.download(), a1 = g1.download();
  CHECK(std::memcmp(a0.data(), a1.data(), a0.size() * sizeof(float)) == 0);
  cudaStreamDestroy(s0);
  cudaStreamDestroy(s1);
}

// ---- input value checks (check_inputs) ----------------------------------------------------------

TEST_CASE("cuda float: check_inputs reports bad target and weight values", "[cuda][gpu][errors]") {
  LONGTAIL_REQUIRE_GPU();
  std::vector<float> x(6, 0.5f), y = {0, 1, 0, 2, 1, 0}, sw = {1.0f, -1.0f};
  DeviceBuffer<float> dx(x), dy(y), dsw(sw), loss(1);
  DeviceBuffer<unsigned char> ws(lc::workspace_size(2, 3));
  longtail::FocalBCEOptions o;
  o.execution.check_inputs = true;
  const lc::FocalBCE<float> focal(o);
  lc::Batch<float, float> batch{dx.get(), dy.get(), 2, 3};
  CHECK_THROWS_WITH(focal.forward(batch, loss.get(), {ws.get(), ws.size()}),
                    Catch::Contains("targets(1, 0) must be in [0, 1] (got 2)"));
  y[3] = 1;
  dy.upload(y);
  batch.d_sample_weight = dsw.get();
  CHECK_THROWS_WITH(focal.forward(batch, loss.get(), {ws.get(), ws.size()}),
                    Catch::Contains("sample_weight[1] must be finite and >= 0 (got -1)"));
  std::vector<float> w = {1, std::numeric_limits<float>::quiet_NaN(), 1};
  DeviceBuffer<float> dw(w);
  batch.d_sample_weight = nullptr;
  CHECK_THROWS_WITH(lc::FocalBCE<float>(o, {dw.get(), nullptr, 3}).forward(batch, loss.get(), {ws.get(), ws.size()}),
                    Catch::Contains("FocalBCE: weight[1] must be finite and >= 0"));
  std::vector<std::uint8_t> y8 = {0, 1, 0, 1, 3, 0};
  DeviceBuffer<std::uint8_t> dy8(y8);
  lc::Batch<float, std::uint8_t> batch8{dx.get(), dy8.get(), 2, 3};
  CHECK_THROWS_WITH(focal.forward(batch8, loss.get(), {ws.get(), ws.size()}),
                    Catch::Contains("targets(1, 1) must be in [0, 1] (got 3)"));
}

// ---- error paths (host checks: they run without a GPU) ------------------------------------------

namespace {

// Never dereferenced: every call below fails its host checks before anything is launched. 4 GiB
// apart, so that the overlap checks see distinct arrays.
float* fake_device_ptr(std::uintptr_t k) { return reinterpret_cast<float*>((k + 1) << 32); }

}  // namespace

TEST_CASE("cuda errors: the raw launchers return cudaErrorInvalidValue and launch nothing", "[cuda][host][errors]") {
  const std::int64_t rows = 64, cols = 698;
  std::size_t ws_bytes = 0;
  lc::Batch<float, float> batch{fake_device_ptr(1), fake_device_ptr(2), rows, cols};
  lc::Outputs<float> out;
  out.d_loss = fake_device_ptr(3);
  out.d_grad = fake_device_ptr(4);
  void* ws = fake_device_ptr(20);

  // Size query (CUB convention): null workspace, success, no other argument needed.
  CHECK(lc::focal_bce(nullptr, ws_bytes, longtail::FocalBCEOptions{}, {},
                      lc::Batch<float, float>{nullptr, nullptr, rows, cols}, lc::Outputs<float>{}) == cudaSuccess);
  CHECK(ws_bytes == lc::workspace_size(rows, cols));
  CHECK(ws_bytes > 0);
  std::size_t query = 0;
  CHECK(lc::weighted_bce(nullptr, query, longtail::WeightedBCEOptions{}, {},
                         lc::Batch<float, float>{nullptr, nullptr, -1, cols},
                         lc::Outputs<float>{}) == cudaErrorInvalidValue);

  auto focal = [&](const longtail::FocalBCEOptions& o, const lc::ClassWeights& c, const lc::Batch<float, float>& b,
                   const lc::Outputs<float>& oo, std::size_t bytes) { return lc::focal_bce(ws, bytes, o, c, b, oo); };
  const longtail::FocalBCEOptions good;
  // The unmodified call passes every host check (it would launch), so each failure below is due to
  // the one thing changed.
  CHECK_NOTHROW(good.validate());
  CHECK_NOTHROW(lc::detail::check_arguments("FocalBCE", {}, batch, out, {ws, ws_bytes}, ws_bytes));
  SECTION("bad options") {
    auto o = good;
    o.gamma_pos = -1;
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    o = good;
    o.alpha = 1.5;
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    o = good;
    o.label_smoothing = 1.0;
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    o = good;
    o.margin = std::numeric_limits<double>::quiet_NaN();
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    o = good;
    o.mean_divisor = 0.0;
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    o = good;
    o.reduction = longtail::Reduction::sum;
    o.mean_divisor = 100.0;
    CHECK(focal(o, {}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    longtail::WeightedBCEOptions w;
    w.label_smoothing = -0.1;
    CHECK(lc::weighted_bce(ws, ws_bytes, w, {}, batch, out) == cudaErrorInvalidValue);
    w = {};
    w.mean_divisor = std::numeric_limits<double>::infinity();
    CHECK(lc::weighted_bce(ws, ws_bytes, w, {}, batch, out) == cudaErrorInvalidValue);
  }
  SECTION("null pointers") {
    auto b = batch;
    b.d_logits = nullptr;
    CHECK(focal(good, {}, b, out, ws_bytes) == cudaErrorInvalidValue);
    b = batch;
    b.d_targets = nullptr;
    CHECK(focal(good, {}, b, out, ws_bytes) == cudaErrorInvalidValue);
    CHECK(focal(good, {}, batch, lc::Outputs<float>{}, ws_bytes) == cudaErrorInvalidValue);  // nothing to compute
  }
  SECTION("workspace too small") {
    CHECK(focal(good, {}, batch, out, ws_bytes - 1) == cudaErrorInvalidValue);
    CHECK(focal(good, {}, batch, out, 0) == cudaErrorInvalidValue);
  }
  SECTION("shapes and per-class vectors") {
    auto b = batch;
    b.rows = -3;
    CHECK(focal(good, {}, b, out, ws_bytes) == cudaErrorInvalidValue);
    b = batch;
    b.rows = std::numeric_limits<std::int64_t>::max() / 2;
    CHECK(focal(good, {}, b, out, ws_bytes) == cudaErrorInvalidValue);  // overflow
    CHECK(focal(good, {fake_device_ptr(5), nullptr, cols - 1}, batch, out, ws_bytes) == cudaErrorInvalidValue);
    CHECK(focal(good, {nullptr, fake_device_ptr(5), 0}, batch, out, ws_bytes) == cudaErrorInvalidValue);
  }
  SECTION("overlapping outputs") {
    auto o2 = out;
    o2.d_grad = batch.d_logits ? const_cast<float*>(batch.d_logits) + 1 : nullptr;  // partly overlaps the logits
    CHECK(focal(good, {}, batch, o2, ws_bytes) == cudaErrorInvalidValue);
    o2 = out;
    o2.d_loss_elements = o2.d_grad + 5;
    CHECK(focal(good, {}, batch, o2, ws_bytes) == cudaErrorInvalidValue);
    o2 = out;
    o2.grad_scale = std::numeric_limits<float>::infinity();
    CHECK(focal(good, {}, batch, o2, ws_bytes) == cudaErrorInvalidValue);
  }
}

TEST_CASE("cuda errors: the functors throw longtail::invalid_argument naming the argument", "[cuda][host][errors]") {
  using Catch::Contains;
  longtail::FocalBCEOptions bad;
  bad.gamma_neg = -2;
  CHECK_THROWS_AS(lc::FocalBCE<float>(bad), longtail::invalid_argument);
  CHECK_THROWS_WITH(lc::FocalBCE<float>(bad), Contains("FocalBCEOptions.gamma_neg"));
  longtail::WeightedBCEOptions bad_divisor;
  bad_divisor.reduction = longtail::Reduction::none;
  bad_divisor.mean_divisor = 8.0;
  CHECK_THROWS_WITH(lc::WeightedBCE<float>(bad_divisor),
                    Contains("WeightedBCEOptions.mean_divisor is set (8) but reduction is none"));
  CHECK_THROWS_WITH(lc::WeightedBCE<float>(longtail::WeightedBCEOptions{}, {fake_device_ptr(1), nullptr, 0}),
                    Contains("num_classes must be set"));
  lc::FocalBCE<float> focal;
  CHECK_THROWS_WITH(focal.set_grad_scale(std::numeric_limits<float>::quiet_NaN()), Contains("grad_scale"));

  const std::int64_t rows = 10, cols = 20;
  const lc::Workspace ws{fake_device_ptr(50), lc::workspace_size(rows, cols)};
  lc::Batch<float, std::uint8_t> batch{fake_device_ptr(1), reinterpret_cast<std::uint8_t*>(fake_device_ptr(2)), rows,
                                       cols};
  float* d_loss = fake_device_ptr(3);
  CHECK_NOTHROW(lc::detail::check_arguments("FocalBCE", {}, batch, lc::Outputs<float>{d_loss}, ws, ws.bytes));
  auto b = batch;
  b.d_logits = nullptr;
  CHECK_THROWS_WITH(focal.forward(b, d_loss, ws), Contains("batch.d_logits is null"));
  b = batch;
  b.d_targets = nullptr;
  CHECK_THROWS_WITH(focal.forward(b, d_loss, ws), Contains("batch.d_targets is null"));
  CHECK_THROWS_WITH(focal.forward(batch, d_loss, {ws.d_ptr, ws.bytes - 8}), Contains("workspace has"));
  CHECK_THROWS_WITH(focal.forward(batch, d_loss, {nullptr, ws.bytes}), Contains("workspace is null"));
  CHECK_THROWS_WITH(focal.forward(batch, nullptr, ws), Contains("nothing to compute"));
  b = batch;
  b.cols = -1;
  CHECK_THROWS_WITH(focal.forward(b, d_loss, ws), Contains("batch.cols must be >= 0 (got -1)"));
  CHECK_THROWS_WITH(lc::FocalBCE<float>(longtail::FocalBCEOptions{}, {fake_device_ptr(9), nullptr, cols + 1})
                        .forward(batch, d_loss, ws),
                    Contains("per-class vectors have 21 classes but logits have 20 columns"));
  CHECK_THROWS_WITH(focal.backward(batch, fake_device_ptr(1) + 3, ws), Contains("d_grad overlaps batch.d_logits"));
}
