// Batch-1 inference of a saved simdcnn (tfjs layers-model) model in Deno.
//   deno run --allow-read main.ts <model-dir> <digit.json>
// digit.json: {"pixels": [784 grayscale bytes, row-major 28×28, white digit on black]}.
// In your project, import from 'npm:simdcnn' instead of the repository's build.
import { loadLayersModel, ready, uint8Images } from '../../../dist/index.js';

const [modelDir, digitFile] = Deno.args;
if (!modelDir || !digitFile) {
  console.error('usage: deno run --allow-read main.ts <model-dir> <digit.json>');
  Deno.exit(2);
}
await ready();
const model = await loadLayersModel(modelDir);
const { pixels } = JSON.parse(await Deno.readTextFile(digitFile));
const y = model.predict(uint8Images(Uint8Array.from(pixels), [28, 28, 1]));
const probs = Array.from(y.dataSync());
console.log(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, label: probs.indexOf(Math.max(...probs)), probs }));
