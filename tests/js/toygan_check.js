// Runs the numerical core of gancourse-toygan.js on weights and batches given as JSON, and
// returns what tests/test_toygan.py compares with PyTorch: the losses, every parameter
// gradient and every parameter after each Adam step.
//   Node:     node toygan_check.js path/to/gancourse-toygan.js < case.json
//   Chromium: load gancourse-toygan.js, then this file; call toyganCheck(GancourseToyGAN, case).
"use strict";

function toyganCheck(core, c) {
  if (c.mode === "adam") {       // Adam alone: given gradients, the parameters after each step
    const net = new core.Mlp(c.sizes[0], c.sizes[1], c.sizes[2], c.sizes[3], null);
    net.params().forEach((pair, k) => pair[0].set(c.params[k]));
    const opt = new core.Adam(net, c.lr, c.betas[0], c.betas[1]);
    return c.grads.map(grads => {
      net.params().forEach((pair, k) => pair[1].set(grads[k]));
      opt.step();
      return net.params().map(pair => Array.from(pair[0]));
    });
  }
  const load = (net, layers) => net.layers.forEach((L, k) => { L.W.set(layers[k][0]); L.b.set(layers[k][1]); });
  // The optimiser's state as PyTorch had it: step count and both moments of every parameter.
  const loadAdam = (opt, state) => {
    opt.t = state.t;
    opt.m.forEach((m, k) => m.set(state.m[k]));
    opt.v.forEach((v, k) => v.set(state.v[k]));
  };
  const dump = (net, which) => net.layers.map(L => [Array.from(which === "grad" ? L.gW : L.W),
                                                     Array.from(which === "grad" ? L.gb : L.b)]);
  const G = new core.Mlp(c.z_dim, c.g_hidden, c.g_depth, 2, null);
  const D = new core.Mlp(2, c.d_hidden, c.d_depth, 1, null);
  const optG = new core.Adam(G, c.lr_g, c.betas[0], c.betas[1]);
  const optD = new core.Adam(D, c.lr_d, c.betas[0], c.betas[1]);
  const n = c.batch_size, work = new core.Work(n), out = [];
  // Each step starts from PyTorch's state before that step, so what is compared is one step.
  for (const r of c.rounds) {
    load(G, r.G); load(D, r.D); loadAdam(optD, r.optD); loadAdam(optG, r.optG);
    const d = core.dStep(G, D, optD, c.loss, Float32Array.from(r.real), Float32Array.from(r.zd), n, work);
    const row = { lossD: d.lossD, gradD: dump(D, "grad"), D: dump(D, "value") };
    load(D, r.D_mid);
    row.lossG = core.gStep(G, D, optG, c.loss, Float32Array.from(r.zg), n, work);
    row.gradG = dump(G, "grad"); row.G = dump(G, "value");
    out.push(row);
  }
  return out;
}

if (typeof require === "function" && typeof module === "object" && require.main === module) {
  const core = require(require("path").resolve(process.argv[2]));
  const c = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify(toyganCheck(core, c)));
}
