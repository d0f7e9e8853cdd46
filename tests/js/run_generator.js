// Test harness (node): replays exported generators with gancourse-generator.js and compares
// them with PyTorch's outputs. Usage: node run_generator.js cases.json
// cases.json: {"generator_js": path, "scripts": [weights .js paths],
//   "cases": [{"model", "graph", "inputs": [{"shape", "data"}], "expected": {"shape", "data"}}]}
// "no_wasm": true runs without the WebAssembly product. Prints one JSON line:
// {"wasm": used or not, "results": [{"max_abs", "shape_ok", "ms"}] per case}.
"use strict";
const fs = require("fs");
const vm = require("vm");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
global.window = global;
if (spec.no_wasm) global.GANCOURSE_NO_WASM = true;      // the plain JavaScript product only
const gen = require(spec.generator_js);
for (const s of spec.scripts) vm.runInThisContext(fs.readFileSync(s, "utf8"), { filename: s });
const out = [];
for (const c of spec.cases) {
  const model = gen.load(window.GANCOURSE_WEIGHTS[c.model]);
  const inputs = c.inputs.map((t) => gen.T(t.shape, Float32Array.from(t.data)));
  let y = gen.run(model, c.graph, inputs);           // warm-up run, then a timed one
  const t0 = process.hrtime.bigint();
  y = gen.run(model, c.graph, inputs);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let max = 0;
  for (let i = 0; i < y.data.length; i++) max = Math.max(max, Math.abs(y.data[i] - c.expected.data[i]));
  if (!(y.data.length === c.expected.data.length)) max = Infinity;
  out.push({ max_abs: max, shape_ok: JSON.stringify(y.shape) === JSON.stringify(c.expected.shape), ms: ms });
}
console.log(JSON.stringify({ wasm: gen.usesWasm(), results: out }));
