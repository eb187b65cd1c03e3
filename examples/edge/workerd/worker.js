// Batch-1 inference of a saved simdcnn model in Cloudflare's workerd. workerd compiles no wasm at
// run time, so the kernels come in as a wasm module (config.capnp) and are handed to ready();
// model.json and weights.bin are a JSON and a data module. POST {"pixels": [784 bytes]} → JSON.
import { fromMemory, loadLayersModel, ready, uint8Images } from './simdcnn.js';
import kernels from './simdcnn-simd.wasm';
import modelJson from './model/model.json';
import weights from './model/weights.bin';

let model;

export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response('POST {"pixels": [784 grayscale bytes]}\n', { status: 405 });
    model ??= await ready({ module: kernels }).then(() => loadLayersModel(fromMemory(modelJson, weights)));
    const { pixels } = await request.json();
    if (!Array.isArray(pixels) || pixels.length !== 784) return Response.json({ error: 'pixels must hold 784 values (28×28)' }, { status: 400 });
    const y = model.predict(uint8Images(Uint8Array.from(pixels), [28, 28, 1]));
    const probs = Array.from(y.dataSync());
    y.dispose();
    return Response.json({ runtime: 'workerd', label: probs.indexOf(Math.max(...probs)), probs });
  },
};
