# workerd serve config.capnp   (then POST a digit to http://127.0.0.1:8787/)
# Paths are relative to this file: the browser build of simdcnn (npm run build) — its core is two
# modules, simdcnn.js and the chunk it imports, simdcnn-chunk.js, plus simdcnn-load.js, the model
# reader loadLayersModel imports on first use (the other optional chunks, WebGPU, workers and the
# downloader, are never loaded here) — its plain-SIMD kernels, and a saved model
# (model.save('model') writes model/model.json + model/weights.bin).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .mnistWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const mnistWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "simdcnn.js", esModule = embed "../../../dist/browser/simdcnn.js"),
    (name = "simdcnn-chunk.js", esModule = embed "../../../dist/browser/simdcnn-chunk.js"),
    (name = "simdcnn-load.js", esModule = embed "../../../dist/browser/simdcnn-load.js"),
    (name = "simdcnn-simd.wasm", wasm = embed "../../../dist/wasm/simdcnn-simd.wasm"),
    (name = "model/model.json", json = embed "model/model.json"),
    (name = "model/weights.bin", data = embed "model/weights.bin"),
  ],
  compatibilityDate = "2025-09-01",
);
