export declare const K: number;
/** n images (classes in turn) as NHWC RGB in [0, 1], and their labels. */
export declare function shapes(n: number, H: number, W: number, rand: () => number): { rgb: Float32Array; labels: Int32Array };
/** A small seeded generator (mulberry32): the same seed gives the same images. */
export declare function mulberry32(seed: number): () => number;
