// Inputs every runner makes for itself from a seed (the same bytes in every process, so no image
// batch crosses a pipe): uniform values in [-1, 1), the range keras.applications' preprocessing
// gives MobileNetV2, and labels cycling through the classes.

/** n examples of `shape` (without the batch), deterministic in seed. */
export function randomImages(n, shape, seed = 1) {
  const size = n * shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s >>> 8) / 2 ** 23 - 1;
  }
  return v;
}

export function randomLabels(n, classes) {
  if (!(classes >= 1 && classes <= 256)) throw new Error(`randomLabels: classes must be 1..256 (uint8 labels), got ${classes}`);
  return new Uint8Array(n).map((_, i) => (i * 7 + 3) % classes);
}

/** The models of bench/models.mjs: how each is built (keras-models.mjs) and what it takes. */
export const MODELS = {
  mobilenetv2: { label: 'MobileNetV2 1.0 224²', build: 'mobileNetV2', opts: { alpha: 1, size: 224, classes: 1000 }, shape: [224, 224, 3], classes: 1000 },
  resnet50: { label: 'ResNet-50 224²', build: 'resNet50', opts: { size: 224, classes: 1000 }, shape: [224, 224, 3], classes: 1000 },
  resnet20: { label: 'ResNet-20 CIFAR 32²', build: 'resNet20', opts: { size: 32, classes: 10 }, shape: [32, 32, 3], classes: 10 },
  'mobilenetv2-035': { label: 'MobileNetV2 0.35 96²', build: 'mobileNetV2', opts: { alpha: 0.35, size: 96, classes: 10 }, shape: [96, 96, 3], classes: 10 },
  notes: { label: "the notes' MNIST CNN", build: 'notesCnn', opts: undefined, shape: [28, 28, 1], classes: 10 },
};
