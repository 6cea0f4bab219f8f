// The kernels of the `torch` backend: each one reads tfjs's inputs and attributes, normalises
// them the way tfjs's cpu backend does (axes, padding, split sizes, slice bounds) and runs one
// native op (native/torch/lia_torch.cc). Shapes of results come back from libtorch.
import * as tf from '@tensorflow/tfjs';
import type { TorchBackend, TorchTensorInfo } from './backend.js';
import { DTYPE_CODES } from './addon.js';
import { ADAM_STEP, ADAM_STEP_MULTI, EMA_STEP, EMA_STEP_MULTI, FUSED_LEAKY_RELU, FUSED_LEAKY_RELU_GRAD, FUSED_STYLED_CONV, FUSED_STYLED_CONV_GRAD, FUSED_DENSE, FUSED_DENSE_GRAD, FUSED_SCALED_CONV, SCALED_CONV_BACKPROP_FILTER, SCALED_CONV_BACKPROP_INPUT, registerFusedGradients } from '../fused.js';
import { RANDOM_NORMAL } from '../random.js';

export const TORCH_BACKEND = 'torch';

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type KernelFn = (inputs: Info[], attrs: Attrs, backend: TorchBackend, named: Record<string, Info | undefined>) => TorchTensorInfo | TorchTensorInfo[];

const { backend_util, util, slice_util } = tf;

function kernel(name: string, order: string[], fn: KernelFn): void {
  tf.registerKernel({
    kernelName: name,
    backendName: TORCH_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const named = inputs as Record<string, Info | undefined>;
      const list = order.map((k) => named[k]).filter((t): t is Info => t !== undefined && t !== null);
      return fn(list, (attrs ?? {}) as Attrs, backend as unknown as TorchBackend, named) as tf.TensorInfo | tf.TensorInfo[];
    },
  });
}

/** Inputs given as an array (Concat, Pack, AddN). */
function listKernel(name: string, fn: KernelFn): void {
  tf.registerKernel({
    kernelName: name,
    backendName: TORCH_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) =>
      fn(Object.values(inputs) as Info[], (attrs ?? {}) as Attrs, backend as unknown as TorchBackend, {}) as tf.TensorInfo | tf.TensorInfo[],
  });
}

const num = (v: unknown, fallback = 0): number => (v === undefined || v === null ? fallback : Number(v));
const flag = (v: unknown): number => (v ? 1 : 0);

let registered = false;

/** Registers every kernel of the backend once per process. */
export function registerTorchKernels(): void {
  if (registered) return;
  registered = true;

  // --- no native call -------------------------------------------------------------------------
  kernel('Identity', ['x'], ([x], _a, b) => b.alias(x));

  // --- unary ----------------------------------------------------------------------------------
  // Output dtype: same as the input for these, float32 for the rest (as tfjs's cpu backend).
  const keepDtype = new Set(['Abs', 'Neg', 'Sign', 'Square', 'Relu', 'Relu6', 'ZerosLike', 'OnesLike', 'Ceil', 'Floor', 'Round']);
  const boolOut = new Set(['IsFinite', 'IsInf', 'IsNan', 'LogicalNot']);
  for (const name of [
    'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp', 'Expm1', 'Floor',
    'IsFinite', 'IsInf', 'IsNan', 'Log', 'Log1p', 'LogicalNot', 'Neg', 'Reciprocal', 'Relu', 'Relu6', 'Round', 'Rsqrt',
    'Selu', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Sqrt', 'Square', 'Tan', 'Tanh', 'ZerosLike', 'OnesLike',
  ]) {
    kernel(name, ['x'], ([x], _a, b) => {
      const out = boolOut.has(name) ? 'bool' : keepDtype.has(name) ? x.dtype : 'float32';
      return b.run1(name, [x], [], out);
    });
  }
  kernel('Cast', ['x'], ([x], a, b) => {
    const dtype = a.dtype as tf.DataType;
    if (dtype === x.dtype) return b.alias(x);
    return b.run1('Cast', [x], [dtypeCode(dtype)], dtype);
  });
  kernel('LeakyRelu', ['x'], ([x], a, b) => b.run1('LeakyRelu', [x], [num(a.alpha, 0.2)], 'float32'));
  // The project's fused activation (engine/fused.ts).
  registerFusedGradients();
  kernel(FUSED_LEAKY_RELU, ['x'], ([x], a, b) => b.run1('FusedLeakyRelu', [x], [num(a.alpha), num(a.gain, 1)], 'float32'));
  kernel(FUSED_LEAKY_RELU_GRAD, ['dy', 'x'], (ins, a, b) => b.run1('FusedLeakyReluGrad', ins, [num(a.alpha), num(a.gain, 1)], 'float32'));
  kernel(ADAM_STEP, ['p', 'g', 'm', 'v'], (ins, a, b) => b.runOp('AdamStep', ins, [num(a.beta1), num(a.beta2), num(a.stepSize), num(a.epsHat)]));
  kernel(EMA_STEP, ['ema', 'p'], (ins, a, b) => b.run1('EmaStep', ins, [num(a.beta)], 'float32'));
  const styledAttrs = (a: Attrs) => [num(a.wScale), num(a.upsample), num(a.demodulate), num(a.hasNoise), num(a.act), num(a.alpha, 0.2), num(a.gain, 1)];
  kernel(FUSED_STYLED_CONV, ['x', 's', 'weight', 'bias', 'noise', 'strength'], (ins, a, b) => b.run1('StyledConv', ins, styledAttrs(a), 'float32'));
  kernel(FUSED_STYLED_CONV_GRAD, ['x', 's', 'weight', 'bias', 'noise', 'strength', 'dy'], (ins, a, b) => b.runOp('StyledConvGrad', ins, styledAttrs(a)));
  kernel(FUSED_SCALED_CONV, ['x', 'weight', 'bias'], (ins, a, b) => b.run1('ScaledConv', ins, [num(a.wScale), num(a.hasBias)], 'float32'));
  kernel(SCALED_CONV_BACKPROP_INPUT, ['dy', 'weight'], (ins, a, b) => b.run1('ScaledConvBackpropInput', ins, [num(a.wScale)], 'float32'));
  kernel(SCALED_CONV_BACKPROP_FILTER, ['x', 'dy'], (ins, a, b) => b.run1('ScaledConvBackpropFilter', ins, [num(a.wScale), num(a.k)], 'float32'));
  const denseAttrs = (a: Attrs) => [num(a.wScale), num(a.lrMul, 1), num(a.hasBias), num(a.act), num(a.alpha, 0.2), num(a.gain, 1)];
  kernel(FUSED_DENSE, ['x', 'weight', 'bias'], (ins, a, b) => b.run1('Dense', ins, denseAttrs(a), 'float32'));
  kernel(FUSED_DENSE_GRAD, ['x', 'weight', 'bias', 'dy'], (ins, a, b) => b.runOp('DenseGrad', ins, denseAttrs(a)));
  // All parameters in one native call; inputs in the order the caller named them (fused.ts).
  listKernel(ADAM_STEP_MULTI, (ins, a, b) => b.runOp('AdamStepMulti', ins, [num(a.beta1), num(a.beta2), num(a.stepSize), num(a.epsHat)]));
  listKernel(EMA_STEP_MULTI, (ins, a, b) => b.runOp('EmaStepMulti', ins, [num(a.beta)]));
  // Normal draws from libtorch's generator on the tensors' device (engine/random.ts).
  kernel(RANDOM_NORMAL, [], (_i, a, b) => b.run1('RandomNormal', [], [num(a.seed), num(a.mean), num(a.stdDev, 1), ...(a.shape as number[])], 'float32'));
  kernel('Step', ['x'], ([x], a, b) => b.run1('Step', [x], [num(a.alpha)], x.dtype));
  kernel('ClipByValue', ['x'], ([x], a, b) => b.run1('ClipByValue', [x], [num(a.clipValueMin), num(a.clipValueMax)], x.dtype));
  kernel('EluGrad', ['dy', 'y'], (ins, _a, b) => b.run1('EluGrad', ins, [], 'float32'));
  kernel('Prelu', ['x', 'alpha'], (ins, _a, b) => b.run1('Prelu', ins, [], 'float32'));

  // --- binary ---------------------------------------------------------------------------------
  const upcast = (x: Info, y: Info): tf.DataType => tf.upcastType(x.dtype, y.dtype);
  for (const name of ['Add', 'Sub', 'Multiply', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'Mod', 'FloorDiv']) {
    kernel(name, ['a', 'b'], ([x, y], _a, b) => b.run1(name, [x, y], [], upcast(x, y)));
  }
  for (const name of ['RealDiv', 'DivNoNan', 'Atan2']) kernel(name, ['a', 'b'], (ins, _a, b) => b.run1(name, ins, [], 'float32'));
  for (const name of ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor']) {
    kernel(name, ['a', 'b'], (ins, _a, b) => b.run1(name, ins, [], 'bool'));
  }
  listKernel('AddN', (ins, _a, b) => (ins.length === 1 ? b.alias(ins[0]) : b.run1('AddN', ins, [], ins[0].dtype)));
  kernel('Select', ['condition', 't', 'e'], (ins, _a, b) => b.run1('Select', ins, [], tf.upcastType(ins[1].dtype, ins[2].dtype)));

  // --- reductions -----------------------------------------------------------------------------
  const axes = (x: Info, axis: unknown): number[] => util.parseAxisParam((axis ?? null) as number | number[], x.shape);
  const reduceDtype = (x: Info): tf.DataType => tf.upcastType(x.dtype, 'int32');
  const reduce = (name: string, axisAttr: string, out: (x: Info) => tf.DataType) =>
    kernel(name, ['x'], ([x], a, b) => {
      const ax = axes(x, a[axisAttr]);
      if (ax.length === 0) return b.run1('Cast', [x], [dtypeCode(out(x))], out(x));
      return b.run1(name, [x], [flag(a.keepDims), ...ax], out(x));
    });
  reduce('Sum', 'axis', reduceDtype);
  reduce('Prod', 'axis', reduceDtype);
  reduce('Mean', 'axis', () => 'float32');
  reduce('Max', 'reductionIndices', (x) => x.dtype);
  reduce('Min', 'axis', (x) => x.dtype);
  reduce('All', 'axis', () => 'bool');
  reduce('Any', 'axis', () => 'bool');
  for (const name of ['ArgMax', 'ArgMin']) {
    kernel(name, ['x'], ([x], a, b) => b.run1(name, [x], [axes(x, a.axis)[0]], 'int32'));
  }
  for (const name of ['Cumsum', 'Cumprod']) {
    kernel(name, ['x'], ([x], a, b) => b.run1(name, [x], [axes(x, a.axis)[0], flag(a.exclusive), flag(a.reverse)], reduceDtype(x)));
  }
  kernel('Softmax', ['logits'], ([x], a, b) => b.run1('Softmax', [x], [axes(x, a.dim ?? -1)[0]], 'float32'));

  // --- shapes ---------------------------------------------------------------------------------
  const reshape = (b: TorchBackend, x: Info, shape: number[]) => b.run1('Reshape', [x], shape, x.dtype);
  kernel('Reshape', ['x'], ([x], a, b) => reshape(b, x, util.inferFromImplicitShape(a.shape as number[], util.sizeFromShape(x.shape))));
  kernel('ExpandDims', ['input'], ([x], a, b) => {
    const rank = x.shape.length;
    let dim = num(a.dim);
    util.assert(-(rank + 1) <= dim, () => `Axis must be in the interval [${-(rank + 1)}, ${rank}]`);
    if (dim < 0) dim = rank + dim + 1;
    const shape = x.shape.slice();
    shape.splice(dim, 0, 1);
    return reshape(b, x, shape);
  });
  kernel('Squeeze', ['x'], ([x], a, b) => reshape(b, x, util.squeezeShape(x.shape, a.axis as number[] | undefined).newShape));
  kernel('Transpose', ['x'], ([x], a, b) => b.run1('Transpose', [x], a.perm as number[], x.dtype));
  kernel('Slice', ['x'], ([x], a, b) => {
    const [begin, size] = slice_util.parseSliceParams(x as tf.Tensor, a.begin as number[], a.size as number[]);
    return b.run1('Slice', [x], [...begin, ...size], x.dtype);
  });
  kernel('StridedSlice', ['x'], ([x], a, b) => {
    const info = slice_util.sliceInfo(
      x.shape, a.begin as number[], a.end as number[], a.strides as number[],
      num(a.beginMask), num(a.endMask), num(a.ellipsisMask), num(a.newAxisMask), num(a.shrinkAxisMask),
    );
    if (info.isIdentity) return reshape(b, x, info.finalShape);
    const sizes = slice_util.computeOutShape(info.begin, info.end, info.strides);
    if (sizes.some((d) => d <= 0) || util.sizeFromShape(info.finalShape) === 0) return b.makeTensorInfo(info.finalShape, x.dtype);
    const r = sizes.length;
    return b.run1('StridedSlice', [x], [r, ...info.begin, ...info.strides, ...sizes, ...info.finalShape], x.dtype);
  });
  listKernel('Concat', (ins, a, b) => {
    const axis = util.parseAxisParam(a.axis as number, ins[0].shape)[0];
    backend_util.assertParamsConsistent(ins.map((t) => t.shape), axis);
    const outShape = backend_util.computeOutShape(ins.map((t) => t.shape), axis);
    const nonEmpty = ins.filter((t) => util.sizeFromShape(t.shape) > 0);
    const dtype = ins.map((t) => t.dtype).reduce((p, c) => tf.upcastType(p, c));
    if (nonEmpty.length === 0 || util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, dtype);
    if (nonEmpty.length === 1) return reshape(b, nonEmpty[0], outShape);
    return b.run1('Concat', nonEmpty, [axis], dtype);
  });
  listKernel('Pack', (ins, a, b) => {
    for (const t of ins) {
      util.assertShapesMatch(ins[0].shape, t.shape, 'All tensors passed to stack must have matching shapes');
      util.assert(ins[0].dtype === t.dtype, () => 'All tensors passed to stack must have matching dtypes');
    }
    const axis = num(a.axis) < 0 ? num(a.axis) + ins[0].shape.length + 1 : num(a.axis);
    return b.run1('Pack', ins, [axis], ins[0].dtype);
  });
  kernel('Unpack', ['value'], ([x], a, b) => b.runOp('Unpack', [x], [util.parseAxisParam(num(a.axis), x.shape)[0]]));
  kernel('SplitV', ['x'], ([x], a, b) => {
    const axis = util.parseAxisParam(a.axis as number, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits as number | number[], axis);
    return b.runOp('SplitV', [x], [axis, ...sizes]);
  });
  kernel('Tile', ['x'], ([x], a, b) => b.run1('Tile', [x], a.reps as number[], x.dtype));
  kernel('Reverse', ['x'], ([x], a, b) => b.run1('Reverse', [x], util.parseAxisParam(a.dims as number[], x.shape), x.dtype));
  kernel('PadV2', ['x'], ([x], a, b) => b.run1('PadV2', [x], [num(a.constantValue), ...(a.paddings as number[][]).flat()], x.dtype));
  kernel('MirrorPad', ['x'], ([x], a, b) => b.run1('MirrorPad', [x], [a.mode === 'symmetric' ? 1 : 0, ...(a.paddings as number[][]).flat()], x.dtype));
  kernel('Fill', [], (_i, a, b) => {
    const dtype = (a.dtype as tf.DataType) ?? 'float32';
    if (dtype === 'string') return b.makeTensorInfo(a.shape as number[], dtype, new Array(util.sizeFromShape(a.shape as number[])).fill(util.encodeString(String(a.value))));
    return b.run1('Fill', [], [dtypeCode(dtype), num(a.value), ...(a.shape as number[])], dtype);
  });
  kernel('Range', [], (_i, a, b) => {
    const start = num(a.start), stop = num(a.stop), step = num(a.step);
    const dtype = (a.dtype as tf.DataType) ?? 'float32';
    // tfjs's own rules for empty ranges (rangeImpl).
    const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
    const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
    if (n === 0) return b.makeTensorInfo([0], dtype);
    const $step = stop < start && step === 1 ? -1 : step; // tfjs's auto-adjusted sign
    return b.run1('Range', [], [dtypeCode(dtype), start, stop, $step, n], dtype);
  });
  kernel('LinSpace', [], (_i, a, b) => b.run1('LinSpace', [], [num(a.start), num(a.stop), num(a.num)], 'float32'));
  kernel('GatherV2', ['x', 'indices'], ([x, idx], a, b) => {
    const axis = util.parseAxisParam(a.axis as number, x.shape)[0];
    let batchDims = num(a.batchDims);
    if (batchDims < 0) batchDims += idx.shape.length;
    backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, idx as tf.Tensor, axis, batchDims); // tfjs's shape checks
    return b.run1('GatherV2', [x, idx], [axis, batchDims], x.dtype);
  });
  kernel('UnsortedSegmentSum', ['x', 'segmentIds'], ([x, ids], a, b) => b.run1('UnsortedSegmentSum', [x, ids], [num(a.numSegments)], x.dtype));
  kernel('GatherNd', ['params', 'indices'], (ins, _a, b) => b.run1('GatherNd', ins, [], ins[0].dtype));
  kernel('OneHot', ['indices'], ([x], a, b) => b.run1('OneHot', [x], [num(a.depth), num(a.onValue, 1), num(a.offValue, 0)], (a.dtype as tf.DataType) ?? 'int32'));
  kernel('TopK', ['x'], ([x], a, b) => b.runOp('TopK', [x], [num(a.k, 1), flag(a.sorted ?? true)]));
  kernel('Where', ['condition'], ([x], _a, b) => b.run1('Where', [x], [], 'int32'));

  // --- linear algebra -------------------------------------------------------------------------
  kernel('BatchMatMul', ['a', 'b'], ([x, y], a, b) => {
    const ra = x.shape.length, rb = y.shape.length;
    util.assert(ra >= 2 && rb >= 2, () => `Error in matMul: inputs must have rank >= 2, got ranks ${ra} and ${rb}.`);
    const innerA = a.transposeA ? x.shape[ra - 2] : x.shape[ra - 1];
    const innerB = a.transposeB ? y.shape[rb - 1] : y.shape[rb - 2];
    util.assert(innerA === innerB, () => `Error in matMul: inner shapes (${innerA}) and (${innerB}) of Tensors with shapes ${x.shape} and ${y.shape} and transposeA=${a.transposeA} and transposeB=${a.transposeB} must match.`);
    return b.run1('BatchMatMul', [x, y], [flag(a.transposeA), flag(a.transposeB)], upcast(x, y));
  });
  kernel('_FusedMatMul', ['a', 'b', 'bias', 'preluActivationWeights'], (ins, a, b, named) =>
    b.run1('_FusedMatMul', ins, [flag(a.transposeA), flag(a.transposeB), flag(named.bias), activationCode(a.activation), num(a.leakyreluAlpha, 0.2)], 'float32'),
  );

  // --- convolution ----------------------------------------------------------------------------
  // tfjs's output grid decides: the end padding is whatever makes libtorch's output size equal
  // tfjs's (it can differ from padInfo, even be negative = a crop, where tfjs sizes the output of a
  // non-square filter by its height, as the cpu backend does).
  const endPad = (outSize: number, stride: number, effFilter: number, inSize: number, begin: number) =>
    (outSize - 1) * stride + effFilter - inSize - begin;
  const convAttrs = (c: tf.backend_util.Conv2DInfo): number[] => [
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, endPad(c.outHeight, c.strideHeight, c.effectiveFilterHeight, c.inHeight, c.padInfo.top),
    c.padInfo.left, endPad(c.outWidth, c.strideWidth, c.effectiveFilterWidth, c.inWidth, c.padInfo.left),
    c.dataFormat === 'channelsLast' ? 1 : 0,
  ];
  const format = (a: Attrs) => backend_util.convertConv2DDataFormat(((a.dataFormat as string) ?? 'NHWC') as 'NHWC' | 'NCHW');
  const rounding = (a: Attrs) => a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
  const pad = (a: Attrs) => a.pad as 'valid' | 'same' | number;
  const conv2dInfo = (x: number[], f: number[], a: Attrs, dilations: unknown = a.dilations ?? 1) =>
    backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], a.strides as number, dilations as number, pad(a), rounding(a), false, format(a));
  kernel('Conv2D', ['x', 'filter'], ([x, f], a, b) => b.run1('Conv2D', [x, f], convAttrs(conv2dInfo(x.shape, f.shape, a)), 'float32'));
  kernel('FusedConv2D', ['x', 'filter', 'bias', 'preluActivationWeights'], (ins, a, b, named) =>
    b.run1('FusedConv2D', ins, [...convAttrs(conv2dInfo(ins[0].shape, ins[1].shape, a)), flag(named.bias), activationCode(a.activation), num(a.leakyreluAlpha, 0.2)], 'float32'),
  );
  kernel('Conv2DBackpropInput', ['dy', 'filter'], ([dy, f], a, b) => {
    const inputShape = a.inputShape as number[];
    return b.run1('Conv2DBackpropInput', [dy, f], [...convAttrs(conv2dInfo(inputShape, f.shape, a, 1)), ...inputShape], 'float32');
  });
  kernel('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], a, b) => {
    const filterShape = a.filterShape as number[];
    return b.run1('Conv2DBackpropFilter', [x, dy], [...convAttrs(conv2dInfo(x.shape, filterShape, a, 1)), ...filterShape], 'float32');
  });
  const depthwiseInfo = (x: number[], f: number[], a: Attrs) =>
    backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], a.strides as number, (a.dilations ?? 1) as number, pad(a), rounding(a), true);
  kernel('DepthwiseConv2dNative', ['x', 'filter'], ([x, f], a, b) => b.run1('DepthwiseConv2dNative', [x, f], convAttrs(depthwiseInfo(x.shape, f.shape, a)), 'float32'));
  kernel('FusedDepthwiseConv2D', ['x', 'filter', 'bias', 'preluActivationWeights'], (ins, a, b, named) =>
    b.run1('FusedDepthwiseConv2D', ins, [...convAttrs(depthwiseInfo(ins[0].shape, ins[1].shape, a)), flag(named.bias), activationCode(a.activation), num(a.leakyreluAlpha, 0.2)], 'float32'),
  );
  kernel('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], ([dy, f], a, b) => {
    const inputShape = a.inputShape as number[];
    return b.run1('DepthwiseConv2dNativeBackpropInput', [dy, f], [...convAttrs(depthwiseInfo(inputShape, f.shape, a)), ...inputShape], 'float32');
  });
  kernel('DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], ([x, dy], a, b) => {
    const filterShape = a.filterShape as number[];
    return b.run1('DepthwiseConv2dNativeBackpropFilter', [x, dy], [...convAttrs(depthwiseInfo(x.shape, filterShape, a)), ...filterShape], 'float32');
  });

  // --- pooling --------------------------------------------------------------------------------
  const poolInfo = (shape: number[], a: Attrs) =>
    backend_util.computePool2DInfo(shape as [number, number, number, number], a.filterSize as number, a.strides as number, 1, pad(a), rounding(a));
  const poolAttrs = (c: tf.backend_util.Conv2DInfo): number[] => {
    return [
      c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth,
      c.padInfo.top, endPad(c.outHeight, c.strideHeight, c.filterHeight, c.inHeight, c.padInfo.top),
      c.padInfo.left, endPad(c.outWidth, c.strideWidth, c.filterWidth, c.inWidth, c.padInfo.left),
    ];
  };
  // tfjs: a 1×1 window whose output has the input's shape is the identity, whatever pad and stride say.
  const isIdentity = (c: tf.backend_util.Conv2DInfo) => c.filterHeight === 1 && c.filterWidth === 1 && util.arraysEqual(c.inShape, c.outShape);
  const pool = (name: string, x: Info, a: Attrs, b: TorchBackend, dtype: tf.DataType) => {
    const c = poolInfo(x.shape, a);
    return isIdentity(c) ? b.alias(x) : b.run1(name, [x], poolAttrs(c), dtype);
  };
  kernel('AvgPool', ['x'], ([x], a, b) => pool('AvgPool', x, a, b, 'float32'));
  kernel('AvgPoolGrad', ['dy', 'input'], ([dy, x], a, b) => b.run1('AvgPoolGrad', [dy, x], poolAttrs(poolInfo(x.shape, a)), 'float32'));
  kernel('MaxPool', ['x'], ([x], a, b) => pool('MaxPool', x, a, b, x.dtype));
  kernel('MaxPoolGrad', ['dy', 'input', 'output'], ([dy, x], a, b) => b.run1('MaxPoolGrad', [dy, x], poolAttrs(poolInfo(x.shape, a)), 'float32'));

  // --- resizing -------------------------------------------------------------------------------
  kernel('ResizeBilinear', ['images'], ([x], a, b) => {
    const [nh, nw] = a.size as [number, number];
    return b.run1('ResizeBilinear', [x], bilinearAttrs(x.shape, nh, nw, !!a.alignCorners, !!a.halfPixelCenters), 'float32');
  });
  kernel('ResizeBilinearGrad', ['images', 'dy'], ([x, dy], a, b) =>
    b.run1('ResizeBilinearGrad', [x, dy], bilinearAttrs(x.shape, dy.shape[1], dy.shape[2], !!a.alignCorners, !!a.halfPixelCenters), 'float32'),
  );
  kernel('ResizeNearestNeighbor', ['images'], ([x], a, b) => {
    const [nh, nw] = a.size as [number, number];
    return b.run1('ResizeNearestNeighbor', [x], nearestAttrs(x.shape, nh, nw, !!a.alignCorners, !!a.halfPixelCenters), x.dtype);
  });
  kernel('ResizeNearestNeighborGrad', ['images', 'dy'], ([x, dy], a, b) =>
    b.run1('ResizeNearestNeighborGrad', [x, dy], nearestAttrs(x.shape, dy.shape[1], dy.shape[2], !!a.alignCorners, !!a.halfPixelCenters), 'float32'),
  );

  // --- normalisation --------------------------------------------------------------------------
  kernel('FusedBatchNorm', ['x', 'mean', 'variance', 'offset', 'scale'], (ins, a, b, named) =>
    b.run1('FusedBatchNorm', ins, [num(a.varianceEpsilon, 0.001), flag(named.offset), flag(named.scale)], 'float32'),
  );
}

function unsupported(what: string): never {
  throw new Error(`torch backend: ${what} is not supported`);
}

/** The native dtype code (float32, int32, bool); other dtypes have no kernels here. */
function dtypeCode(dtype: tf.DataType): number {
  return DTYPE_CODES[dtype as keyof typeof DTYPE_CODES] ?? unsupported(`dtype ${dtype}`);
}

/** tfjs's fused activation names → native/torch codes. */
function activationCode(name: unknown): number {
  const codes: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, prelu: 5, sigmoid: 6 };
  const key = (name as string | undefined) ?? 'linear';
  const code = codes[key];
  if (code === undefined) unsupported(`fused activation '${key}'`);
  return code;
}

/** Source rows/cols and weights of tfjs's bilinear resize (tfjs-backend-cpu ResizeBilinear). */
function bilinearAttrs(shape: number[], nh: number, nw: number, alignCorners: boolean, halfPixel: boolean): number[] {
  const axis = (oldSize: number, newSize: number) => {
    const ratio = (alignCorners && newSize > 1 ? oldSize - 1 : oldSize) / (alignCorners && newSize > 1 ? newSize - 1 : newSize);
    const lo: number[] = [], hi: number[] = [], frac: number[] = [];
    for (let i = 0; i < newSize; i++) {
      const src = halfPixel ? ratio * (i + 0.5) - 0.5 : ratio * i;
      const floor = Math.max(0, Math.floor(src));
      lo.push(floor);
      hi.push(Math.min(oldSize - 1, Math.ceil(src)));
      frac.push(src - floor);
    }
    return [...lo, ...hi, ...frac];
  };
  return [nh, nw, ...axis(shape[1], nh), ...axis(shape[2], nw)];
}

/** Source rows/cols of tfjs's nearest-neighbour resize (tfjs-backend-cpu ResizeNearestNeighbor). */
function nearestAttrs(shape: number[], nh: number, nw: number, alignCorners: boolean, halfPixel: boolean): number[] {
  const axis = (oldSize: number, newSize: number) => {
    const ratio = (alignCorners && newSize > 1 ? oldSize - 1 : oldSize) / (alignCorners && newSize > 1 ? newSize - 1 : newSize);
    const idx: number[] = [];
    for (let i = 0; i < newSize; i++) {
      const src = halfPixel ? ratio * (i + 0.5) : ratio * i;
      let j = Math.min(oldSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
      if (halfPixel) j = Math.max(0, j);
      idx.push(j);
    }
    return idx;
  };
  return [nh, nw, ...axis(shape[1], nh), ...axis(shape[2], nw)];
}
