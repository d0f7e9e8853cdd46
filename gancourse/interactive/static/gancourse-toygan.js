/* gancourse-toygan.js: a 2-D GAN that trains in the reader's browser (gancourse.interactive.toygan).

   Plain JavaScript, no library and no network: the ring of Gaussians of gancourse.toy, two
   small ReLU MLPs stored in Float32Arrays with a hand-written backward pass, PyTorch's Adam,
   and the course's losses (gancourse.losses) as functions of the logits. One training step is
   what gancourse.train does: d_step (real and generated points, D's loss, an Adam step of D),
   then g_step (fresh noise, G's loss through the frozen D, an Adam step of G).

   The numerical core (Rng, Mlp, Adam, LOSSES, dStep, gStep, coverage) is exported to Node for
   the gradient check of tests/test_toygan.py; in a page, every element carrying
   data-gancourse-toygan (made by gancourse.interactive.toy_trainer) becomes a trainer.
   It does not hold the explorers of gancourse-interactive.js. */
(function (global) {
  "use strict";

  // ------------------------------------------------------------ random numbers
  // xoshiro128** seeded through splitmix32: a small, fast generator of its own. Normals by
  // Box-Muller. Its numbers are not PyTorch's: the page and the chapter draw different samples.
  function Rng(seed) {
    var s = (seed >>> 0) || 0;
    function splitmix() {
      s = (s + 0x9e3779b9) >>> 0;
      var z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    }
    this.a = splitmix(); this.b = splitmix(); this.c = splitmix(); this.d = splitmix();
    this.spare = null;
  }
  Rng.prototype.next = function () {          // a uint32
    var r = Math.imul(this.b * 5, 7);
    r = (((r << 7) | (r >>> 25)) * 9) >>> 0;
    var t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d; this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return r;
  };
  Rng.prototype.uniform = function () { return (this.next() + 0.5) / 4294967296; };   // in (0, 1)
  Rng.prototype.normal = function () {
    if (this.spare !== null) { var s = this.spare; this.spare = null; return s; }
    var r = Math.sqrt(-2 * Math.log(this.uniform())), a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  Rng.prototype.fillNormal = function (out, n) { for (var i = 0; i < n; i++) out[i] = this.normal(); return out; };
  Rng.prototype.int = function (n) { return Math.floor(this.uniform() * n); };

  // ------------------------------------------------------------ the ring of Gaussians
  function ringCentres(modes, radius) {
    var c = new Float32Array(2 * modes);
    for (var k = 0; k < modes; k++) {
      var a = k * 2 * Math.PI / modes;
      c[2 * k] = radius * Math.cos(a); c[2 * k + 1] = radius * Math.sin(a);
    }
    return c;
  }
  function sampleRing(rng, n, modes, radius, std) {
    var c = ringCentres(modes, radius), out = new Float32Array(2 * n);
    for (var i = 0; i < n; i++) {
      var k = rng.int(modes);
      out[2 * i] = c[2 * k] + std * rng.normal();
      out[2 * i + 1] = c[2 * k + 1] + std * rng.normal();
    }
    return out;
  }

  // As toy.mode_coverage: a point is high-quality within kSigma * std of a centre, a mode is
  // covered when at least minShare of all points are its high-quality points.
  function coverage(points, n, modes, radius, std, kSigma, minShare) {
    var c = ringCentres(modes, radius), counts = new Array(modes).fill(0), close = 0, sumDist = 0;
    for (var i = 0; i < n; i++) {
      var best = Infinity, which = 0;
      for (var k = 0; k < modes; k++) {
        var dx = points[2 * i] - c[2 * k], dy = points[2 * i + 1] - c[2 * k + 1], d = Math.sqrt(dx * dx + dy * dy);
        if (d < best) { best = d; which = k; }
      }
      sumDist += best;
      if (best <= kSigma * std) { counts[which]++; close++; }
    }
    var covered = counts.filter(function (m) { return m >= minShare * n; }).length;
    return { counts: counts, covered: covered, highQuality: n ? close / n : 0, meanDistance: n ? sumDist / n : 0 };
  }

  // ------------------------------------------------------------ networks
  // A Linear layer as PyTorch stores it: W is (out, in) row-major, b is (out). The initial
  // values follow nn.Linear's distribution, U(-1/sqrt(in), 1/sqrt(in)) for both.
  function Linear(nin, nout, rng) {
    this.nin = nin; this.nout = nout;
    this.W = new Float32Array(nin * nout); this.b = new Float32Array(nout);
    this.gW = new Float32Array(nin * nout); this.gb = new Float32Array(nout);
    if (rng) {
      var bound = 1 / Math.sqrt(nin);
      for (var i = 0; i < this.W.length; i++) this.W[i] = (2 * rng.uniform() - 1) * bound;
      for (var j = 0; j < nout; j++) this.b[j] = (2 * rng.uniform() - 1) * bound;
    }
  }

  // y = x W^T + b for n rows; ReLU when relu. Four rows at a time: each weight is read once
  // for four products (about twice as fast as one row at a time in V8).
  function linearForward(L, x, n, y, relu) {
    var nin = L.nin, nout = L.nout, W = L.W, b = L.b, s = 0, o, i, v;
    for (; s + 4 <= n; s += 4) {
      var x0 = s * nin, x1 = x0 + nin, x2 = x1 + nin, x3 = x2 + nin, y0 = s * nout;
      for (o = 0; o < nout; o++) {
        var wo = o * nin, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (i = 0; i < nin; i++) {
          var w = W[wo + i];
          a0 += x[x0 + i] * w; a1 += x[x1 + i] * w; a2 += x[x2 + i] * w; a3 += x[x3 + i] * w;
        }
        v = b[o] + a0; y[y0 + o] = relu && v < 0 ? 0 : v;
        v = b[o] + a1; y[y0 + nout + o] = relu && v < 0 ? 0 : v;
        v = b[o] + a2; y[y0 + 2 * nout + o] = relu && v < 0 ? 0 : v;
        v = b[o] + a3; y[y0 + 3 * nout + o] = relu && v < 0 ? 0 : v;
      }
    }
    for (; s < n; s++) {
      var xo = s * nin, yo = s * nout;
      for (o = 0; o < nout; o++) {
        var ww = o * nin, a = 0;
        for (i = 0; i < nin; i++) a += x[xo + i] * W[ww + i];
        v = b[o] + a;
        y[yo + o] = relu && v < 0 ? 0 : v;
      }
    }
  }

  // Given gy = dLoss/dy (n, out): gW += gy^T x and gb += column sums of gy (when params),
  // and gx = gy W (when gx is given). Four rows (or four outputs) at a time, as the forward
  // pass; a block of four zero gradients (ReLU's zeros) is skipped.
  function linearBackward(L, x, n, gy, params, gx) {
    var nin = L.nin, nout = L.nout, W = L.W, gW = L.gW, gb = L.gb, s, o, i, g;
    if (params) {
      for (o = 0; o < nout; o++) {
        var wo = o * nin, bsum = 0;
        for (s = 0; s + 4 <= n; s += 4) {
          var g0 = gy[s * nout + o], g1 = gy[(s + 1) * nout + o], g2 = gy[(s + 2) * nout + o],
              g3 = gy[(s + 3) * nout + o];
          bsum += (g0 + g1) + (g2 + g3);
          if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
          var x0 = s * nin, x1 = x0 + nin, x2 = x1 + nin, x3 = x2 + nin;
          for (i = 0; i < nin; i++) gW[wo + i] += g0 * x[x0 + i] + g1 * x[x1 + i] + g2 * x[x2 + i] + g3 * x[x3 + i];
        }
        for (; s < n; s++) {
          g = gy[s * nout + o];
          bsum += g;
          if (g === 0) continue;
          for (i = 0; i < nin; i++) gW[wo + i] += g * x[s * nin + i];
        }
        gb[o] += bsum;
      }
    }
    if (!gx) return;
    for (s = 0; s < n; s++) {
      var xo = s * nin, yo = s * nout;
      for (i = 0; i < nin; i++) gx[xo + i] = 0;
      for (o = 0; o + 4 <= nout; o += 4) {
        var h0 = gy[yo + o], h1 = gy[yo + o + 1], h2 = gy[yo + o + 2], h3 = gy[yo + o + 3];
        if (h0 === 0 && h1 === 0 && h2 === 0 && h3 === 0) continue;
        var w0 = o * nin, w1 = w0 + nin, w2 = w1 + nin, w3 = w2 + nin;
        for (i = 0; i < nin; i++) gx[xo + i] += h0 * W[w0 + i] + h1 * W[w1 + i] + h2 * W[w2 + i] + h3 * W[w3 + i];
      }
      for (; o < nout; o++) {
        g = gy[yo + o];
        if (g === 0) continue;
        for (i = 0; i < nin; i++) gx[xo + i] += g * W[o * nin + i];
      }
    }
  }

  // in -> hidden (ReLU) x depth -> out, the layout of gancourse.toy's _mlp.
  function Mlp(nin, hidden, depth, nout, rng) {
    this.layers = [];
    var width = nin;
    for (var k = 0; k < depth; k++) { this.layers.push(new Linear(width, hidden, rng)); width = hidden; }
    this.layers.push(new Linear(width, nout, rng));
    this.nin = nin; this.nout = nout; this.capacity = 0;
  }
  Mlp.prototype.ensure = function (n) {
    if (n <= this.capacity) return;
    this.acts = [null]; this.grads = [];
    for (var k = 0; k < this.layers.length; k++) {
      this.acts.push(new Float32Array(n * this.layers[k].nout));
      this.grads.push(new Float32Array(n * this.layers[k].nin));
    }
    this.capacity = n;
  };
  // The output rows (n, out); the array is reused by the next call.
  Mlp.prototype.forward = function (x, n) {
    this.ensure(n);
    this.acts[0] = x; this.n = n;
    var last = this.layers.length - 1;
    for (var k = 0; k <= last; k++) linearForward(this.layers[k], this.acts[k], n, this.acts[k + 1], k < last);
    return this.acts[this.layers.length];
  };
  // Backpropagate gOut (n, out) through the last forward pass: accumulate the parameter
  // gradients when params; return dLoss/dInput when wantInput.
  Mlp.prototype.backward = function (gOut, params, wantInput) {
    var g = gOut, n = this.n;
    for (var k = this.layers.length - 1; k >= 0; k--) {
      var gx = (k > 0 || wantInput) ? this.grads[k] : null;
      linearBackward(this.layers[k], this.acts[k], n, g, params, gx);
      if (k > 0) {                             // through the ReLU that made this layer's input
        var x = this.acts[k];
        for (var i = 0, m = n * this.layers[k].nin; i < m; i++) if (!(x[i] > 0)) gx[i] = 0;
      }
      g = gx;
    }
    return wantInput ? g : null;
  };
  Mlp.prototype.zeroGrad = function () {
    this.layers.forEach(function (L) { L.gW.fill(0); L.gb.fill(0); });
  };
  Mlp.prototype.params = function () {          // [value, gradient] pairs in PyTorch's order
    var out = [];
    this.layers.forEach(function (L) { out.push([L.W, L.gW]); out.push([L.b, L.gb]); });
    return out;
  };

  // torch.optim.Adam with no weight decay: the same moments, bias corrections and epsilon.
  function Adam(net, lr, beta1, beta2, eps) {
    this.pairs = net.params(); this.lr = lr; this.beta1 = beta1; this.beta2 = beta2;
    this.eps = eps === undefined ? 1e-8 : eps; this.t = 0;
    this.m = this.pairs.map(function (p) { return new Float32Array(p[0].length); });
    this.v = this.pairs.map(function (p) { return new Float32Array(p[0].length); });
  }
  Adam.prototype.step = function () {
    this.t += 1;
    var b1 = this.beta1, b2 = this.beta2, eps = this.eps;
    var stepSize = this.lr / (1 - Math.pow(b1, this.t)), bc2 = Math.sqrt(1 - Math.pow(b2, this.t));
    for (var k = 0; k < this.pairs.length; k++) {
      var p = this.pairs[k][0], g = this.pairs[k][1], m = this.m[k], v = this.v[k];
      for (var i = 0; i < p.length; i++) {
        var gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2 + eps);
      }
    }
  };

  // ------------------------------------------------------------ losses (gancourse.losses)
  // softplus(x) = log(1 + e^x), stable for any x; its derivative is sigmoid(x).
  function softplus(x) { return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); }
  function sigmoid(x) {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    var e = Math.exp(x);
    return e / (1 + e);
  }
  // Each loss: d(real, fake, n, gReal, gFake) and g(fake, n, gFake) return the loss (a batch
  // mean, to minimise) and write its gradient with respect to each logit or score.
  var LOSSES = {
    "non-saturating": {
      // d_loss_bce: E[softplus(-l_real)] + E[softplus(l_fake)]
      d: function (r, f, n, gr, gf) {
        var loss = 0;
        for (var i = 0; i < n; i++) {
          loss += softplus(-r[i]) + softplus(f[i]);
          gr[i] = -sigmoid(-r[i]) / n; gf[i] = sigmoid(f[i]) / n;
        }
        return loss / n;
      },
      // g_loss_nonsaturating: E[softplus(-l_fake)] = -E[log D(G(z))]
      g: function (f, n, gf) {
        var loss = 0;
        for (var i = 0; i < n; i++) { loss += softplus(-f[i]); gf[i] = -sigmoid(-f[i]) / n; }
        return loss / n;
      },
      probability: true
    },
    "minimax": {
      d: null,                                 // set below: the same d_loss_bce
      // g_loss_minimax: -E[softplus(l_fake)] = E[log(1 - D(G(z)))]
      g: function (f, n, gf) {
        var loss = 0;
        for (var i = 0; i < n; i++) { loss -= softplus(f[i]); gf[i] = -sigmoid(f[i]) / n; }
        return loss / n;
      },
      probability: true
    },
    "lsgan": {
      // d_loss_lsgan: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] on raw outputs
      d: function (r, f, n, gr, gf) {
        var a = 0, b = 0;
        for (var i = 0; i < n; i++) {
          a += (r[i] - 1) * (r[i] - 1); b += f[i] * f[i];
          gr[i] = (r[i] - 1) / n; gf[i] = f[i] / n;
        }
        return 0.5 * a / n + 0.5 * b / n;
      },
      // g_loss_lsgan: 1/2 E[(D(G(z)) - 1)^2]
      g: function (f, n, gf) {
        var a = 0;
        for (var i = 0; i < n; i++) { a += (f[i] - 1) * (f[i] - 1); gf[i] = (f[i] - 1) / n; }
        return 0.5 * a / n;
      },
      probability: false
    },
    "hinge": {
      // d_loss_hinge: E[relu(1 - f(x))] + E[relu(1 + f(G(z)))]; relu's gradient at 0 is 0
      d: function (r, f, n, gr, gf) {
        var a = 0, b = 0;
        for (var i = 0; i < n; i++) {
          a += Math.max(1 - r[i], 0); b += Math.max(1 + f[i], 0);
          gr[i] = 1 - r[i] > 0 ? -1 / n : 0; gf[i] = 1 + f[i] > 0 ? 1 / n : 0;
        }
        return a / n + b / n;
      },
      // g_loss_hinge: -E[f(G(z))]
      g: function (f, n, gf) {
        var a = 0;
        for (var i = 0; i < n; i++) { a -= f[i]; gf[i] = -1 / n; }
        return a / n;
      },
      probability: false
    }
  };
  LOSSES.minimax.d = LOSSES["non-saturating"].d;

  // ------------------------------------------------------------ the two steps (gancourse.train)
  // d_step: real (n, 2) and z (n, zDim) given; D sees the real points and G(z) in one batch of
  // 2n rows (the same sums as two batches); only D's parameters get gradients and move.
  function dStep(G, D, optD, lossName, real, z, n, work) {
    var fake = G.forward(z, n), both = work.both, i;
    for (i = 0; i < 2 * n; i++) both[i] = real[i];
    for (i = 0; i < 2 * n; i++) both[2 * n + i] = fake[i];
    var out = D.forward(both, 2 * n), r = out.subarray(0, n), f = out.subarray(n, 2 * n);
    var g = work.gLogits;
    var loss = LOSSES[lossName].d(r, f, n, g.subarray(0, n), g.subarray(n, 2 * n));
    var dx = 0, dgz = 0, prob = LOSSES[lossName].probability;
    for (i = 0; i < n; i++) { dx += prob ? sigmoid(r[i]) : r[i]; dgz += prob ? sigmoid(f[i]) : f[i]; }
    D.zeroGrad();
    D.backward(g, true, false);
    optD.step();
    return { lossD: loss, dReal: dx / n, dFake: dgz / n };
  }

  // g_step: z (n, zDim) given; the loss flows back through D, whose parameters stay as they are.
  function gStep(G, D, optG, lossName, z, n, work) {
    var fake = G.forward(z, n);
    var f = D.forward(fake, n), g = work.gLogits.subarray(0, n);
    var loss = LOSSES[lossName].g(f, n, g);
    var gFake = D.backward(g, false, true);
    G.zeroGrad();
    G.backward(gFake, true, false);
    optG.step();
    return loss;
  }

  function Work(batch) {
    this.both = new Float32Array(4 * batch);
    this.gLogits = new Float32Array(2 * batch);
  }

  var core = { Rng: Rng, Linear: Linear, Mlp: Mlp, Adam: Adam, LOSSES: LOSSES, dStep: dStep, gStep: gStep,
               Work: Work, softplus: softplus, sigmoid: sigmoid, ringCentres: ringCentres,
               sampleRing: sampleRing, coverage: coverage };

  // ------------------------------------------------------------ one training run
  function Run(cfg, seed, lossName, lrG, lrD) {
    var rng = new Rng(seed);
    this.cfg = cfg; this.rng = rng; this.seed = seed; this.loss = lossName; this.step = 0;
    this.data = sampleRing(rng, cfg.n_data, cfg.modes, cfg.radius, cfg.std);
    this.G = new Mlp(cfg.z_dim, cfg.g_hidden, cfg.g_depth, 2, rng);
    this.D = new Mlp(2, cfg.d_hidden, cfg.d_depth, 1, rng);
    this.optG = new Adam(this.G, lrG, cfg.betas[0], cfg.betas[1]);
    this.optD = new Adam(this.D, lrD, cfg.betas[0], cfg.betas[1]);
    var B = cfg.batch_size;
    this.work = new Work(B);
    this.real = new Float32Array(2 * B); this.z = new Float32Array(B * cfg.z_dim);
    this.perm = new Int32Array(cfg.n_data); this.pos = cfg.n_data;
    // A fixed noise batch for the picture and for mode coverage, as CoverageTracker keeps one.
    this.zShow = new Rng(seed + 1).fillNormal(new Float32Array(cfg.n_show * cfg.z_dim), cfg.n_show * cfg.z_dim);
  }
  // Shuffled batches, a new permutation each epoch and the last partial batch dropped (BatchStream).
  Run.prototype.nextBatch = function () {
    var B = this.cfg.batch_size, N = this.cfg.n_data, i;
    if (this.pos + B > N) {
      for (i = 0; i < N; i++) this.perm[i] = i;
      for (i = N - 1; i > 0; i--) {                 // Fisher-Yates
        var j = this.rng.int(i + 1), t = this.perm[i];
        this.perm[i] = this.perm[j]; this.perm[j] = t;
      }
      this.pos = 0;
    }
    for (i = 0; i < B; i++) {
      var k = this.perm[this.pos + i];
      this.real[2 * i] = this.data[2 * k]; this.real[2 * i + 1] = this.data[2 * k + 1];
    }
    this.pos += B;
    return this.real;
  };
  Run.prototype.trainStep = function () {
    var B = this.cfg.batch_size, zn = B * this.cfg.z_dim;
    var real = this.nextBatch();
    var d = dStep(this.G, this.D, this.optD, this.loss, real, this.rng.fillNormal(this.z, zn), B, this.work);
    var lossG = gStep(this.G, this.D, this.optG, this.loss, this.rng.fillNormal(this.z, zn), B, this.work);
    this.step += 1;
    d.lossG = lossG;
    this.last = d;
    return d;
  };

  if (typeof module === "object" && module.exports) {        // Node: the gradient check
    core.Run = Run;
    module.exports = core;
    return;
  }
  global.GancourseToyGAN = core;
  if (typeof document === "undefined") return;

  // ------------------------------------------------------------ drawing
  // matplotlib's PRGn (ColorBrewer): purple at 0 (fake), near-white at 1/2, green at 1 (real).
  var PRGN = [[64, 0, 75], [118, 42, 131], [153, 112, 171], [194, 165, 207], [231, 212, 232], [247, 247, 247],
              [217, 240, 211], [166, 219, 160], [90, 174, 97], [27, 120, 55], [0, 68, 27]];
  function prgn(t) {
    if (!(t === t)) return [128, 128, 128];   // NaN (a diverged D): grey
    t = Math.min(1, Math.max(0, t)) * (PRGN.length - 1);
    var k = Math.min(PRGN.length - 2, Math.floor(t)), u = t - k, a = PRGN[k], b = PRGN[k + 1];
    return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
  }
  // What the heat map shows for each loss: D(x) for the BCE losses (as the chapter's figure),
  // the raw output for LSGAN (targets 0 and 1), the score mapped from [-1, 1] for hinge.
  var SHADE = {
    "non-saturating": sigmoid, "minimax": sigmoid,
    "lsgan": function (v) { return v; }, "hinge": function (v) { return (v + 1) / 2; }
  };
  var SHADE_TEXT = {
    "non-saturating": "D(x) = sigmoid(logit), from purple (0: fake) through white (1/2) to green (1: real)",
    "minimax": "D(x) = sigmoid(logit), from purple (0: fake) through white (1/2) to green (1: real)",
    "lsgan": "D's raw output, from purple (0 or less: fake) through white (1/2) to green (1 or more: real)",
    "hinge": "D's score, from purple (\u22121 or less: fake) through white (0) to green (+1 or more: real)"
  };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(x, d) { return isFinite(x) ? x.toFixed(d) : String(x); }
  function lrText(x) { return x.toExponential(0).replace("e-", "e\u2212"); }

  function Trainer(root) {
    var cfg = JSON.parse(root.getAttribute("data-gancourse-toygan"));
    var uid = root.id || ("gc-tg-" + Math.random().toString(36).slice(2, 8));
    this.root = root; this.cfg = cfg; this.uid = uid; this.running = false; this.seed = cfg.seed;
    this.history = [];
    this.build();
    this.reset(cfg.seed);
  }

  Trainer.prototype.build = function () {
    var self = this, cfg = this.cfg, uid = this.uid, root = this.root;
    var ui = el("div", { "class": "gc-tg-ui" });

    var buttons = el("div", { "class": "gc-tg-buttons" });
    this.runBtn = el("button", { type: "button", "class": "gc-tg-run" }, "Start");
    this.stepBtn = el("button", { type: "button", "class": "gc-tg-step" }, "Step");
    this.resetBtn = el("button", { type: "button", "class": "gc-tg-reset" }, "Reset");
    this.stepBtn.setAttribute("aria-label", "Step: one discriminator and one generator update");
    this.resetBtn.setAttribute("aria-label", "Reset: new random weights and data, step 0");
    buttons.append(this.runBtn, this.stepBtn, this.resetBtn);

    var controls = el("div", { "class": "gc-tg-controls" });
    function select(key, label, options, value, show) {
      var id = uid + "-" + key, wrap = el("div", { "class": "gc-tg-control" });
      var lab = el("label", { "for": id }, label), s = el("select", { id: id, "data-control": key });
      options.forEach(function (o) {
        var opt = el("option", { value: String(o) }, show ? show(o) : String(o));
        if (String(o) === String(value)) opt.selected = true;
        s.append(opt);
      });
      wrap.append(lab, s);
      controls.append(wrap);
      return s;
    }
    this.lossSel = select("loss", "Loss", cfg.losses, cfg.loss);
    this.lrGSel = select("lr_g", "Learning rate of G", cfg.lr_choices, cfg.lr_g, lrText);
    this.lrDSel = select("lr_d", "Learning rate of D", cfg.lr_choices, cfg.lr_d, lrText);
    this.spfSel = select("spf", "Steps per frame", cfg.spf_choices, cfg.steps_per_frame);

    var views = el("div", { "class": "gc-tg-views" });
    var plane = el("figure", { "class": "gc-tg-figure" });
    this.canvas = el("canvas", { "class": "gc-tg-plane", width: "360", height: "360", role: "img" });
    var cap1 = el("figcaption", { "class": "gc-tg-caption" });
    this.shadeText = el("span");
    cap1.append(document.createTextNode("The plane from \u2212" + cfg.lim + " to " + cfg.lim + ". Background: "),
                this.shadeText,
                document.createTextNode(". Dots: " + cfg.n_real_show + " real points (dark green) and " +
                                        cfg.n_show + " generated points G(z) of one fixed noise batch (dark purple)."));
    plane.append(this.canvas, cap1);
    var lossFig = el("figure", { "class": "gc-tg-figure" });
    this.lossCanvas = el("canvas", { "class": "gc-tg-losses", width: "360", height: "200", role: "img" });
    var cap2 = el("figcaption", { "class": "gc-tg-caption" },
                  "The losses over the steps: D's loss in blue, G's in orange (a mean of each frame's steps).");
    lossFig.append(this.lossCanvas, cap2);
    views.append(plane, lossFig);

    this.status = el("p", { "class": "gc-tg-status", "aria-live": "off" });
    this.announce = el("div", { "class": "gc-sr-only gc-tg-announce", role: "status", "aria-live": "polite",
                                "aria-atomic": "true" });
    ui.append(buttons, controls, this.status, views, this.announce);
    root.insertBefore(ui, root.querySelector(".gc-tg-about"));

    this.runBtn.addEventListener("click", function () { if (self.running) self.pause(); else self.start(); });
    this.stepBtn.addEventListener("click", function () {
      if (self.running) self.pause();
      self.train(1);
      self.draw();
      if (!self.diverged()) self.say();
    });
    this.resetBtn.addEventListener("click", function () {
      var wasRunning = self.running;
      self.pause(false);
      self.reset(self.seed + 1);
      self.say("Reset with new random weights (seed " + self.seed + "). ");
      if (wasRunning) self.start();
    });
    this.lossSel.addEventListener("change", function () {
      self.run.loss = self.lossSel.value;
      self.draw();
      self.say("Loss: " + self.lossSel.value + ". ");
    });
    this.lrGSel.addEventListener("change", function () { self.run.optG.lr = Number(self.lrGSel.value); });
    this.lrDSel.addEventListener("change", function () { self.run.optD.lr = Number(self.lrDSel.value); });
    root.classList.add("gc-js");
  };

  Trainer.prototype.reset = function (seed) {
    this.seed = seed;
    this.run = new Run(this.cfg, seed, this.lossSel.value, Number(this.lrGSel.value), Number(this.lrDSel.value));
    this.history = [];
    this.rate = null;
    this.draw();
  };

  Trainer.prototype.train = function (steps) {
    var sum = { lossD: 0, lossG: 0 }, last = null;
    for (var i = 0; i < steps; i++) {
      last = this.run.trainStep();
      sum.lossD += last.lossD; sum.lossG += last.lossG;
    }
    this.history.push([this.run.step, sum.lossD / steps, sum.lossG / steps]);
    if (this.history.length > 2000) {          // keep it short: average neighbouring pairs
      var h = this.history, merged = [];
      for (var k = 0; k + 1 < h.length; k += 2)
        merged.push([h[k + 1][0], (h[k][1] + h[k + 1][1]) / 2, (h[k][2] + h[k + 1][2]) / 2]);
      if (h.length % 2) merged.push(h[h.length - 1]);
      this.history = merged;
    }
    return last;
  };

  Trainer.prototype.start = function () {
    var self = this;
    if (this.running) return;
    this.running = true;
    this.runBtn.textContent = "Pause";
    this.lastSaid = performance.now();
    this.rateStart = [performance.now(), this.run.step];
    function frame() {
      if (!self.running) return;
      var t0 = performance.now();
      self.train(Number(self.spfSel.value));
      self.draw();
      if (self.diverged()) return;
      var now = performance.now(), dt = now - self.rateStart[0];
      if (dt > 1000) {
        self.rate = (self.run.step - self.rateStart[1]) * 1000 / dt;
        self.rateStart = [now, self.run.step];
      }
      if (now - self.lastSaid > self.cfg.announce_every_s * 1000) { self.say(); self.lastSaid = now; }
      self.frameMs = now - t0;
      self.timer = requestAnimationFrame(frame);
    }
    this.timer = requestAnimationFrame(frame);
    this.say("Training. ");
  };

  Trainer.prototype.pause = function (speak) {
    if (!this.running) return;
    this.running = false;
    cancelAnimationFrame(this.timer);
    this.runBtn.textContent = "Start";
    if (speak !== false) this.say("Paused. ");
  };

  // A loss that is no longer a number stops training, as gancourse.train's TrainingDivergedError does.
  Trainer.prototype.diverged = function () {
    var last = this.run.last;
    if (!last || (isFinite(last.lossD) && isFinite(last.lossG))) return false;
    this.pause(false);
    this.say("Training diverged: a loss is no longer a finite number. Press Reset, perhaps with smaller " +
             "learning rates. ");
    this.status.textContent = this.announce.textContent;
    return true;
  };

  Trainer.prototype.summary = function () {
    var r = this.run, last = r.last, c = this.cov;
    var parts = ["Step " + r.step];
    if (last) parts.push("loss D " + fmt(last.lossD, 3), "loss G " + fmt(last.lossG, 3));
    parts.push(c.covered + " of " + this.cfg.modes + " modes covered (" + (100 * c.highQuality).toFixed(1) +
               "% of " + this.cfg.n_show + " generated points high-quality)");
    return parts.join(", ") + ".";
  };

  Trainer.prototype.say = function (prefix) { this.announce.textContent = (prefix || "") + this.summary(); };

  Trainer.prototype.draw = function () {
    var cfg = this.cfg, r = this.run, lossName = r.loss;
    var pts = r.G.forward(r.zShow, cfg.n_show).slice();
    this.cov = coverage(pts, cfg.n_show, cfg.modes, cfg.radius, cfg.std, cfg.k_sigma, cfg.min_share);
    this.drawPlane(pts, lossName);
    this.drawLosses();
    var last = r.last, root = this.root;
    root.dataset.step = String(r.step);
    root.dataset.covered = String(this.cov.covered);
    root.dataset.lossD = last ? String(last.lossD) : "";
    root.dataset.lossG = last ? String(last.lossG) : "";
    var rate = this.running && this.rate ? ", " + this.rate.toFixed(0) + " steps/s" : "";
    // D's mean output on the last batch: a probability for the BCE losses, a raw score otherwise.
    var what = LOSSES[lossName].probability ? "D" : "D's raw output";
    var dText = last ? " Mean " + what + " on the last batch: real " + fmt(last.dReal, 3) + ", generated " +
                       fmt(last.dFake, 3) + "." : "";
    this.status.textContent = this.summary() + dText + (rate ? " Speed" + rate.slice(1) + "." : "");
    this.shadeText.textContent = SHADE_TEXT[lossName];
    this.canvas.setAttribute("aria-label", "The plane at step " + r.step + ": the heat map of D's output and the " +
                             "real and generated points; " + this.cov.covered + " of " + cfg.modes +
                             " modes covered. The numbers are in the status line above the pictures.");
    var h = this.history, lastH = h[h.length - 1];
    this.lossCanvas.setAttribute("aria-label", h.length ? "Losses up to step " + lastH[0] + ": D " + fmt(lastH[1], 3) +
                                 ", G " + fmt(lastH[2], 3) + " in the last frame." : "Losses: no step yet.");
  };

  Trainer.prototype.drawPlane = function (pts, lossName) {
    var cfg = this.cfg, c = this.canvas, ctx = c.getContext("2d"), W = c.width, H = c.height, lim = cfg.lim;
    var n = cfg.heat_n;
    if (!this.grid) {
      this.grid = new Float32Array(2 * n * n);
      for (var j = 0; j < n; j++) for (var i = 0; i < n; i++) {
        this.grid[2 * (j * n + i)] = -lim + (i + 0.5) * 2 * lim / n;
        this.grid[2 * (j * n + i) + 1] = lim - (j + 0.5) * 2 * lim / n;        // row 0 at the top
      }
      this.heat = document.createElement("canvas");
      this.heat.width = n; this.heat.height = n;
    }
    var out = this.run.D.forward(this.grid, n * n), hctx = this.heat.getContext("2d");
    var img = hctx.createImageData(n, n), shade = SHADE[lossName];
    for (var k = 0; k < n * n; k++) {
      var rgb = prgn(shade(out[k]));
      img.data[4 * k] = rgb[0]; img.data[4 * k + 1] = rgb[1]; img.data[4 * k + 2] = rgb[2]; img.data[4 * k + 3] = 255;
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.heat, 0, 0, W, H);
    // Real points plain, generated ones with a thin light rim: they stay visible on any shade.
    function dots(p, count, fill, rim, r) {
      ctx.fillStyle = fill; ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 0.6;
      ctx.beginPath();
      for (var i = 0; i < count; i++) {
        var x = (p[2 * i] + lim) / (2 * lim) * W, y = (lim - p[2 * i + 1]) / (2 * lim) * H;
        if (!(x > -5 && x < W + 5 && y > -5 && y < H + 5)) continue;
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
      }
      ctx.fill();
      if (rim) ctx.stroke();
    }
    dots(this.run.data, cfg.n_real_show, "rgba(0, 68, 27, 0.75)", false, 1.6);
    dots(pts, cfg.n_show, "#40004b", true, 2);
  };

  Trainer.prototype.drawLosses = function () {
    var c = this.lossCanvas, ctx = c.getContext("2d"), W = c.width, H = c.height, h = this.history;
    var left = 44, right = 8, top = 8, bottom = 26;
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#6b7280"; ctx.lineWidth = 1;
    ctx.strokeRect(left + 0.5, top + 0.5, W - left - right - 1, H - top - bottom - 1);
    ctx.fillStyle = "#1f2328"; ctx.font = "11px sans-serif";
    if (!h.length) { ctx.fillText("press Start or Step", left + 10, top + 20); return; }
    var lo = Infinity, hi = -Infinity, i;
    for (i = 0; i < h.length; i++) {
      if (isFinite(h[i][1])) { lo = Math.min(lo, h[i][1]); hi = Math.max(hi, h[i][1]); }
      if (isFinite(h[i][2])) { lo = Math.min(lo, h[i][2]); hi = Math.max(hi, h[i][2]); }
    }
    if (!(hi > lo)) { hi = lo + 1; lo -= 1; }
    var pad = 0.05 * (hi - lo); lo -= pad; hi += pad;
    var s0 = h[0][0], s1 = Math.max(h[h.length - 1][0], s0 + 1);
    function X(s) { return left + (s - s0) / (s1 - s0) * (W - left - right); }
    function Y(v) { return top + (hi - v) / (hi - lo) * (H - top - bottom); }
    ctx.textAlign = "right";
    ctx.fillText(hi.toFixed(2), left - 4, top + 9); ctx.fillText(lo.toFixed(2), left - 4, H - bottom);
    ctx.textAlign = "left"; ctx.fillText("step " + s0, left, H - 8);
    ctx.textAlign = "right"; ctx.fillText("step " + h[h.length - 1][0], W - right, H - 8);
    ctx.textAlign = "left"; ctx.font = "bold 12px sans-serif";
    ctx.fillStyle = "#2166ac"; ctx.fillText("D", left + 6, top + 14);
    ctx.fillStyle = "#b35806"; ctx.fillText("G", left + 20, top + 14);
    [[1, "#2166ac"], [2, "#b35806"]].forEach(function (line) {
      ctx.strokeStyle = line[1]; ctx.lineWidth = 1.5; ctx.beginPath();
      for (var k = 0; k < h.length; k++) {
        var y = Y(h[k][line[0]]);
        if (k === 0) ctx.moveTo(X(h[k][0]), y); else ctx.lineTo(X(h[k][0]), y);
      }
      ctx.stroke();
    });
  };

  // Start every trainer inside ``container`` (or ``container`` itself) that has not started yet.
  function mount(container) {
    var found = container.matches && container.matches("[data-gancourse-toygan]") ? [container]
              : container.querySelectorAll("[data-gancourse-toygan]");
    for (var i = 0; i < found.length; i++) {
      if (found[i].gcToyGAN) continue;
      try {
        found[i].gcToyGAN = new Trainer(found[i]);
        found[i].classList.add("gc-a11y");
      } catch (err) {
        found[i].classList.add("gc-tg-failed");
        if (window.console) console.warn("gancourse-toygan: this trainer could not start: " + err);
      }
    }
  }
  core.mount = mount;
  function init() { mount(document); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(typeof window !== "undefined" ? window : this);
