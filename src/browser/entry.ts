// The browser build's entry (dist/browser/simdcnn.js and simdcnn.inline.js): the public API of
// src/index.ts, plus one thing only the entry module knows, its own URL. createWorkerModel's
// worker imports the library by that URL, and in the code-split build the code asking for it
// sits in a chunk whose import.meta.url is the chunk's, not the entry's.
import { setLibraryModuleUrl } from './worker-model.js';

export * from '../index.js';

setLibraryModuleUrl(import.meta.url);
