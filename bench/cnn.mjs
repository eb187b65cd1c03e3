// The reference CNN of the notes (Conv32-3×3-relu, MaxPool2, Conv64-3×3-relu, MaxPool2, Flatten,
// Dense64-relu, Dense10-softmax), shared by the benchmarks.
export const FORWARD_MFLOP = 5.06; // conv1 0.39 + conv2 4.46 + dense 0.21 (multiply-add = 2 FLOPs)
export const TRAIN_MFLOP = 15.2; // forward + backward (≈ 3× forward), the figure the issues quote

export function referenceCnn(s, seed = 1) {
  return s.sequential({
    seed,
    layers: [
      s.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      s.layers.maxPooling2d({ poolSize: 2 }),
      s.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      s.layers.maxPooling2d({ poolSize: 2 }),
      s.layers.flatten(),
      s.layers.dense({ units: 64, activation: 'relu' }),
      s.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** Deterministic synthetic digits (uint8 noise) and labels: same data for every library. */
export function syntheticData(n) {
  const images = new Uint8Array(n * 784);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  return { images, labels: new Uint8Array(n).map((_, i) => (i * 7) % 10) };
}
