// tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter, so a tfjs model with conv layers cannot
// train on 'wasm' out of the box. To compare fairly, the bench supplies it, built from tfjs' own
// wasm ops: im2col by strided slices of the padded input, then one matMul — dW = colᵀ · dy.

/** Registers the filter gradient for backendName (default 'wasm'); returns the kernel config. */
export function registerConv2DBackpropFilter(tf, backendName = 'wasm') {
  const kernelFunc = ({ inputs, attrs }) => {
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
    if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (bench): dataFormat ${dataFormat} is not supported, only NHWC`);
    const info = tf.backend_util.computeConv2DInfo(inputs.x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { batchSize: n, inChannels: c, outChannels: co, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw,
      filterHeight: kh, filterWidth: kw, padInfo } = info;
    const engine = tf.engine();
    // The returned Tensor is taken as the kernel's output as is (the engine accepts Tensors there).
    return tf.tidy(() => {
      const x = engine.makeTensorFromTensorInfo(inputs.x);
      const dy = engine.makeTensorFromTensorInfo(inputs.dy);
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
