// tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter, so a tfjs model with conv layers cannot
// train on 'wasm' out of the box. To compare fairly, the bench supplies it, built from tfjs' own
// wasm ops: im2col by strided slices of the padded input, then one matMul — dW = colᵀ · dy.
// Nor does it register the depthwise convolution's two gradients (MobileNetV2 training): they are
// supplied the same way, one kernel tap at a time (registerDepthwiseGrads).

/**
 * A kernel's input as a Tensor for tfjs' ops. engine.makeTensorFromTensorInfo tracks the wrapper
 * without taking a backend reference, yet disposing it (at the kernel's tidy end) drops one: the
 * caller's tensor would be freed under it. So one is taken here for the wrapper to give back.
 */
function inputTensor(tf, info) {
  const engine = tf.engine();
  const t = engine.makeTensorFromTensorInfo(info);
  engine.backend.incRef(info.dataId);
  return t;
}

/** Registers the filter gradient for backendName (default 'wasm'); returns the kernel config. */
export function registerConv2DBackpropFilter(tf, backendName = 'wasm') {
  const kernelFunc = ({ inputs, attrs }) => {
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
    if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (bench): dataFormat ${dataFormat} is not supported, only NHWC`);
    const info = tf.backend_util.computeConv2DInfo(inputs.x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { batchSize: n, inChannels: c, outChannels: co, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw,
      filterHeight: kh, filterWidth: kw, padInfo } = info;
    // The returned Tensor is taken as the kernel's output as is (the engine accepts Tensors there).
    return tf.tidy(() => {
      const x = inputTensor(tf, inputs.x);
      const dy = inputTensor(tf, inputs.dy);
      const xp = tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
      const taps = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          taps.push(tf.stridedSlice(xp, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]));
        }
      }
      // Column order (i, j, channel) is the HWIO filter's row order: the product reshapes to [kh, kw, c, co].
      const col = tf.reshape(taps.length === 1 ? taps[0] : tf.concat(taps, 3), [n * oh * ow, kh * kw * c]);
      return tf.reshape(tf.matMul(col, tf.reshape(dy, [n * oh * ow, co]), true, false), [kh, kw, c, co]);
    });
  };
  const config = { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc };
  tf.registerKernel(config);
  return config;
}

/** Max |wasm − cpu| of the filter gradient over small cases (valid/same, stride 1/2, odd/even kernels, channels). */
export async function checkAgainstCpu(tf) {
  const cases = [
    { x: [2, 7, 6, 1], f: [3, 3, 1, 4], strides: 1, pad: 'valid' },
    { x: [3, 9, 8, 3], f: [3, 3, 3, 5], strides: 2, pad: 'same' },
    { x: [1, 6, 7, 2], f: [2, 4, 2, 3], strides: [1, 2], pad: 'same' },
    { x: [2, 10, 10, 4], f: [5, 5, 4, 2], strides: 3, pad: 'valid' },
  ];
  let worst = 0;
  const prev = tf.getBackend();
  for (const k of cases) {
    const xv = tf.tidy(() => tf.randomUniform(k.x, -1, 1, 'float32', 1).dataSync());
    const run = async (backend) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(xv, k.x);
        const outShape = tf.backend_util.computeConv2DInfo(k.x, k.f, k.strides, 1, k.pad).outShape;
        const dy = tf.randomUniform(outShape, -1, 1, 'float32', 2);
        return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: k.strides, pad: k.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: k.f }).dataSync();
      });
    };
    const want = await run('cpu');
    const got = await run('wasm');
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  }
  await tf.setBackend(prev);
  return worst;
}

function depthwiseInfo(tf, kernel, xShape, filterShape, { strides, pad, dilations, dimRoundingMode }) {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'channelsLast');
  // tfjs' own depthwise gradient refuses dilations too (and tfjs-cpu's kernels, the reference, ignore them).
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(`${kernel} (bench): dilations [${info.dilationHeight}, ${info.dilationWidth}] are not supported, expected [1, 1]`);
  }
  return info;
}

/**
 * Registers DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput for
 * backendName from tfjs' own ops: for each tap (i, j) of the kh×kw kernel, the strided slice of the
 * padded input it multiplies. dW[i, j] = Σ_{n,y,x} slice · dy; dx = Σ_taps (dy · w[i, j]) placed back
 * at the tap's offset (zeros between rows and columns for a stride, pad for the offset), then the
 * padding cropped off. Returns the two kernel configs.
 */
export function registerDepthwiseGrads(tf, backendName = 'wasm') {
  const filterGrad = ({ inputs, attrs }) => {
    const info = depthwiseInfo(tf, 'DepthwiseConv2dNativeBackpropFilter', inputs.x.shape, attrs.filterShape, attrs);
    const { batchSize: n, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info;
    const dm = attrs.filterShape[3];
    return tf.tidy(() => {
      const x = inputTensor(tf, inputs.x);
      const dy = inputTensor(tf, inputs.dy);
      const xp = tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
      // dy's channels are c·dm, channel-major (output channel k = ci·dm + m), as the filter's last two axes.
      const dy5 = dm === 1 ? dy : tf.reshape(dy, [n, oh, ow, c, dm]);
      const taps = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const s = tf.stridedSlice(xp, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]);
          taps.push(dm === 1 ? tf.sum(tf.mul(s, dy), [0, 1, 2]) : tf.sum(tf.mul(tf.expandDims(s, 4), dy5), [0, 1, 2]));
        }
      }
      return tf.reshape(tf.stack(taps), [kh, kw, c, dm]);
    });
  };
  const inputGrad = ({ inputs, attrs }) => {
    const xShape = attrs.inputShape;
    const info = depthwiseInfo(tf, 'DepthwiseConv2dNativeBackpropInput', xShape, inputs.filter.shape, attrs);
    const { batchSize: n, inChannels: c, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw,
      filterHeight: kh, filterWidth: kw, padInfo } = info;
    const dm = inputs.filter.shape[3];
    const hp = h + padInfo.top + padInfo.bottom, wp = w + padInfo.left + padInfo.right;
    return tf.tidy(() => {
      const dy = inputTensor(tf, inputs.dy);
      const filter = inputTensor(tf, inputs.filter);
      const dy5 = dm === 1 ? dy : tf.reshape(dy, [n, oh, ow, c, dm]);
      const parts = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const wij = tf.reshape(tf.slice(filter, [i, j, 0, 0], [1, 1, c, dm]), dm === 1 ? [c] : [c, dm]);
          let t = dm === 1 ? tf.mul(dy, wij) : tf.sum(tf.mul(dy5, wij), 4);
          let rows = oh, cols = ow;
          if (sh > 1 || sw > 1) {
            // Output pixel (y, x) read padded input row y·sh + i: spread dy out with sh−1 zero rows (sw−1 columns) after each.
            t = tf.reshape(tf.pad(tf.reshape(t, [n, oh, 1, ow, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]), [n, oh * sh, ow * sw, c]);
            rows = Math.min(oh * sh, hp - i);
            cols = Math.min(ow * sw, wp - j);
            // Only trailing zeros are dropped: the last real row sits at i + (oh − 1)·sh < hp.
            if (rows < oh * sh || cols < ow * sw) t = tf.slice(t, [0, 0, 0, 0], [n, rows, cols, c]);
          }
          parts.push(tf.pad(t, [[0, 0], [i, hp - i - rows], [j, wp - j - cols], [0, 0]]));
        }
      }
      const full = parts.length === 1 ? parts[0] : tf.addN(parts);
      return tf.slice(full, [0, padInfo.top, padInfo.left, 0], [n, h, w, c]);
    });
  };
  const configs = [
    { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName, kernelFunc: filterGrad },
    { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName, kernelFunc: inputGrad },
  ];
  for (const k of configs) tf.registerKernel(k);
  return configs;
}

/**
 * Max rel. error |wasm − cpu| / (1 + |cpu|) of both depthwise gradients over small cases (valid/same,
 * stride 1/2, odd/even sizes, depth multiplier 1 and 2), the supplied kernels against tfjs-cpu's.
 */
export async function checkDepthwiseAgainstCpu(tf) {
  const cases = [
    { x: [2, 7, 6, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same' },
    { x: [2, 8, 8, 4], f: [3, 3, 4, 1], strides: 2, pad: 'valid' },
    { x: [1, 9, 8, 2], f: [3, 3, 2, 2], strides: 2, pad: 'same' },
    { x: [3, 6, 7, 5], f: [2, 4, 5, 1], strides: [1, 2], pad: 'valid' },
  ];
  let worst = 0;
  const prev = tf.getBackend();
  for (const k of cases) {
    const outShape = tf.backend_util.computeConv2DInfo(k.x, k.f, k.strides, 1, k.pad, undefined, true).outShape;
    const xv = tf.tidy(() => tf.randomUniform(k.x, -1, 1, 'float32', 3).dataSync());
    const fv = tf.tidy(() => tf.randomUniform(k.f, -1, 1, 'float32', 4).dataSync());
    const dyv = tf.tidy(() => tf.randomUniform(outShape, -1, 1, 'float32', 5).dataSync());
    const run = async (backend) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(xv, k.x), filter = tf.tensor(fv, k.f), dy = tf.tensor(dyv, outShape);
        const attrs = { strides: k.strides, pad: k.pad, dilations: 1, dimRoundingMode: undefined };
        const dW = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: k.f }).dataSync();
        const dX = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...attrs, inputShape: k.x }).dataSync();
        return [dW, dX];
      });
    };
    const want = await run('cpu');
    const got = await run('wasm');
    for (let p = 0; p < 2; p++) {
      if (got[p].length !== want[p].length) throw new Error(`depthwise gradient check: ${p ? 'dX' : 'dW'} of ${JSON.stringify(k)} has ${got[p].length} values, tfjs-cpu ${want[p].length}`);
      for (let i = 0; i < want[p].length; i++) worst = Math.max(worst, Math.abs(got[p][i] - want[p][i]) / (1 + Math.abs(want[p][i])));
    }
  }
  await tf.setBackend(prev);
  return worst;
}
