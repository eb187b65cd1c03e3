// Batch-1 inference of a saved simdcnn (tfjs layers-model) model in Bun.
//   bun main.ts <model-dir> <digit.json>
// digit.json: {"pixels": [784 grayscale bytes, row-major 28×28, white digit on black]}.
// In your project, import from 'simdcnn' instead of the repository's build.
import { loadLayersModel, ready, uint8Images } from '../../../dist/index.js';

const [modelDir, digitFile] = Bun.argv.slice(2);
if (!modelDir || !digitFile) {
  console.error('usage: bun main.ts <model-dir> <digit.json>');
  process.exit(2);
}
await ready();
const model = await loadLayersModel(modelDir);
const { pixels } = await Bun.file(digitFile).json();
const y = model.predict(uint8Images(Uint8Array.from(pixels), [28, 28, 1]));
const probs = Array.from(y.dataSync());
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, label: probs.indexOf(Math.max(...probs)), probs }));
