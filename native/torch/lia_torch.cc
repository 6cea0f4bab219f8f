// lia_torch: the native half of lia's `torch` TensorFlow.js backend (src/engine/torch/).
//
// Tensors live in libtorch memory and are named by integer handles; JavaScript owns every handle
// and frees it explicitly (tfjs's disposeData), never through the garbage collector. Each tfjs
// kernel maps onto one entry of the op table below: `run(code, outDtype, inputs, attrs)` executes
// it on the tensors behind `inputs` with numeric attributes `attrs` and returns the handle(s) of
// its result(s). Layout: tfjs's NHWC tensors are used by the convolution and pooling ops as NCHW
// views with channels_last strides (a permute, no copy), which is oneDNN's preferred layout.
//
// dtype codes shared with src/engine/torch/addon.ts: 0 float32, 1 int32, 2 bool.
#include <napi.h>
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include "lia_shared.h"
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using at::Tensor;
using Ints = std::vector<int64_t>;
using Outs = std::vector<Tensor>;

// ------------------------------------------------------------------------------------------------
// Handles
// ------------------------------------------------------------------------------------------------
std::vector<Tensor> g_slots;
// Where new tensors are made (setDevice): the CPU, or a CUDA device when libtorch has CUDA. Every
// op follows its inputs' device; tensors made from nothing (write, fill, index lists) go here.
at::Device g_device = at::kCPU;

Tensor dev(const Tensor& t) { return t.device() == g_device ? t : t.to(g_device); }
at::TensorOptions devOpts(at::ScalarType dtype) { return at::TensorOptions().dtype(dtype).device(g_device); }
Tensor longs(const std::vector<int64_t>& v) { return dev(at::tensor(v, at::kLong)); }
std::vector<int32_t> g_free;
int64_t g_live = 0;

int32_t store(Tensor t) {
  ++g_live;
  if (!g_free.empty()) {
    int32_t id = g_free.back();
    g_free.pop_back();
    g_slots[id] = std::move(t);
    return id;
  }
  g_slots.push_back(std::move(t));
  return static_cast<int32_t>(g_slots.size() - 1);
}

const Tensor& get(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(g_slots.size()) || !g_slots[id].defined())
    throw std::runtime_error("lia_torch: unknown or freed tensor handle " + std::to_string(id));
  return g_slots[id];
}

at::ScalarType scalarType(int64_t code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kInt;
    case 2: return at::kBool;
  }
  throw std::runtime_error("lia_torch: unknown dtype code " + std::to_string(code));
}

int dtypeCode(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return 0;
    case at::kInt: return 1;
    case at::kBool: return 2;
    default: return -1;
  }
}

// tfjs knows float32, int32 and bool only: int64 and float64 results come back to those.
Tensor normalise(Tensor t, int64_t outDtype) {
  if (outDtype >= 0) {
    auto want = scalarType(outDtype);
    if (t.scalar_type() != want) t = t.to(want);
    return t;
  }
  switch (t.scalar_type()) {
    case at::kFloat: case at::kInt: case at::kBool: return t;
    case at::kDouble: case at::kHalf: case at::kBFloat16: return t.to(at::kFloat);
    default: return t.to(at::kInt);
  }
}

// ------------------------------------------------------------------------------------------------
// Attributes: every op reads its numeric attributes in order from one flat list.
// ------------------------------------------------------------------------------------------------
struct Attrs {
  const std::vector<double>& v;
  size_t i = 0;
  double d() {
    if (i >= v.size()) throw std::runtime_error("lia_torch: too few attributes");
    return v[i++];
  }
  int64_t n() { return static_cast<int64_t>(d()); }
  bool b() { return d() != 0; }
  Ints list(int64_t count) {
    Ints out(count);
    for (auto& x : out) x = n();
    return out;
  }
  Ints rest() {
    Ints out;
    while (i < v.size()) out.push_back(n());
    return out;
  }
};

using OpFn = std::function<Outs(const std::vector<Tensor>&, Attrs&)>;

struct OpEntry {
  std::string name;
  OpFn fn;
};

std::vector<OpEntry>& table() {
  static std::vector<OpEntry> t;
  return t;
}

void def(const std::string& name, OpFn fn) { table().push_back({name, std::move(fn)}); }

void defUnary(const std::string& name, std::function<Tensor(const Tensor&)> f) {
  def(name, [f](const std::vector<Tensor>& in, Attrs&) { return Outs{f(in[0])}; });
}

void defBinary(const std::string& name, std::function<Tensor(const Tensor&, const Tensor&)> f) {
  def(name, [f](const std::vector<Tensor>& in, Attrs&) { return Outs{f(in[0], in[1])}; });
}

Tensor asFloat(const Tensor& t) { return t.is_floating_point() ? t : t.to(at::kFloat); }

// ------------------------------------------------------------------------------------------------
// Convolution and pooling helpers (NHWC in, NHWC out; torch sees NCHW channels_last views)
// ------------------------------------------------------------------------------------------------
// Padding per side as tfjs's output grid needs it; bottom/right may be negative (a crop).
struct Conv {
  int64_t sh, sw, dh, dw, top, bottom, left, right;
  bool channelsLast;
  bool symmetric() const { return top == bottom && left == right && top >= 0 && left >= 0; }
};

Conv readConv(Attrs& a) {
  Conv c;
  c.sh = a.n(); c.sw = a.n(); c.dh = a.n(); c.dw = a.n();
  c.top = a.n(); c.bottom = a.n(); c.left = a.n(); c.right = a.n();
  c.channelsLast = a.b();
  return c;
}

Tensor toNCHW(const Tensor& x, bool channelsLast) { return channelsLast ? x.permute({0, 3, 1, 2}) : x; }
Tensor fromNCHW(const Tensor& x, bool channelsLast) { return channelsLast ? x.permute({0, 2, 3, 1}) : x; }
Tensor padNCHW(const Tensor& x, const Conv& c, double value = 0) {
  return at::constant_pad_nd(x, {c.left, c.right, c.top, c.bottom}, value);
}

// tfjs filter [kh, kw, cin, cout] -> torch [cout, cin, kh, kw]
Tensor convWeight(const Tensor& f) { return f.permute({3, 2, 0, 1}); }
// tfjs depthwise filter [kh, kw, C, mult] -> torch [C*mult, 1, kh, kw]
Tensor depthwiseWeight(const Tensor& f) {
  return f.permute({2, 3, 0, 1}).reshape({f.size(2) * f.size(3), 1, f.size(0), f.size(1)});
}

Tensor convForward(const Tensor& x, const Tensor& w, const Conv& c, int64_t groups) {
  Tensor xn = toNCHW(x, c.channelsLast);
  Ints pad{c.top, c.left};
  if (!c.symmetric()) {
    xn = padNCHW(xn, c);
    pad = {0, 0};
  }
  Tensor y = at::conv2d(xn, w, {}, {c.sh, c.sw}, pad, {c.dh, c.dw}, groups);
  return fromNCHW(y, c.channelsLast);
}

// Gradient with respect to the input of a convolution, through libtorch's convolution backward
// (oneDNN) on an input of the right shape and layout; with asymmetric (or negative) padding, the
// gradient of the padded input, cut back to the input (rows a crop dropped get zeros).
// inputShape is in tfjs layout.
Tensor convBackpropInput(const Tensor& dy, const Tensor& w, const Ints& inputShape, const Conv& c, int64_t groups) {
  Tensor dyn = toNCHW(dy, c.channelsLast);
  int64_t N = inputShape[0];
  int64_t C = c.channelsLast ? inputShape[3] : inputShape[1];
  int64_t H = c.channelsLast ? inputShape[1] : inputShape[2];
  int64_t W = c.channelsLast ? inputShape[2] : inputShape[3];
  bool sym = c.symmetric();
  int64_t hp = sym ? H : H + c.top + c.bottom, wp = sym ? W : W + c.left + c.right;
  Ints pad = sym ? Ints{c.top, c.left} : Ints{0, 0};
  int64_t kh = w.size(2), kw = w.size(3);
  int64_t hExpected = (H + c.top + c.bottom - c.dh * (kh - 1) - 1) / c.sh + 1;
  int64_t wExpected = (W + c.left + c.right - c.dw * (kw - 1) - 1) / c.sw + 1;
  // tfjs's conv2dTranspose accepts a dy whose grid is not the convolution's; its loops read only
  // the convolution's grid of dy (zeros beyond dy).
  if (hExpected != dyn.size(2) || wExpected != dyn.size(3))
    dyn = at::constant_pad_nd(dyn, {0, wExpected - dyn.size(3), 0, hExpected - dyn.size(2)}, 0);
  auto format = c.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  Tensor shapeOnly = at::empty({N, C, hp, wp}, dy.options().memory_format(format));
  auto r = at::convolution_backward(dyn, shapeOnly, w, c10::nullopt, {c.sh, c.sw}, pad, {c.dh, c.dw}, false, {0, 0}, groups,
                                    {true, false, false});
  Tensor dx = std::get<0>(r);
  if (!sym) dx = at::constant_pad_nd(dx, {-c.left, -c.right, -c.top, -c.bottom}, 0);
  return fromNCHW(dx, c.channelsLast);
}

// Gradient with respect to the filter (torch layout [cout, cin/groups, kh, kw]).
Tensor convBackpropFilter(const Tensor& x, const Tensor& dy, const Ints& torchFilterShape, const Conv& c, int64_t groups) {
  Tensor xn = toNCHW(x, c.channelsLast);
  Tensor dyn = toNCHW(dy, c.channelsLast);
  Ints pad{c.top, c.left};
  if (!c.symmetric()) {
    xn = padNCHW(xn, c);
    pad = {0, 0};
  }
  Tensor w = at::empty(torchFilterShape, x.options());
  auto r = at::convolution_backward(dyn, xn, w, c10::nullopt, {c.sh, c.sw}, pad, {c.dh, c.dw}, false, {0, 0}, groups,
                                    {false, true, false});
  return std::get<1>(r);
}

struct Pool {
  int64_t kh, kw, sh, sw, top, bottom, left, right;
  bool padded() const { return top || bottom || left || right; }
};

Pool readPool(Attrs& a) {
  Pool p;
  p.kh = a.n(); p.kw = a.n(); p.sh = a.n(); p.sw = a.n();
  p.top = a.n(); p.bottom = a.n(); p.left = a.n(); p.right = a.n();
  return p;
}

Tensor padPool(const Tensor& xn, const Pool& p, double value) {
  return at::constant_pad_nd(xn, {p.left, p.right, p.top, p.bottom}, value);
}

// tfjs's average pool ignores padded cells: divide window sums by the count of real cells.
Tensor poolCounts(const Tensor& xn, const Pool& p) {
  Tensor ones = at::ones({1, 1, xn.size(2), xn.size(3)}, xn.options());
  return at::avg_pool2d(padPool(ones, p, 0), {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, 1);
}

Tensor avgPool(const Tensor& x, const Pool& p) {
  Tensor xn = toNCHW(x, true);
  if (!p.padded()) return fromNCHW(at::avg_pool2d(xn, {p.kh, p.kw}, {p.sh, p.sw}), true);
  Tensor sums = at::avg_pool2d(padPool(xn, p, 0), {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, 1);
  return fromNCHW(sums / poolCounts(xn, p), true);
}

// tfjs's gradient of its average pool scales every window by 1 / (filter area), also where the window
// overlaps padding (its forward divides those by the count of real cells): kept, as tfjs defines it.
Tensor avgPoolGrad(const Tensor& dy, const Tensor& x, const Pool& p) {
  Tensor xn = toNCHW(x, true), dyn = toNCHW(dy, true);
  if (!p.padded())
    return fromNCHW(at::avg_pool2d_backward(dyn, xn, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, c10::nullopt), true);
  Tensor xp = padPool(xn, p, 0);
  Tensor g = at::avg_pool2d_backward(dyn, xp, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, false, true, p.kh * p.kw);
  return fromNCHW(at::constant_pad_nd(g, {-p.left, -p.right, -p.top, -p.bottom}, 0), true);
}

std::tuple<Tensor, Tensor, Tensor> maxPoolWithIndices(const Tensor& x, const Pool& p) {
  Tensor xn = toNCHW(x, true);
  // tfjs's max pool skips NaN (it keeps the running max on a false comparison).
  if (xn.is_floating_point()) xn = at::where(at::isnan(xn), at::full_like(xn, -std::numeric_limits<float>::infinity()), xn);
  Tensor xp = p.padded() ? padPool(xn, p, -std::numeric_limits<double>::infinity()) : xn;
  auto r = at::max_pool2d_with_indices(xp, {p.kh, p.kw}, {p.sh, p.sw}, {0, 0}, {1, 1}, false);
  return {std::get<0>(r), std::get<1>(r), xp};
}

// ------------------------------------------------------------------------------------------------
// Shape helpers
// ------------------------------------------------------------------------------------------------
Tensor reduceAll(const Tensor& x, const Ints& axes, bool keep, const std::function<Tensor(const Tensor&, int64_t, bool)>& one) {
  // Reduce the highest axis first so the lower axis numbers stay valid.
  Ints sorted = axes;
  std::sort(sorted.rbegin(), sorted.rend());
  Tensor y = x;
  for (auto ax : sorted) y = one(y, ax, keep);
  return y;
}

Ints shapeOf(const Tensor& t) { return Ints(t.sizes().begin(), t.sizes().end()); }

// Indices 0..n-1 for one axis of a mirror pad: reflect (no edge repeat) or symmetric (edge repeated).
Tensor mirrorIndex(int64_t n, int64_t before, int64_t after, bool symmetric) {
  std::vector<int64_t> idx;
  int64_t offset = symmetric ? 0 : 1;
  for (int64_t i = -before; i < n + after; ++i) {
    int64_t j = i;
    if (j < 0) j = -j - 1 + offset;
    if (j >= n) j = 2 * n - j - 1 - offset;
    idx.push_back(j);
  }
  return longs(idx);
}

// A float32 [m, k] x [k, n] product. Debian's libtorch (like its PyTorch) multiplies through the
// generic reference BLAS, which is slow; a 1x1 convolution runs the same product through oneDNN's
// JIT kernels, up to 10x faster at the dense layers' sizes. The choice is a fixed rule (no timing,
// so results are reproducible), from measurements of this project's shapes (`bench kernels`): a
// batch of 1x1 "images" (one per row) with few output channels; tiny products stay on mm.
//   rows:   images = rows of X [m, k],   filter = Y^T [n, k]  -> C       (n output channels)
//   rows^T: images = rows of Y^T [n, k], filter = X [m, k]    -> C^T, as a transposed view (m)
Tensor matmul2d(const Tensor& x, const Tensor& y) {
  int64_t m = x.size(0), k = x.size(1), n = y.size(1);
  bool floats = x.scalar_type() == at::kFloat && y.scalar_type() == at::kFloat;
  if (x.is_cuda() || !floats || m * k * n < (int64_t{1} << 18) || m == 0 || n == 0 || k == 0) return at::mm(x, y);
  const int64_t maxOut = 512;
  Tensor yt = y.t();
  // Elements each form has to copy to make its operands contiguous.
  auto copies = [](const Tensor& images, const Tensor& filter) {
    return (images.is_contiguous() ? 0 : images.numel()) + (filter.is_contiguous() ? 0 : filter.numel());
  };
  int64_t rowsCost = n <= maxOut ? copies(x, yt) : -1;
  int64_t rowsTCost = m <= maxOut ? copies(yt, x) : -1;
  auto as1x1 = [](const Tensor& t) { return t.contiguous().view({t.size(0), t.size(1), 1, 1}); };
  bool rows = rowsCost >= 0 && (rowsTCost < 0 || rowsCost < rowsTCost || (rowsCost == rowsTCost && n <= m));
  if (rows) return at::conv2d(as1x1(x), as1x1(yt)).view({m, n});
  if (rowsTCost >= 0) return at::conv2d(as1x1(yt), as1x1(x)).view({n, m}).t();
  return at::mm(x, y);
}

Tensor activate(Tensor y, int64_t act, double leakyAlpha, const Tensor* prelu) {
  switch (act) {
    case 0: return y;                                 // linear
    case 1: return at::relu(y);                       // relu
    case 2: return at::clamp(y, 0, 6);                // relu6
    case 3: return at::elu(y);                        // elu
    case 4: return at::leaky_relu(y, leakyAlpha);     // leakyrelu
    case 5: return at::where(y < 0, *prelu * y, y);   // prelu
    case 6: return at::sigmoid(y);                    // sigmoid
  }
  throw std::runtime_error("lia_torch: unknown activation code " + std::to_string(act));
}

// tfjs's bilinear resize as source rows/cols (floor, ceil) and fractions per output row/col, in the
// attribute order newH, newW, rowFloor[newH], rowCeil[newH], rowFrac[newH], the same for columns.
struct Bilinear {
  int64_t nh, nw;
  Tensor r0, r1, rf, c0, c1, cf;  // rf: [1, nh, 1, 1], cf: [1, 1, nw, 1]
};

Bilinear readBilinear(Attrs& a) {
  Bilinear r;
  r.nh = a.n();
  r.nw = a.n();
  auto axis = [&](int64_t n, Tensor& lo, Tensor& hi, Tensor& frac, Ints shape) {
    lo = longs(a.list(n));
    hi = longs(a.list(n));
    std::vector<double> f(n);
    for (auto& v : f) v = a.d();
    frac = dev(at::tensor(f, at::kDouble).to(at::kFloat)).reshape(shape);
  };
  axis(r.nh, r.r0, r.r1, r.rf, {1, r.nh, 1, 1});
  axis(r.nw, r.c0, r.c1, r.cf, {1, 1, r.nw, 1});
  return r;
}

// tfjs's fused ops: y (+ bias) then an activation. inputs[2..] are the optional bias and PReLU
// weights; attrs continue with hasBias, activation, leakyAlpha. Per-channel vectors broadcast over
// the channel axis, which is the second one for NCHW data.
Tensor fusedEpilogue(Tensor y, const std::vector<Tensor>& in, Attrs& a, bool channelsFirst) {
  bool hasBias = a.b();
  int64_t act = a.n();
  double alpha = a.d();
  auto perChannel = [&](Tensor t) { return channelsFirst && t.dim() == 1 ? t.reshape({-1, 1, 1}) : t; };
  size_t next = 2;
  if (hasBias) y = y + perChannel(in[next++]);
  Tensor prelu = next < in.size() ? perChannel(in[next]) : Tensor();
  return activate(y, act, alpha, prelu.defined() ? &prelu : nullptr);
}

// StyleGAN2's styled convolution in one op (src/nn/modulated-conv.ts, the same float32 operations in
// the same order as its composed tfjs ops): inputs x [N,H,W,Cin] (NHWC), s [N,Cin] (the styles),
// weight [k,k,Cin,Cout] (tfjs layout), bias [Cout], noise (broadcast to the output), strength [];
// attrs wScale, upsample, demodulate, hasNoise, activation (0 linear, 1 leaky ReLU), alpha, gain.
//   h = up?(x ⊙ s); w = weight·wScale; y = conv(h, w, 'same') ⊙ d (d = rsqrt(s² · Σ_k w² + 1e-8));
//   y = act(y + noise·strength + bias)·gain.
struct StyledConvAttrs {
  double wScale;
  bool upsample, demodulate, noise;
  int64_t act;
  double alpha, gain;
};

StyledConvAttrs readStyledConv(Attrs& a) {
  StyledConvAttrs c;
  c.wScale = a.d();
  c.upsample = a.b();
  c.demodulate = a.b();
  c.noise = a.b();
  c.act = a.n();
  c.alpha = a.d();
  c.gain = a.d();
  return c;
}

Tensor styledConvForward(const std::vector<Tensor>& in, const StyledConvAttrs& c) {
  const Tensor &x = in[0], &s = in[1], &weight = in[2], &bias = in[3];
  int64_t n = x.size(0), cin = x.size(3), k = weight.size(0), cout = weight.size(3);
  Tensor h = x * s.reshape({n, 1, 1, cin});
  if (c.upsample) h = fromNCHW(at::upsample_nearest2d(toNCHW(h, true), {2 * h.size(1), 2 * h.size(2)}), true);
  Tensor w = weight * c.wScale;
  int64_t p = (k - 1) / 2;
  Conv conv{1, 1, 1, 1, p, k - 1 - p, p, k - 1 - p, true};
  Tensor y = convForward(h, convWeight(w), conv, 1);
  if (c.demodulate) {
    Tensor wsq = at::sum(w * w, Ints{0, 1});
    Tensor d = at::rsqrt(at::mm(s * s, wsq) + 1e-8);
    y = y * d.reshape({n, 1, 1, cout});
  }
  if (c.noise) y = y + in[4] * in[5];
  y = y + bias;
  if (c.act == 1) y = at::leaky_relu(y, c.alpha) * c.gain;
  return y;
}

// The equalised-lr dense layer in one op (src/nn/dense.ts, the same float32 operations in the same
// order): inputs x [N,in], weight [in,out], bias [out] (ignored without hasBias); attrs wScale,
// lrMul, hasBias, activation (0 linear, 1 leaky ReLU), alpha, gain.
//   y = act(x · (weight·wScale) + bias·lrMul)·gain
Tensor denseForward(const std::vector<Tensor>& in, Attrs& a) {
  double wScale = a.d(), lrMul = a.d();
  bool hasBias = a.b();
  int64_t act = a.n();
  double alpha = a.d(), gain = a.d();
  Tensor y = matmul2d(in[0], in[1] * wScale);
  if (hasBias) y = y + in[2] * lrMul;
  if (act == 1) y = at::leaky_relu(y, alpha) * gain;
  return y;
}

// The gradients of a fused forward (inputs[0..count-1], then dy) through libtorch's autograd on the
// same forward: one call for every input's gradient (zeros where an input does not matter).
Outs autogradOf(const std::vector<Tensor>& in, size_t count, const std::function<Tensor(const std::vector<Tensor>&)>& forward,
                const std::vector<bool>& wanted) {
  c10::AutoGradMode grad(true);
  std::vector<Tensor> leaves, wrt;
  for (size_t i = 0; i < count; ++i) {
    leaves.push_back(in[i].detach().requires_grad_(wanted[i]));
    if (wanted[i]) wrt.push_back(leaves[i]);
  }
  Tensor y = forward(leaves);
  auto g = torch::autograd::grad({y}, wrt, {in[count]}, false, false, true);
  Outs out;
  size_t k = 0;
  for (size_t i = 0; i < count; ++i) {
    Tensor gi = wanted[i] ? g[k++] : Tensor();
    out.push_back(gi.defined() ? gi.detach() : at::zeros_like(in[i]));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The op table
// ------------------------------------------------------------------------------------------------
void defineOps() {
  // --- unary, elementwise ---
  defUnary("Abs", [](const Tensor& x) { return at::abs(x); });
  defUnary("Acos", [](const Tensor& x) { return at::acos(asFloat(x)); });
  defUnary("Acosh", [](const Tensor& x) { return at::acosh(asFloat(x)); });
  defUnary("Asin", [](const Tensor& x) { return at::asin(asFloat(x)); });
  defUnary("Asinh", [](const Tensor& x) { return at::asinh(asFloat(x)); });
  defUnary("Atan", [](const Tensor& x) { return at::atan(asFloat(x)); });
  defUnary("Atanh", [](const Tensor& x) { return at::atanh(asFloat(x)); });
  defUnary("Ceil", [](const Tensor& x) { return at::ceil(asFloat(x)); });
  defUnary("Cos", [](const Tensor& x) { return at::cos(asFloat(x)); });
  defUnary("Cosh", [](const Tensor& x) { return at::cosh(asFloat(x)); });
  defUnary("Elu", [](const Tensor& x) { return at::elu(asFloat(x)); });
  defUnary("Erf", [](const Tensor& x) { return at::erf(asFloat(x)); });
  defUnary("Exp", [](const Tensor& x) { return at::exp(asFloat(x)); });
  defUnary("Expm1", [](const Tensor& x) { return at::expm1(asFloat(x)); });
  defUnary("Floor", [](const Tensor& x) { return at::floor(asFloat(x)); });
  defUnary("IsFinite", [](const Tensor& x) { return at::isfinite(x); });
  defUnary("IsInf", [](const Tensor& x) { return at::isinf(x); });
  defUnary("IsNan", [](const Tensor& x) { return at::isnan(x); });
  defUnary("Log", [](const Tensor& x) { return at::log(asFloat(x)); });
  defUnary("Log1p", [](const Tensor& x) { return at::log1p(asFloat(x)); });
  defUnary("LogicalNot", [](const Tensor& x) { return at::logical_not(x); });
  defUnary("Neg", [](const Tensor& x) { return at::neg(x); });
  defUnary("Reciprocal", [](const Tensor& x) { return at::reciprocal(asFloat(x)); });
  defUnary("Relu", [](const Tensor& x) { return at::relu(x); });
  defUnary("Relu6", [](const Tensor& x) { return at::clamp(x, 0, 6); });
  defUnary("Round", [](const Tensor& x) { return at::round(asFloat(x)); });
  defUnary("Rsqrt", [](const Tensor& x) { return at::rsqrt(asFloat(x)); });
  defUnary("Selu", [](const Tensor& x) { return at::selu(asFloat(x)); });
  defUnary("Sigmoid", [](const Tensor& x) { return at::sigmoid(asFloat(x)); });
  defUnary("Sign", [](const Tensor& x) { return at::sign(x); });
  defUnary("Sin", [](const Tensor& x) { return at::sin(asFloat(x)); });
  defUnary("Sinh", [](const Tensor& x) { return at::sinh(asFloat(x)); });
  defUnary("Softplus", [](const Tensor& x) { return at::softplus(asFloat(x)); });
  defUnary("Sqrt", [](const Tensor& x) { return at::sqrt(asFloat(x)); });
  defUnary("Square", [](const Tensor& x) { return at::mul(x, x); });
  defUnary("Tan", [](const Tensor& x) { return at::tan(asFloat(x)); });
  defUnary("Tanh", [](const Tensor& x) { return at::tanh(asFloat(x)); });
  defUnary("ZerosLike", [](const Tensor& x) { return at::zeros_like(x, at::MemoryFormat::Contiguous); });
  defUnary("OnesLike", [](const Tensor& x) { return at::ones_like(x, at::MemoryFormat::Contiguous); });
  def("Cast", [](const std::vector<Tensor>& in, Attrs& a) {
    auto to = scalarType(a.n());
    if (to == at::kBool) return Outs{in[0] != 0};
    return Outs{in[0].to(to)};
  });
  def("LeakyRelu", [](const std::vector<Tensor>& in, Attrs& a) {
    double alpha = a.d();
    if (in[0].is_floating_point()) return Outs{at::leaky_relu(in[0], alpha)};
    return Outs{at::where(in[0] < 0, in[0] * alpha, in[0])};
  });
  // lrelu(x, alpha) * gain and its gradient dy * gain * (x > 0 ? 1 : alpha): the same float32
  // operations, in the same order, as tfjs's leakyRelu, mul and their gradients (engine/fused.ts).
  def("FusedLeakyRelu", [](const std::vector<Tensor>& in, Attrs& a) {
    double alpha = a.d(), gain = a.d();
    return Outs{at::leaky_relu(in[0], alpha).mul_(gain)};
  });
  def("FusedLeakyReluGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    double alpha = a.d(), gain = a.d();
    return Outs{at::leaky_relu_backward(in[0] * gain, in[1], alpha, false)};
  });
  // The optimiser and EMA steps of train/adam.ts and train/ema.ts, with their 'js' paths' arithmetic:
  // float64 throughout, rounded to float32 only where those store (m, v, p; the ema).
  // inputs: p, g, m, v; attrs: beta1, beta2, stepSize, epsHat -> p', m', v'
  auto adamOne = [](const Tensor& p0, const Tensor& g0, const Tensor& m0, const Tensor& v0, double beta1, double beta2,
                    double stepSize, double epsHat, Outs& out) {
    Tensor g = g0.to(at::kDouble);
    Tensor m = m0.to(at::kDouble).mul_(beta1).add_(g * (1 - beta1));
    Tensor v = v0.to(at::kDouble).mul_(beta2).add_(g * (1 - beta2) * g);
    Tensor p = p0.to(at::kDouble).sub_(m * stepSize / (v.sqrt() + epsHat));
    out.push_back(p.to(at::kFloat));
    out.push_back(m.to(at::kFloat));
    out.push_back(v.to(at::kFloat));
  };
  def("AdamStep", [adamOne](const std::vector<Tensor>& in, Attrs& a) {
    double beta1 = a.d(), beta2 = a.d(), stepSize = a.d(), epsHat = a.d();
    Outs out;
    adamOne(in[0], in[1], in[2], in[3], beta1, beta2, stepSize, epsHat, out);
    return out;
  });
  // Every parameter in one call (PyTorch's multi-tensor optimisers): inputs p0, g0, m0, v0, p1, …;
  // the same attrs -> p0', m0', v0', p1', … with AdamStep's arithmetic per tensor.
  def("AdamStepMulti", [adamOne](const std::vector<Tensor>& in, Attrs& a) {
    double beta1 = a.d(), beta2 = a.d(), stepSize = a.d(), epsHat = a.d();
    if (in.size() % 4) throw std::runtime_error("lia_torch: AdamStepMulti takes (p, g, m, v) per parameter");
    Outs out;
    out.reserve(in.size() / 4 * 3);
    for (size_t i = 0; i < in.size(); i += 4) adamOne(in[i], in[i + 1], in[i + 2], in[i + 3], beta1, beta2, stepSize, epsHat, out);
    return out;
  });
  // inputs: ema, p; attrs: beta -> p + (ema - p) * beta
  auto emaOne = [](const Tensor& ema, const Tensor& p0, double beta) {
    Tensor p = p0.to(at::kDouble);
    return (p + (ema.to(at::kDouble) - p) * beta).to(at::kFloat);
  };
  def("EmaStep", [emaOne](const std::vector<Tensor>& in, Attrs& a) { return Outs{emaOne(in[0], in[1], a.d())}; });
  // inputs: ema0, p0, ema1, p1, …; attrs: beta -> ema0', ema1', …
  def("EmaStepMulti", [emaOne](const std::vector<Tensor>& in, Attrs& a) {
    double beta = a.d();
    if (in.size() % 2) throw std::runtime_error("lia_torch: EmaStepMulti takes (ema, p) per parameter");
    Outs out;
    out.reserve(in.size() / 2);
    for (size_t i = 0; i < in.size(); i += 2) out.push_back(emaOne(in[i], in[i + 1], beta));
    return out;
  });
  // inputs x, s, weight, bias, noise, strength (noise and strength ignored without hasNoise)
  def("StyledConv", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{styledConvForward(in, readStyledConv(a))}; });
  // inputs x, s, weight, bias, noise, strength, dy -> dx, ds, dweight, dbias, dstrength: libtorch's
  // autograd through the same forward (first order only: the generator needs no second order).
  def("StyledConvGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    StyledConvAttrs c = readStyledConv(a);
    c10::AutoGradMode grad(true);
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < 6; ++i) leaves.push_back(in[i].detach().requires_grad_(i != 4 && in[i].is_floating_point()));
    Tensor y = styledConvForward(leaves, c);
    std::vector<Tensor> wrt{leaves[0], leaves[1], leaves[2], leaves[3]};
    if (c.noise) wrt.push_back(leaves[5]);
    auto g = torch::autograd::grad({y}, wrt, {in[6]}, false, false, true);
    Outs out;
    for (size_t i = 0; i < 4; ++i) out.push_back(g[i].defined() ? g[i].detach() : at::zeros_like(in[i]));
    out.push_back(c.noise && g[4].defined() ? g[4].detach() : at::zeros_like(in[5]));
    return out;
  });
  // The equalised-lr convolution (src/nn/conv.ts): inputs x [N,H,W,Cin], weight [k,k,Cin,Cout],
  // bias [Cout] (ignored without hasBias); attrs wScale, hasBias -> conv(x, weight·wScale, 'same') + bias.
  def("ScaledConv", [](const std::vector<Tensor>& in, Attrs& a) {
    double wScale = a.d();
    bool hasBias = a.b();
    int64_t k = in[1].size(0), p = (k - 1) / 2;
    Conv conv{1, 1, 1, 1, p, k - 1 - p, p, k - 1 - p, true};
    Tensor y = convForward(in[0], convWeight(in[1] * wScale), conv, 1);
    return Outs{hasBias ? y + in[2] : y};
  });
  // Its two gradients, each with the weight scale folded in (src/engine/fused.ts differentiates each
  // by the others): inputs dy [N,H,W,Cout], weight [k,k,Cin,Cout]; attrs wScale -> conv2dTranspose(dy, weight·wScale)
  def("ScaledConvBackpropInput", [](const std::vector<Tensor>& in, Attrs& a) {
    double wScale = a.d();
    const Tensor &dy = in[0], &w = in[1];
    int64_t k = w.size(0), p = (k - 1) / 2;
    Conv conv{1, 1, 1, 1, p, k - 1 - p, p, k - 1 - p, true};
    return Outs{convBackpropInput(dy, convWeight(w * wScale), {dy.size(0), dy.size(1), dy.size(2), w.size(2)}, conv, 1)};
  });
  // inputs x [N,H,W,Cin], dy [N,H,W,Cout]; attrs wScale, k -> the filter gradient [k,k,Cin,Cout]·wScale
  def("ScaledConvBackpropFilter", [](const std::vector<Tensor>& in, Attrs& a) {
    double wScale = a.d();
    int64_t k = a.n(), p = (k - 1) / 2;
    Conv conv{1, 1, 1, 1, p, k - 1 - p, p, k - 1 - p, true};
    Tensor g = convBackpropFilter(in[0], in[1], {in[1].size(3), in[0].size(3), k, k}, conv, 1);
    return Outs{g.permute({2, 3, 1, 0}).contiguous() * wScale};
  });
  // inputs x, weight, bias
  def("Dense", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{denseForward(in, a)}; });
  // inputs x, weight, bias, dy -> dx, dweight, dbias (first order only).
  def("DenseGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    std::vector<double> attrs(a.v.begin() + a.i, a.v.end());
    bool hasBias = attrs.size() > 2 && attrs[2] != 0;
    return autogradOf(in, 3, [&](const std::vector<Tensor>& leaves) {
      Attrs again{attrs};
      return denseForward(leaves, again);
    }, {true, true, hasBias});
  });
  // Normal draws made where new tensors live (the CPU or the GPU), from libtorch's generator of that
  // device seeded by the call: the same seed gives the same values on the same device and libtorch.
  // attrs: seed (0 .. 2^53), mean, std, shape...
  def("RandomNormal", [](const std::vector<Tensor>&, Attrs& a) {
    // splitmix64 of the seed: the CPU generator (mt19937) keeps only 32 bits of its seed, so seeds that
    // differ above bit 32 must differ below it too.
    uint64_t seed = static_cast<uint64_t>(a.d()) + 0x9E3779B97F4A7C15ULL;
    seed = (seed ^ (seed >> 30)) * 0xBF58476D1CE4E5B9ULL;
    seed = (seed ^ (seed >> 27)) * 0x94D049BB133111EBULL;
    seed ^= seed >> 31;
    double mean = a.d(), stddev = a.d();
    Ints shape = a.rest();
    Tensor out = at::empty(shape, devOpts(at::kFloat));
    if (g_device.is_cpu()) {
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
      out.normal_(mean, stddev, gen);
    } else {
      // The device's default generator (Philox on CUDA): reseeding it resets its offset, so each
      // call's draws depend on its seed only. normal_ takes the generator's lock itself.
      at::Generator gen = at::globalContext().defaultGenerator(g_device);
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(seed);
      }
      out.normal_(mean, stddev, gen);
    }
    return Outs{out};
  });
  def("Step", [](const std::vector<Tensor>& in, Attrs& a) {
    double alpha = a.d();
    Tensor x = asFloat(in[0]);
    Tensor y = at::where(x > 0, at::ones_like(x), at::full_like(x, alpha));
    return Outs{at::where(at::isnan(x), x, y)};
  });
  def("ClipByValue", [](const std::vector<Tensor>& in, Attrs& a) {
    double lo = a.d(), hi = a.d();
    return Outs{at::clamp(in[0], lo, hi)};
  });
  def("EluGrad", [](const std::vector<Tensor>& in, Attrs&) {
    const Tensor &dy = in[0], &y = in[1];
    return Outs{at::where(y < 0, dy * (y + 1), dy)};
  });

  // --- binary, broadcasting ---
  defBinary("Add", [](const Tensor& a, const Tensor& b) { return at::add(a, b); });
  defBinary("Sub", [](const Tensor& a, const Tensor& b) { return at::sub(a, b); });
  defBinary("Multiply", [](const Tensor& a, const Tensor& b) { return at::mul(a, b); });
  defBinary("RealDiv", [](const Tensor& a, const Tensor& b) { return at::div(asFloat(a), b); });
  defBinary("FloorDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b, "floor"); });
  defBinary("DivNoNan", [](const Tensor& a, const Tensor& b) {
    Tensor q = at::div(asFloat(a), b);
    return at::where(b == 0, at::zeros_like(q), q);
  });
  defBinary("Maximum", [](const Tensor& a, const Tensor& b) { return at::maximum(a, b); });
  defBinary("Minimum", [](const Tensor& a, const Tensor& b) { return at::minimum(a, b); });
  defBinary("Pow", [](const Tensor& a, const Tensor& b) { return at::pow(a, b); });
  defBinary("SquaredDifference", [](const Tensor& a, const Tensor& b) {
    Tensor d = at::sub(a, b);
    return at::mul(d, d);
  });
  defBinary("Mod", [](const Tensor& a, const Tensor& b) { return at::remainder(a, b); });
  defBinary("Atan2", [](const Tensor& a, const Tensor& b) { return at::atan2(asFloat(a), asFloat(b)); });
  defBinary("Equal", [](const Tensor& a, const Tensor& b) { return at::eq(a, b); });
  defBinary("NotEqual", [](const Tensor& a, const Tensor& b) { return at::ne(a, b); });
  defBinary("Greater", [](const Tensor& a, const Tensor& b) { return at::gt(a, b); });
  defBinary("GreaterEqual", [](const Tensor& a, const Tensor& b) { return at::ge(a, b); });
  defBinary("Less", [](const Tensor& a, const Tensor& b) { return at::lt(a, b); });
  defBinary("LessEqual", [](const Tensor& a, const Tensor& b) { return at::le(a, b); });
  defBinary("LogicalAnd", [](const Tensor& a, const Tensor& b) { return at::logical_and(a, b); });
  defBinary("LogicalOr", [](const Tensor& a, const Tensor& b) { return at::logical_or(a, b); });
  defBinary("LogicalXor", [](const Tensor& a, const Tensor& b) { return at::logical_xor(a, b); });
  defBinary("Prelu", [](const Tensor& x, const Tensor& alpha) { return at::where(x < 0, alpha * x, x); });
  def("AddN", [](const std::vector<Tensor>& in, Attrs&) {
    Tensor s = in[0];
    for (size_t i = 1; i < in.size(); ++i) s = at::add(s, in[i]);
    return Outs{s};
  });
  def("Select", [](const std::vector<Tensor>& in, Attrs&) {
    Tensor cond = in[0];
    // tfjs lets a rank-1 condition pick whole rows of higher-rank operands.
    if (cond.dim() == 1 && in[1].dim() > 1) {
      Ints s(in[1].dim(), 1);
      s[0] = cond.size(0);
      cond = cond.reshape(s);
    }
    return Outs{at::where(cond, in[1], in[2])};
  });

  // --- reductions: attrs = keepDims, axes... ---
  auto defReduce = [](const std::string& name, std::function<Tensor(const Tensor&, const Ints&, bool)> f) {
    def(name, [f](const std::vector<Tensor>& in, Attrs& a) {
      bool keep = a.b();
      Ints axes = a.rest();
      if (axes.empty()) return Outs{in[0].clone()};
      return Outs{f(in[0], axes, keep)};
    });
  };
  defReduce("Sum", [](const Tensor& x, const Ints& ax, bool k) { return at::sum(x, ax, k); });
  defReduce("Mean", [](const Tensor& x, const Ints& ax, bool k) { return at::mean(asFloat(x), ax, k); });
  defReduce("Max", [](const Tensor& x, const Ints& ax, bool k) { return at::amax(x, ax, k); });
  defReduce("Min", [](const Tensor& x, const Ints& ax, bool k) { return at::amin(x, ax, k); });
  defReduce("Prod", [](const Tensor& x, const Ints& ax, bool k) {
    return reduceAll(x, ax, k, [](const Tensor& t, int64_t d, bool kk) { return at::prod(t, d, kk); });
  });
  defReduce("All", [](const Tensor& x, const Ints& ax, bool k) {
    return reduceAll(x, ax, k, [](const Tensor& t, int64_t d, bool kk) { return at::all(t, d, kk); });
  });
  defReduce("Any", [](const Tensor& x, const Ints& ax, bool k) {
    return reduceAll(x, ax, k, [](const Tensor& t, int64_t d, bool kk) { return at::any(t, d, kk); });
  });
  // tfjs skips NaN (its comparisons with NaN are false) and takes the first extreme; bools count as 0/1.
  def("ArgMax", [](const std::vector<Tensor>& in, Attrs& a) {
    Tensor x = in[0].scalar_type() == at::kBool ? in[0].to(at::kInt) : in[0];
    if (x.is_floating_point()) x = at::where(at::isnan(x), at::full_like(x, -std::numeric_limits<float>::infinity()), x);
    return Outs{at::argmax(x, a.n())};
  });
  def("ArgMin", [](const std::vector<Tensor>& in, Attrs& a) {
    Tensor x = in[0].scalar_type() == at::kBool ? in[0].to(at::kInt) : in[0];
    if (x.is_floating_point()) x = at::where(at::isnan(x), at::full_like(x, std::numeric_limits<float>::infinity()), x);
    return Outs{at::argmin(x, a.n())};
  });
  auto defCumulative = [](const std::string& name, bool product) {
    def(name, [product](const std::vector<Tensor>& in, Attrs& a) {
      int64_t axis = a.n();
      bool exclusive = a.b(), reverse = a.b();
      Tensor x = reverse ? at::flip(in[0], {axis}) : in[0];
      Tensor y = product ? at::cumprod(x, axis) : at::cumsum(x, axis);
      if (exclusive) {
        int64_t n = x.size(axis);
        Tensor first = product ? at::ones_like(x.narrow(axis, 0, 1)) : at::zeros_like(x.narrow(axis, 0, 1));
        y = at::cat({first.to(y.scalar_type()), y.narrow(axis, 0, std::max<int64_t>(n - 1, 0))}, axis);
      }
      return Outs{reverse ? at::flip(y, {axis}) : y};
    });
  };
  defCumulative("Cumsum", false);
  defCumulative("Cumprod", true);
  def("Softmax", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{at::softmax(in[0], a.n())}; });

  // --- shapes and copies ---
  def("Reshape", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{in[0].reshape(a.rest())}; });
  def("Transpose", [](const std::vector<Tensor>& in, Attrs& a) {
    return Outs{in[0].permute(a.rest()).contiguous()};
  });
  def("Slice", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t r = in[0].dim();
    Ints begin = a.list(r), size = a.list(r);
    Tensor y = in[0];
    for (int64_t d = 0; d < r; ++d)
      if (begin[d] != 0 || size[d] != y.size(d)) y = y.narrow(d, begin[d], size[d]);
    return Outs{y};
  });
  // attrs: rank, begin[rank], strides[rank], sizes[rank] (tfjs's sparse final shape), finalShape...
  def("StridedSlice", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t r = a.n();
    Ints begin = a.list(r), strides = a.list(r), sizes = a.list(r);
    Ints finalShape = a.rest();
    Tensor y = in[0];
    for (int64_t d = 0; d < r && d < y.dim(); ++d) {
      if (strides[d] == 1) {
        if (begin[d] != 0 || sizes[d] != y.size(d)) y = y.narrow(d, begin[d], sizes[d]);
      } else {
        y = y.index_select(d, at::arange(sizes[d], devOpts(at::kLong)) * strides[d] + begin[d]);
      }
    }
    return Outs{y.reshape(finalShape)};
  });
  def("Concat", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{at::cat(in, a.n())}; });
  def("Pack", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{at::stack(in, a.n())}; });
  def("Unpack", [](const std::vector<Tensor>& in, Attrs& a) {
    auto parts = at::unbind(in[0], a.n());
    return Outs(parts.begin(), parts.end());
  });
  def("SplitV", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t axis = a.n();
    auto parts = at::split_with_sizes(in[0], a.rest(), axis);
    return Outs(parts.begin(), parts.end());
  });
  def("Tile", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{in[0].repeat(a.rest())}; });
  def("Reverse", [](const std::vector<Tensor>& in, Attrs& a) {
    Ints dims = a.rest();
    if (dims.empty()) return Outs{in[0].clone()};
    return Outs{at::flip(in[0], dims)};
  });
  // attrs: constantValue, then (before, after) per axis in tfjs order.
  def("PadV2", [](const std::vector<Tensor>& in, Attrs& a) {
    double value = a.d();
    Ints p = a.rest();
    Ints torchPad;
    for (int64_t d = static_cast<int64_t>(p.size() / 2) - 1; d >= 0; --d) {
      torchPad.push_back(p[2 * d]);
      torchPad.push_back(p[2 * d + 1]);
    }
    return Outs{at::constant_pad_nd(in[0], torchPad, value)};
  });
  // attrs: symmetric(0|1), then (before, after) per axis.
  def("MirrorPad", [](const std::vector<Tensor>& in, Attrs& a) {
    bool symmetric = a.b();
    Ints p = a.rest();
    Tensor y = in[0];
    for (int64_t d = 0; d < y.dim(); ++d)
      if (p[2 * d] || p[2 * d + 1]) y = y.index_select(d, mirrorIndex(y.size(d), p[2 * d], p[2 * d + 1], symmetric));
    return Outs{y};
  });
  // attrs: dtype, value, shape...
  def("Fill", [](const std::vector<Tensor>&, Attrs& a) {
    auto dtype = scalarType(a.n());
    double value = a.d();
    return Outs{at::full(a.rest(), value, devOpts(dtype))};
  });
  def("Range", [](const std::vector<Tensor>&, Attrs& a) {
    auto dtype = scalarType(a.n());
    double start = a.d(), stop = a.d(), step = a.d();
    int64_t n = a.n();
    (void)stop;  // tfjs's count n already encodes it
    return Outs{(at::arange(n, devOpts(at::kDouble)) * step + start).to(dtype)};
  });
  def("LinSpace", [](const std::vector<Tensor>&, Attrs& a) {
    double start = a.d(), stop = a.d();
    int64_t num = a.n();
    return Outs{at::linspace(start, stop, num, devOpts(at::kFloat))};
  });
  // attrs: axis, batchDims
  def("GatherV2", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t axis = a.n(), batchDims = a.n();
    const Tensor &x = in[0], &idx = in[1];
    if (batchDims != 0) {
      // Flatten the batch dimensions, gather per batch with an index offset.
      Ints xs = shapeOf(x), is = shapeOf(idx);
      int64_t b = 1;
      for (int64_t d = 0; d < batchDims; ++d) b *= xs[d];
      Ints outShape(xs.begin(), xs.begin() + axis);
      outShape.insert(outShape.end(), is.begin() + batchDims, is.end());
      outShape.insert(outShape.end(), xs.begin() + axis + 1, xs.end());
      std::vector<Tensor> parts;
      Tensor xb = x.reshape([&] { Ints s{b}; s.insert(s.end(), xs.begin() + batchDims, xs.end()); return s; }());
      Tensor ib = idx.reshape({b, -1});
      for (int64_t i = 0; i < b; ++i) {
        Tensor g = xb[i].index_select(axis - batchDims, ib[i].to(at::kLong));
        parts.push_back(g);
      }
      return Outs{at::stack(parts, 0).reshape(outShape)};
    }
    Tensor flat = idx.reshape({-1}).to(at::kLong);
    if (flat.numel() > 0) {
      int64_t lo = flat.min().item<int64_t>(), hi = flat.max().item<int64_t>(), n = x.size(axis);
      if (lo < 0 || hi > n - 1)
        throw std::runtime_error("GatherV2: the index value " + std::to_string(lo < 0 ? lo : hi) + " is not in [0, " + std::to_string(n - 1) + "]");
    }
    Tensor g = x.index_select(axis, flat);
    Ints outShape(x.sizes().begin(), x.sizes().begin() + axis);
    for (auto s : idx.sizes()) outShape.push_back(s);
    for (int64_t d = axis + 1; d < x.dim(); ++d) outShape.push_back(x.size(d));
    return Outs{g.reshape(outShape)};
  });
  // inputs: x, segmentIds; attrs: numSegments. Ids outside [0, numSegments) are dropped.
  def("UnsortedSegmentSum", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t numSegments = a.n();
    const Tensor &x = in[0], &ids = in[1];
    int64_t r = ids.dim();
    Ints rest(x.sizes().begin() + r, x.sizes().end());
    Ints flatShape{-1}, outShape{numSegments};
    flatShape.insert(flatShape.end(), rest.begin(), rest.end());
    outShape.insert(outShape.end(), rest.begin(), rest.end());
    Tensor xf = x.reshape(flatShape), idf = ids.reshape({-1}).to(at::kLong);
    Tensor keep = (idf >= 0).logical_and(idf < numSegments);
    Tensor out = at::zeros(outShape, x.options());
    if (!keep.all().item<bool>()) {
      xf = xf.index({keep});
      idf = idf.index({keep});
    }
    return Outs{out.index_add_(0, idf, xf)};
  });
  def("GatherNd", [](const std::vector<Tensor>& in, Attrs&) {
    const Tensor &x = in[0], &idx = in[1];
    int64_t k = idx.size(-1);
    Ints xs = shapeOf(x);
    Ints rest(xs.begin() + k, xs.end());
    Ints flatShape{-1};
    flatShape.insert(flatShape.end(), rest.begin(), rest.end());
    Tensor xf = x.reshape(flatShape);
    Tensor lin = at::zeros(idx.sizes().slice(0, idx.dim() - 1), idx.options().dtype(at::kLong));
    Tensor il = idx.to(at::kLong);
    for (int64_t j = 0; j < k; ++j) lin = lin * xs[j] + il.select(-1, j);
    Ints outShape(idx.sizes().begin(), idx.sizes().end() - 1);
    outShape.insert(outShape.end(), rest.begin(), rest.end());
    return Outs{xf.index_select(0, lin.reshape({-1})).reshape(outShape)};
  });
  def("OneHot", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t depth = a.n();
    double on = a.d(), off = a.d();
    Tensor idx = in[0].to(at::kLong);
    Tensor hit = idx.unsqueeze(-1) == at::arange(depth, idx.options());
    auto f = idx.options().dtype(at::kFloat);
    return Outs{at::where(hit, at::scalar_tensor(on, f), at::scalar_tensor(off, f))};
  });
  def("TopK", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t k = a.n();
    (void)a.b();  // sorted: tfjs returns sorted values either way
    // A stable descending sort: among equal values the lower index comes first, as in tfjs.
    auto r = at::sort(in[0], true, -1, true);
    return Outs{std::get<0>(r).narrow(-1, 0, k), std::get<1>(r).narrow(-1, 0, k)};
  });
  def("Where", [](const std::vector<Tensor>& in, Attrs&) { return Outs{at::nonzero(in[0])}; });

  // --- linear algebra ---
  // attrs: transposeA, transposeB
  def("BatchMatMul", [](const std::vector<Tensor>& in, Attrs& a) {
    bool ta = a.b(), tb = a.b();
    Tensor x = ta ? in[0].transpose(-2, -1) : in[0];
    Tensor y = tb ? in[1].transpose(-2, -1) : in[1];
    if (x.dim() == 2 && y.dim() == 2) return Outs{matmul2d(x, y)};
    if (x.dim() == 3 && y.dim() == 3 && x.size(0) == 1 && y.size(0) == 1) return Outs{matmul2d(x[0], y[0]).unsqueeze(0)};
    return Outs{at::matmul(x, y)};
  });
  // inputs: a, b[, bias][, preluWeights]; attrs: transposeA, transposeB, hasBias, activation, leakyAlpha
  def("_FusedMatMul", [](const std::vector<Tensor>& in, Attrs& a) {
    bool ta = a.b(), tb = a.b();
    Tensor x = ta ? in[0].transpose(-2, -1) : in[0];
    Tensor y = tb ? in[1].transpose(-2, -1) : in[1];
    return Outs{fusedEpilogue(x.dim() == 2 && y.dim() == 2 ? matmul2d(x, y) : at::matmul(x, y), in, a, false)};
  });

  // --- convolution: attrs start with the Conv block (readConv) ---
  def("Conv2D", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    return Outs{convForward(in[0], convWeight(in[1]), c, 1)};
  });
  // inputs: x, filter[, bias][, preluWeights]; attrs: Conv, hasBias, activation, leakyAlpha
  def("FusedConv2D", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    return Outs{fusedEpilogue(convForward(in[0], convWeight(in[1]), c, 1), in, a, !c.channelsLast)};
  });
  // inputs: dy, filter; attrs: Conv, inputShape[4]
  def("Conv2DBackpropInput", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    Ints inputShape = a.list(4);
    return Outs{convBackpropInput(in[0], convWeight(in[1]), inputShape, c, 1)};
  });
  // inputs: x, dy; attrs: Conv, filterShape[4] (tfjs layout)
  def("Conv2DBackpropFilter", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    Ints fs = a.list(4);
    Tensor g = convBackpropFilter(in[0], in[1], {fs[3], fs[2], fs[0], fs[1]}, c, 1);
    return Outs{g.permute({2, 3, 1, 0}).contiguous()};
  });
  def("DepthwiseConv2dNative", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    return Outs{convForward(in[0], depthwiseWeight(in[1]), c, in[1].size(2))};
  });
  def("FusedDepthwiseConv2D", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    return Outs{fusedEpilogue(convForward(in[0], depthwiseWeight(in[1]), c, in[1].size(2)), in, a, !c.channelsLast)};
  });
  // inputs: dy, filter; attrs: Conv, inputShape[4]
  def("DepthwiseConv2dNativeBackpropInput", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    Ints inputShape = a.list(4);
    return Outs{convBackpropInput(in[0], depthwiseWeight(in[1]), inputShape, c, in[1].size(2))};
  });
  // inputs: x, dy; attrs: Conv, filterShape[4]
  def("DepthwiseConv2dNativeBackpropFilter", [](const std::vector<Tensor>& in, Attrs& a) {
    Conv c = readConv(a);
    Ints fs = a.list(4);
    Tensor g = convBackpropFilter(in[0], in[1], {fs[2] * fs[3], 1, fs[0], fs[1]}, c, fs[2]);
    return Outs{g.reshape({fs[2], fs[3], fs[0], fs[1]}).permute({2, 3, 0, 1}).contiguous()};
  });

  // --- pooling: attrs = Pool block ---
  def("AvgPool", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{avgPool(in[0], readPool(a))}; });
  def("AvgPoolGrad", [](const std::vector<Tensor>& in, Attrs& a) { return Outs{avgPoolGrad(in[0], in[1], readPool(a))}; });
  def("MaxPool", [](const std::vector<Tensor>& in, Attrs& a) {
    auto r = maxPoolWithIndices(in[0], readPool(a));
    return Outs{fromNCHW(std::get<0>(r), true)};
  });
  // inputs: dy, input, output
  def("MaxPoolGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    Pool p = readPool(a);
    auto r = maxPoolWithIndices(in[1], p);
    Tensor g = at::max_pool2d_with_indices_backward(toNCHW(in[0], true), std::get<2>(r), {p.kh, p.kw}, {p.sh, p.sw}, {0, 0},
                                                    {1, 1}, false, std::get<1>(r));
    if (p.padded()) g = at::constant_pad_nd(g, {-p.left, -p.right, -p.top, -p.bottom}, 0);
    return Outs{fromNCHW(g, true)};
  });

  // --- resizing (NHWC): attrs = newH, newW, then per-output-row/col source indices and weights ---
  def("ResizeBilinear", [](const std::vector<Tensor>& in, Attrs& a) {
    Bilinear r = readBilinear(a);
    Tensor x = asFloat(in[0]);
    Tensor l = x.index_select(2, r.c0), rt = x.index_select(2, r.c1);
    Tensor xc = l + (rt - l) * r.cf;
    Tensor t = xc.index_select(1, r.r0), b = xc.index_select(1, r.r1);
    return Outs{t + (b - t) * r.rf};
  });
  // inputs: images, dy
  def("ResizeBilinearGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    Bilinear r = readBilinear(a);
    const Tensor& x = in[0];
    Tensor dy = asFloat(in[1]);
    Tensor dxc = at::zeros({x.size(0), x.size(1), r.nw, x.size(3)}, dy.options());
    dxc.index_add_(1, r.r0, dy * (1 - r.rf));
    dxc.index_add_(1, r.r1, dy * r.rf);
    Tensor dx = at::zeros({x.size(0), x.size(1), x.size(2), x.size(3)}, dy.options());
    dx.index_add_(2, r.c0, dxc * (1 - r.cf));
    dx.index_add_(2, r.c1, dxc * r.cf);
    return Outs{dx};
  });
  // attrs: newH, newW, rows[newH], cols[newW]
  def("ResizeNearestNeighbor", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t nh = a.n(), nw = a.n();
    Tensor rows = longs(a.list(nh)), cols = longs(a.list(nw));
    return Outs{in[0].index_select(1, rows).index_select(2, cols)};
  });
  // inputs: images, dy
  def("ResizeNearestNeighborGrad", [](const std::vector<Tensor>& in, Attrs& a) {
    int64_t nh = a.n(), nw = a.n();
    Tensor rows = longs(a.list(nh)), cols = longs(a.list(nw));
    const Tensor& x = in[0];
    Tensor dy = asFloat(in[1]);
    Tensor dr = at::zeros({x.size(0), x.size(1), nw, x.size(3)}, dy.options());
    dr.index_add_(1, rows, dy);
    Tensor dx = at::zeros({x.size(0), x.size(1), x.size(2), x.size(3)}, dy.options());
    dx.index_add_(2, cols, dr);
    return Outs{dx};
  });

  // --- normalisation ---
  // inputs: x, mean, variance[, offset][, scale]; attrs: epsilon, hasOffset, hasScale
  def("FusedBatchNorm", [](const std::vector<Tensor>& in, Attrs& a) {
    double eps = a.d();
    bool hasOffset = a.b(), hasScale = a.b();
    Tensor y = (in[0] - in[1]) * at::rsqrt(in[2] + eps);
    size_t next = 3;
    Tensor offset = hasOffset ? in[next++] : Tensor();
    if (hasScale) y = y * in[next];
    if (hasOffset) y = y + offset;
    return Outs{y};
  });
}

std::vector<double> readNumbers(const Napi::Value& v) {
  std::vector<double> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() == napi_float64_array) {
      auto f = v.As<Napi::Float64Array>();
      out.assign(f.Data(), f.Data() + f.ElementLength());
      return out;
    }
    if (ta.TypedArrayType() == napi_int32_array) {
      auto f = v.As<Napi::Int32Array>();
      out.assign(f.Data(), f.Data() + f.ElementLength());
      return out;
    }
    throw std::runtime_error("lia_torch: attributes must be a plain array, Float64Array or Int32Array");
  }
  auto arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  out.resize(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = arr.Get(i).As<Napi::Number>().DoubleValue();
  return out;
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// The results of run() are described in a shared Int32Array (setScratch): count, then per output
// its handle, dtype code, rank and dims. This avoids allocating JS objects on every kernel call.
int32_t* g_scratch = nullptr;
size_t g_scratchLength = 0;
Napi::Reference<Napi::Int32Array> g_scratchRef;

Napi::Value SetScratch(const Napi::CallbackInfo& info) {
  auto a = info[0].As<Napi::Int32Array>();
  g_scratchRef = Napi::Persistent(a);
  g_scratch = a.Data();
  g_scratchLength = a.ElementLength();
  return info.Env().Undefined();
}

void describe(const Outs& outs, int64_t outDtype) {
  size_t need = 1;
  for (const auto& t : outs) need += 3 + t.dim();
  if (!g_scratch || need > g_scratchLength) throw std::runtime_error("lia_torch: result description does not fit the scratch buffer");
  // Store every result first so that a failing cast frees nothing twice.
  std::vector<Tensor> ready;
  for (const auto& t : outs) ready.push_back(normalise(t, outs.size() == 1 ? outDtype : -1));
  size_t k = 0;
  g_scratch[k++] = static_cast<int32_t>(ready.size());
  for (auto& t : ready) {
    int code = dtypeCode(t.scalar_type());
    int64_t rank = t.dim();
    Ints dims = shapeOf(t);
    g_scratch[k++] = store(std::move(t));
    g_scratch[k++] = code;
    g_scratch[k++] = static_cast<int32_t>(rank);
    for (auto d : dims) g_scratch[k++] = static_cast<int32_t>(d);
  }
}

// run(code, outDtype, inputs: number[], attrs: number[]); results in the scratch buffer.
Napi::Value Run(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    int64_t code = info[0].As<Napi::Number>().Int64Value();
    int64_t outDtype = info[1].As<Napi::Number>().Int64Value();
    if (code < 0 || code >= static_cast<int64_t>(table().size())) throw std::runtime_error("lia_torch: unknown op code");
    std::vector<Tensor> inputs;
    auto arr = info[2].As<Napi::Array>();
    uint32_t n = arr.Length();
    inputs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) inputs.push_back(get(arr.Get(i).As<Napi::Number>().Int64Value()));
    std::vector<double> attrValues = readNumbers(info.Length() > 3 ? info[3] : env.Undefined());
    Attrs attrs{attrValues};
    Outs outs;
    {
      c10::NoGradGuard noGrad;  // tfjs does the autodiff; libtorch only computes.
      outs = table()[code].fn(inputs, attrs);
    }
    describe(outs, outDtype);
    return env.Undefined();
  });
}

// write(values: TypedArray, shape: number[], dtype) -> handle
Napi::Value Write(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto ta = info[0].As<Napi::TypedArray>();
    std::vector<double> shapeD = readNumbers(info[1]);
    Ints shape(shapeD.begin(), shapeD.end());
    auto dtype = scalarType(info[2].As<Napi::Number>().Int64Value());
    // On a GPU the values go through pinned host memory and a non-blocking copy: the host does not
    // wait for the queued kernels (a pageable copy would synchronise the stream on every upload).
    bool cuda = g_device.is_cuda();
    Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype).pinned_memory(cuda));
    size_t bytes = t.numel() * t.element_size();
    if (ta.ByteLength() != bytes)
      throw std::runtime_error("lia_torch: write got " + std::to_string(ta.ByteLength()) + " bytes for a tensor of " +
                               std::to_string(bytes));
    if (bytes) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), bytes);
    if (cuda) t = t.to(t.options().device(g_device).pinned_memory(false), /*non_blocking=*/true, /*copy=*/false);
    return Napi::Number::New(info.Env(), store(t));
  });
}

// read(handle) -> Float32Array | Int32Array | Uint8Array (a copy)
Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Tensor t = get(info[0].As<Napi::Number>().Int64Value()).to(at::kCPU).contiguous();
    size_t n = t.numel();
    switch (t.scalar_type()) {
      case at::kFloat: {
        auto out = Napi::Float32Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr(), n * 4);
        return out;
      }
      case at::kInt: {
        auto out = Napi::Int32Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr(), n * 4);
        return out;
      }
      case at::kBool: {
        auto out = Napi::Uint8Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr(), n);
        return out;
      }
      default:
        throw std::runtime_error("lia_torch: cannot read a tensor of this dtype");
    }
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  int64_t id = info[0].As<Napi::Number>().Int64Value();
  if (id >= 0 && id < static_cast<int64_t>(g_slots.size()) && g_slots[id].defined()) {
    g_slots[id] = Tensor();
    g_free.push_back(static_cast<int32_t>(id));
    --g_live;
  }
  return info.Env().Undefined();
}

// Live handles and the bytes of the distinct storages behind them.
Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unordered_set<const void*> seen;
  double bytes = 0;
  for (const auto& t : g_slots) {
    if (!t.defined()) continue;
    const void* key = t.storage().unsafeGetStorageImpl();
    if (seen.insert(key).second) bytes += static_cast<double>(t.storage().nbytes());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("handles", Napi::Number::New(env, static_cast<double>(g_live)));
  o.Set("bytes", Napi::Number::New(env, bytes));
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw std::runtime_error("lia_torch: threads must be at least 1");
    at::set_num_threads(n);
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
}

// sync(): waits until the device has run every queued kernel (CUDA; nothing to wait for on the CPU).
Napi::Value Sync(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (g_device.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(g_device.has_index() ? g_device.index() : 0);
    return info.Env().Undefined();
  });
}

Napi::Value TF32Flags(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("convs", Napi::Boolean::New(env, at::globalContext().allowTF32CuDNN()));
  o.Set("matmuls", Napi::Boolean::New(env, at::globalContext().allowTF32CuBLAS()));
  return o;
}

Napi::Value GetTF32(const Napi::CallbackInfo& info) { return TF32Flags(info.Env()); }

// setTF32(convs, matmuls): whether cuDNN convolutions and cuBLAS matrix products may use TF32
// (PyTorch's torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32; its
// defaults are true and false). No effect on the CPU. Returns the flags now in force.
Napi::Value SetTF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    at::globalContext().setAllowTF32CuDNN(info[0].As<Napi::Boolean>().Value());
    at::globalContext().setAllowTF32CuBLAS(info[1].As<Napi::Boolean>().Value());
    return TF32Flags(info.Env());
  });
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

// setDevice("cpu" | "cuda" | "cuda:N") -> the device's name. Only before tensors exist.
Napi::Value SetDevice(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    at::Device d(name);
    if (d.is_cuda() && !at::hasCUDA())
      throw std::runtime_error("this libtorch has no CUDA (or no CUDA device is visible): build the addon against a CUDA libtorch (LIA_TORCH_DIR or a CUDA PyTorch) on a machine with a GPU");
    if (!d.is_cuda() && !d.is_cpu()) throw std::runtime_error("device must be cpu or cuda[:N], got " + name);
    if (g_live > 0 && d != g_device) throw std::runtime_error("the device can only change while no tensors exist");
    g_device = d;
    return Napi::String::New(info.Env(), g_device.str());
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  defineOps();
  Napi::Object ops = Napi::Object::New(env);
  for (size_t i = 0; i < table().size(); ++i) ops.Set(table()[i].name, Napi::Number::New(env, static_cast<double>(i)));
  exports.Set("ops", ops);
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("setScratch", Napi::Function::New(env, SetScratch));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("setTF32", Napi::Function::New(env, SetTF32));
  exports.Set("getTF32", Napi::Function::New(env, GetTF32));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  exports.Set("cuda", Napi::Boolean::New(env, at::hasCUDA()));
  exports.Set("setDevice", Napi::Function::New(env, SetDevice));
  lia::registerDistributed(env, exports);
  return exports;
}

}  // namespace

const at::Tensor& lia::tensorAt(int64_t handle) { return get(handle); }
at::Device lia::currentDevice() { return g_device; }

NODE_API_MODULE(lia_torch, Init)
