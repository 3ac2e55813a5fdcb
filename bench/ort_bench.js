// ort_bench.js: times an ONNX model with ONNX Runtime's CPU provider
// (npm's onnxruntime-node; see cpu_bench.py, which installs it).
//   node ort_bench.js MODEL.onnx N,C,H,W THREADS RUNS
// Prints one JSON line: {"median_ms", "p10_ms", "p90_ms"}.
const ort = require("onnxruntime-node");

async function main() {
  const [model, shapeText, threads, runs] = process.argv.slice(2);
  const shape = shapeText.split(",").map(Number);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size).map((_, i) => Math.sin(i) * 0.5);
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, shape) };
  for (let i = 0; i < Math.max(3, runs / 10); ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(JSON.stringify({ median_ms: at(0.5), p10_ms: at(0.1), p90_ms: at(0.9) }));
}
main().catch((e) => { console.error(e); process.exit(1); });
