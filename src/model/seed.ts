// The global seed (tfjs has none; Keras has keras.utils.set_random_seed): models created after
// setSeed(n) without their own seed initialise, shuffle and drop out reproducibly.

let seed: number | undefined;

export function setSeed(value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) throw new Error(`setSeed: seed must be a finite number or undefined, got ${value}`);
  seed = value;
}

export function globalSeed(): number | undefined {
  return seed;
}
