/* gancourse: shipped generators running in the page (static book, no kernel).
 *
 * A weights file (written by gancourse/interactive/export.py, added by the Sphinx extension
 * only to pages whose explorers use it) sets window.GANCOURSE_WEIGHTS[name] to the ATen op
 * lists that PyTorch ran for the generator's forward pass (or mapping and synthesis), a
 * tensor table and one float16 blob in base64. This file
 *   - decodes the blob once into Float32Arrays (load);
 *   - replays an op list on float32 tensors (run; OPS holds one function per ATen op);
 *   - upgrades each latent explorer whose model is on the page to a live one: every slider
 *     combines with every other, "New z" draws a fresh code A, "Play A → B" animates the
 *     interpolation, and the class, truncation ψ and style mixing controls take effect.
 * The explorer's latent arithmetic mirrors LatentExplorer.latents() in explorer.py.
 * No network access, no dependencies; also runs in node (module.exports) for the tests.
 */
(function (root) {
  "use strict";

  // ------------------------------------------------------------------- tensors
  function T(shape, data) { return { shape: shape.slice(), data: data || new Float32Array(numel(shape)) }; }
  function numel(shape) { var n = 1; for (var i = 0; i < shape.length; i++) n *= shape[i]; return n; }
  function strides(shape) {
    var s = new Array(shape.length), acc = 1;
    for (var i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
    return s;
  }
  function dim(d, n) { return d < 0 ? d + n : d; }

  function halfToFloat(h) {
    var s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * f * Math.pow(2, -24);
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * Math.pow(2, e - 15);
  }
  var HALF = null;
  function decodeHalf(b64) {
    if (!HALF) { HALF = new Float32Array(65536); for (var i = 0; i < 65536; i++) HALF[i] = halfToFloat(i); }
    var bin = typeof atob === "function" ? atob(b64) : Buffer.from(b64, "base64").toString("binary");
    var n = bin.length >> 1, out = new Float32Array(n);
    for (var k = 0; k < n; k++) out[k] = HALF[bin.charCodeAt(2 * k) | (bin.charCodeAt(2 * k + 1) << 8)];
    return out;
  }

  // Broadcasting element-wise ops on two tensors (or a tensor and a number). The shapes are
  // first merged into as few axes as possible (for a (1, C, H, W) map and a (1, C, 1, 1) scale:
  // C rows of H*W), then one loop per op runs along the last axis.
  var ADD = 0, SUB = 1, MUL = 2, DIV = 3, AXPBY = 4;
  function rowKernel(code, o, p, x, qa, ia, y, qb, ib, len, al, be) {
    var j;
    switch (code) {
      case ADD: for (j = 0; j < len; j++, qa += ia, qb += ib) o[p + j] = x[qa] + al * y[qb]; break;
      case SUB: for (j = 0; j < len; j++, qa += ia, qb += ib) o[p + j] = x[qa] - al * y[qb]; break;
      case MUL: for (j = 0; j < len; j++, qa += ia, qb += ib) o[p + j] = x[qa] * y[qb]; break;
      case DIV: for (j = 0; j < len; j++, qa += ia, qb += ib) o[p + j] = x[qa] / y[qb]; break;
      case AXPBY: for (j = 0; j < len; j++, qa += ia, qb += ib) o[p + j] = al * x[qa] + be * y[qb]; break;
      default: throw new Error("unknown element-wise op " + code);
    }
  }
  function binary(a, b, code, al, be) {
    if (typeof a === "number") a = T([], new Float32Array([a]));
    if (typeof b === "number") b = T([], new Float32Array([b]));
    al = al == null ? 1 : al; be = be == null ? 1 : be;
    var n = Math.max(a.shape.length, b.shape.length), shape = [], i;
    var as = [], bs = [], sa = strides(a.shape), sb = strides(b.shape);
    for (i = 0; i < n; i++) {
      var ia = i - (n - a.shape.length), ib = i - (n - b.shape.length);
      var da = ia >= 0 ? a.shape[ia] : 1, db = ib >= 0 ? b.shape[ib] : 1;
      if (da !== db && da !== 1 && db !== 1) throw new Error("cannot broadcast " + a.shape + " with " + b.shape);
      var d = Math.max(da, db);
      if (d === 1) continue;                          // size-1 axes change nothing
      var stA = ia >= 0 && da !== 1 ? sa[ia] : 0, stB = ib >= 0 && db !== 1 ? sb[ib] : 0, m = shape.length - 1;
      if (m >= 0 && as[m] === stA * d && bs[m] === stB * d) { shape[m] *= d; as[m] = stA; bs[m] = stB; }
      else { shape.push(d); as.push(stA); bs.push(stB); }
    }
    var full = [];
    for (i = 0; i < n; i++) {
      var ja = i - (n - a.shape.length), jb = i - (n - b.shape.length);
      full.push(Math.max(ja >= 0 ? a.shape[ja] : 1, jb >= 0 ? b.shape[jb] : 1));
    }
    var out = T(full), o = out.data, x = a.data, y = b.data, total = o.length, k = shape.length;
    if (!k) { rowKernel(code, o, 0, x, 0, 0, y, 0, 0, 1, al, be); return out; }
    var last = k - 1, len = shape[last], idx = new Array(k).fill(0), pa = 0, pb = 0;
    for (var p = 0; p < total; p += len) {
      rowKernel(code, o, p, x, pa, as[last], y, pb, bs[last], len, al, be);
      for (var e = last - 1; e >= 0; e--) {
        idx[e]++; pa += as[e]; pb += bs[e];
        if (idx[e] < shape[e]) break;
        pa -= as[e] * shape[e]; pb -= bs[e] * shape[e]; idx[e] = 0;
      }
    }
    return out;
  }
  var RELU = 0, LEAKY = 1, TANH = 2, SIGMOID = 3, RSQRT = 4, SQRT = 5, SQUARE = 6, POW = 7;
  function unary(a, code, c) {
    var out = T(a.shape), o = out.data, x = a.data, n = x.length, i, v;
    switch (code) {
      case RELU: for (i = 0; i < n; i++) { v = x[i]; o[i] = v > 0 ? v : 0; } break;
      case LEAKY: for (i = 0; i < n; i++) { v = x[i]; o[i] = v > 0 ? v : v * c; } break;
      case TANH: for (i = 0; i < n; i++) o[i] = Math.tanh(x[i]); break;
      case SIGMOID: for (i = 0; i < n; i++) o[i] = 1 / (1 + Math.exp(-x[i])); break;
      case RSQRT: for (i = 0; i < n; i++) o[i] = 1 / Math.sqrt(x[i]); break;
      case SQRT: for (i = 0; i < n; i++) o[i] = Math.sqrt(x[i]); break;
      case SQUARE: for (i = 0; i < n; i++) { v = x[i]; o[i] = v * v; } break;
      case POW: for (i = 0; i < n; i++) o[i] = Math.pow(x[i], c); break;
      default: throw new Error("unknown element-wise op " + code);
    }
    return out;
  }

  function reshape(a, shape) {
    var n = numel(a.shape), known = 1, free = -1, s = shape.slice();
    for (var i = 0; i < s.length; i++) { if (s[i] === -1) free = i; else known *= s[i]; }
    if (free >= 0) s[free] = n / known;
    if (numel(s) !== n) throw new Error("view: " + a.shape + " to " + shape);
    return T(s, a.data);
  }

  // Copy a strided view (offset, shape, element strides) into a new contiguous tensor.
  function gather(a, offset, shape, st) {
    var out = T(shape), o = out.data, x = a.data, n = shape.length, total = o.length;
    if (!total) return out;
    var idx = new Array(n).fill(0), p = offset;
    for (var k = 0; k < total; k++) {
      o[k] = x[p];
      for (var d = n - 1; d >= 0; d--) {
        idx[d]++; p += st[d];
        if (idx[d] < shape[d]) break;
        p -= st[d] * shape[d]; idx[d] = 0;
      }
    }
    return out;
  }
  function slice(a, d, start, end, step) {
    d = dim(d, a.shape.length);
    var size = a.shape[d];
    start = start == null ? 0 : (start < 0 ? start + size : Math.min(start, size));
    end = end == null ? size : (end < 0 ? end + size : Math.min(end, size));
    step = step || 1;
    var shape = a.shape.slice(); shape[d] = Math.max(0, Math.ceil((end - start) / step));
    var st = strides(a.shape), st2 = st.slice(); st2[d] = st[d] * step;
    return gather(a, start * st[d], shape, st2);
  }

  function matmul(a, b) {          // (M, K) @ (K, N)
    var M = a.shape[0], K = a.shape[1], N = b.shape[1], out = T([M, N]), o = out.data, x = a.data, w = b.data;
    for (var i = 0; i < M; i++) {
      for (var k = 0; k < K; k++) {
        var v = x[i * K + k]; if (v === 0) continue;
        for (var j = 0, wb = k * N, ob = i * N; j < N; j++) o[ob + j] += v * w[wb + j];
      }
    }
    return out;
  }
  function transpose2(a) {
    var R = a.shape[0], C = a.shape[1], out = T([C, R]), o = out.data, x = a.data;
    for (var i = 0; i < R; i++) for (var j = 0; j < C; j++) o[j * R + i] = x[i * C + j];
    return out;
  }

  // out[oo + i * nb + j] = sum_k a[ao + i * K + k] * b[j * K + k] for i < na, j < nb: the inner
  // loop reads two rows of a and four rows of b and keeps eight sums in registers (2 x 4 blocks).
  function gemmNT(a, ao, na, b, nb, K, out, oo) {
    var i = 0, j, k, a0, a1, b0, b1, b2, b3, x0, x1, y0, y1, y2, y3;
    var s00, s01, s02, s03, s10, s11, s12, s13;
    for (; i + 1 < na; i += 2) {
      a0 = ao + i * K; a1 = a0 + K;
      for (j = 0; j + 3 < nb; j += 4) {
        b0 = j * K; b1 = b0 + K; b2 = b1 + K; b3 = b2 + K;
        s00 = 0; s01 = 0; s02 = 0; s03 = 0; s10 = 0; s11 = 0; s12 = 0; s13 = 0;
        for (k = 0; k < K; k++) {
          x0 = a[a0 + k]; x1 = a[a1 + k]; y0 = b[b0 + k]; y1 = b[b1 + k]; y2 = b[b2 + k]; y3 = b[b3 + k];
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        }
        k = oo + i * nb + j;
        out[k] = s00; out[k + 1] = s01; out[k + 2] = s02; out[k + 3] = s03;
        k += nb;
        out[k] = s10; out[k + 1] = s11; out[k + 2] = s12; out[k + 3] = s13;
      }
      for (; j < nb; j++) {
        b0 = j * K; s00 = 0; s10 = 0;
        for (k = 0; k < K; k++) { y0 = b[b0 + k]; s00 += a[a0 + k] * y0; s10 += a[a1 + k] * y0; }
        out[oo + i * nb + j] = s00; out[oo + (i + 1) * nb + j] = s10;
      }
    }
    for (; i < na; i++) {
      a0 = ao + i * K;
      for (j = 0; j < nb; j++) {
        b0 = j * K; s00 = 0;
        for (k = 0; k < K; k++) s00 += a[a0 + k] * b[b0 + k];
        out[oo + i * nb + j] = s00;
      }
    }
  }

  // The same product in WebAssembly with 128-bit SIMD (gancourse/interactive/wasm/gemm.wat,
  // compiled by wat2wasm --enable-simd; tests/test_generator_page.py checks these bytes
  // against the source when wat2wasm is installed). 456 bytes, compiled synchronously
  // (under Chromium's 4 KB limit for that), so it needs no fetch() and works over file://.
  // Where WebAssembly SIMD is missing, gemmNT above does the work.
  var WASM_GEMM = "AGFzbQEAAAABDwJgAXsBfWAGf39/f39/AAMDAgABBQMBAAEHFAIGbWVtb3J5AgAHZ2VtbV9udAABCowDAhkAIAD9HwAgAP0fAZIgAP0fAiAA/R8DkpIL7wICCX8IeyAEQQJ0IQlBACEGAkADQCAGIAFPDQEgACAGIAlsaiELIAsgCWohDEEAIQcCQANAIAcgA08NASACIAcgCWxqIQ0gDSAJaiEO/QwAAAAAAAAAAAAAAAAAAAAAIQ/9DAAAAAAAAAAAAAAAAAAAAAAhEP0MAAAAAAAAAAAAAAAAAAAAACER/QwAAAAAAAAAAAAAAAAAAAAAIRJBACEIAkADQCAIIAlPDQEgCyAIav0ABAAhEyAMIAhq/QAEACEUIA0gCGr9AAQAIRUgDiAIav0ABAAhFiAPIBMgFf3mAf3kASEPIBAgEyAW/eYB/eQBIRAgESAUIBX95gH95AEhESASIBQgFv3mAf3kASESIAhBEGohCAwACwsgBSAGIANsIAdqQQJ0aiEKIAogDxAAOAIAIAogEBAAOAIEIAogA0ECdGohCiAKIBEQADgCACAKIBIQADgCBCAHQQJqIQcMAAsLIAZBAmohBgwACwsL";
  var wasm = null;              // null: not tried; false: unavailable; else {gemm, memory, top}
  function wasmGemm() {
    if (wasm !== null) return wasm;
    wasm = false;
    try {
      if (typeof WebAssembly !== "object" || (root && root.GANCOURSE_NO_WASM)) return wasm;   // tests: JS only
      var bin = typeof atob === "function" ? atob(WASM_GEMM) : Buffer.from(WASM_GEMM, "base64").toString("binary");
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      var inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      wasm = { gemm: inst.exports.gemm_nt, memory: inst.exports.memory, top: 0 };
    } catch (e) {
      wasm = false;
    }
    return wasm;
  }
  function wasmReserve(w, bytes) {           // grow the memory to at least `bytes`
    var have = w.memory.buffer.byteLength;
    if (bytes > have) w.memory.grow(Math.ceil((bytes - have) / 65536));
  }
  // Copy `rows` rows of K floats from src[off..] into wasm memory at byte `at`, each row padded
  // to k4 floats and the row count to an even number (the kernel's 2 x 2 blocks).
  function wasmRows(w, at, src, off, rows, K, k4) {
    var r2 = rows + (rows & 1);
    wasmReserve(w, at + r2 * k4 * 4);
    var view = new Float32Array(w.memory.buffer, at, r2 * k4);
    view.fill(0);
    for (var r = 0; r < rows; r++) view.set(src.subarray(off + r * K, off + (r + 1) * K), r * k4);
    return r2 * k4 * 4;
  }
  // out[oo + i * nb + j] = a_i . b_j as gemmNT, with a a weight matrix kept in wasm memory
  // (copied once, cached on `holder`) and b copied in for this call.
  function gemmRows(holder, a, na, b, nb, K, out, oo) {
    var w = wasmGemm();
    if (!w) { gemmNT(a, 0, na, b, nb, K, out, oo); return; }
    var k4 = (K + 3) & ~3;
    if (holder.wasmAt === undefined || holder.wasmK !== K) {
      holder.wasmAt = w.top;
      w.top += wasmRows(w, w.top, a, 0, na, K, k4);
      holder.wasmK = K;
    }
    var na2 = na + (na & 1), nb2 = nb + (nb & 1), at = w.top;
    var outAt = at + wasmRows(w, at, b, 0, nb, K, k4);
    wasmReserve(w, outAt + na2 * nb2 * 4);
    w.gemm(holder.wasmAt, na2, at, nb2, k4, outAt);
    var res = new Float32Array(w.memory.buffer, outAt, na2 * nb2);
    for (var i = 0; i < na; i++) out.set(res.subarray(i * nb2, i * nb2 + nb), oo + i * nb);
  }

  // Conv2d (weight Cout, Cin, kH, kW) and ConvTranspose2d (weight Cin, Cout, kH, kW); groups 1.
  // Both as dot products of contiguous rows (gemmNT):
  // conv2d: out[co, p] = W[co, :] . patch[p, :], the patches (OH*OW, Ci*kH*kW) gathered per call;
  // transposed: cols[(co, ky, kx), p] = W^T[(co, ky, kx), :] . x^T[p, :] over Ci (W^T made once
  // per weight), then each column added into the output at its offset (col2im).
  function convolution(x, w, b, stride, padding, dilation, transposed, outPad, groups) {
    if (groups !== 1 || dilation.some(function (v) { return v !== 1; })) {
      throw new Error("convolution: only groups=1, dilation=1");
    }
    if (x.shape.length !== 4) throw new Error("convolution: 4-D input expected");
    var B = x.shape[0], Ci = x.shape[1], H = x.shape[2], W = x.shape[3];
    var kH = w.shape[2], kW = w.shape[3], sy = stride[0], sx = stride[1], py = padding[0], px = padding[1];
    var Co = transposed ? w.shape[1] : w.shape[0], KK = kH * kW;
    var OH = transposed ? (H - 1) * sy - 2 * py + kH + outPad[0] : Math.floor((H + 2 * py - kH) / sy) + 1;
    var OW = transposed ? (W - 1) * sx - 2 * px + kW + outPad[1] : Math.floor((W + 2 * px - kW) / sx) + 1;
    var out = T([B, Co, OH, OW]), o = out.data, xd = x.data;
    var HW = H * W, OHW = OH * OW, ci, co, ky, kx, iy, ix, oy, ox, r, p, q;
    for (var n = 0; n < B; n++) {
      var xn = n * Ci * HW, on = n * Co * OHW;
      if (!transposed) {
        var K = Ci * KK, patches = new Float32Array(OHW * K);
        for (oy = 0; oy < OH; oy++) {
          for (ox = 0; ox < OW; ox++) {
            q = (oy * OW + ox) * K;
            for (ci = 0; ci < Ci; ci++) {
              for (ky = 0; ky < kH; ky++) {
                iy = oy * sy - py + ky;
                if (iy < 0 || iy >= H) { q += kW; continue; }
                var row = xn + ci * HW + iy * W;
                for (kx = 0; kx < kW; kx++, q++) {
                  ix = ox * sx - px + kx;
                  if (ix >= 0 && ix < W) patches[q] = xd[row + ix];
                }
              }
            }
          }
        }
        gemmRows(w, w.data, Co, patches, OHW, K, o, on);
      } else {
        if (!w.rowsT) w.rowsT = transpose2(T([Ci, Co * KK], w.data)).data;    // (Co*kH*kW, Ci), made once
        var R = Co * KK, xT = new Float32Array(HW * Ci), cols = new Float32Array(R * HW);
        for (ci = 0; ci < Ci; ci++) for (p = 0; p < HW; p++) xT[p * Ci + ci] = xd[xn + ci * HW + p];
        gemmRows(w.rowsT, w.rowsT, R, xT, HW, Ci, cols, 0);
        for (co = 0; co < Co; co++) {
          for (ky = 0; ky < kH; ky++) {
            for (kx = 0; kx < kW; kx++) {
              r = ((co * kH + ky) * kW + kx) * HW;
              for (iy = 0; iy < H; iy++) {
                oy = iy * sy - py + ky;
                if (oy < 0 || oy >= OH) continue;
                var orow = on + co * OHW + oy * OW;
                for (ix = 0; ix < W; ix++) {
                  ox = ix * sx - px + kx;
                  if (ox >= 0 && ox < OW) o[orow + ox] += cols[r + iy * W + ix];
                }
              }
            }
          }
        }
      }
      if (b) {
        for (co = 0; co < Co; co++) {
          var bv = b.data[co];
          for (p = on + co * OHW, q = p + OHW; p < q; p++) o[p] += bv;
        }
      }
    }
    return out;
  }

  function batchNormEval(x, w, b, mean, varr, eps) {
    var C = x.shape[1], inner = numel(x.shape.slice(2)), out = T(x.shape), o = out.data, xd = x.data;
    for (var n = 0; n < x.shape[0]; n++) {
      for (var c = 0; c < C; c++) {
        var s = 1 / Math.sqrt(varr.data[c] + eps), g = w ? w.data[c] : 1, h = b ? b.data[c] : 0, m = mean.data[c];
        for (var p = (n * C + c) * inner, e = p + inner; p < e; p++) o[p] = (xd[p] - m) * s * g + h;
      }
    }
    return out;
  }

  function meanDims(x, dims, keepdim) {
    var n = x.shape.length, red = (dims && dims.length ? dims : x.shape.map(function (_, i) { return i; }))
      .map(function (d) { return dim(d, n); });
    var keepShape = x.shape.map(function (s, i) { return red.indexOf(i) >= 0 ? 1 : s; });
    var trailing = red.every(function (d) { return d >= n - red.length; });
    if (trailing) {                                    // rows of contiguous elements (AdaIN's H, W)
      var inner = numel(x.shape.slice(n - red.length)), rows = x.data.length / inner, m = new Float32Array(rows);
      for (var r = 0; r < rows; r++) {
        var acc = 0;
        for (var e = r * inner, f = e + inner; e < f; e++) acc += x.data[e];
        m[r] = acc / inner;
      }
      return keepdim ? T(keepShape, m) : T(x.shape.slice(0, n - red.length), m);
    }
    var out = T(keepShape), o = out.data, st = strides(keepShape), xs = x.shape, total = x.data.length;
    var idx = new Array(n).fill(0), count = total / out.data.length;
    for (var k = 0; k < total; k++) {
      var q = 0;
      for (var d = 0; d < n; d++) if (keepShape[d] !== 1) q += idx[d] * st[d];
      o[q] += x.data[k];
      for (d = n - 1; d >= 0; d--) { idx[d]++; if (idx[d] < xs[d]) break; idx[d] = 0; }
    }
    for (k = 0; k < o.length; k++) o[k] /= count;
    return keepdim ? out : T(x.shape.filter(function (_, i) { return red.indexOf(i) < 0; }), o);
  }

  function cat(list, d) {
    list = list.filter(function (t) { return numel(t.shape) > 0 || t.shape.length > 1; });
    d = dim(d, list[0].shape.length);
    var shape = list[0].shape.slice(); shape[d] = 0;
    list.forEach(function (t) { shape[d] += t.shape[d]; });
    var outer = numel(shape.slice(0, d)), inner = numel(shape.slice(d + 1)), out = T(shape), o = out.data, p = 0;
    for (var i = 0; i < outer; i++) {
      list.forEach(function (t) {
        var len = t.shape[d] * inner;
        o.set(t.data.subarray(i * len, (i + 1) * len), p); p += len;
      });
    }
    return out;
  }

  function expand(a, sizes) {
    var n = sizes.length, off = n - a.shape.length, st = strides(a.shape), shape = [], s2 = [];
    for (var i = 0; i < n; i++) {
      var own = i - off >= 0 ? a.shape[i - off] : 1, want = sizes[i] === -1 ? own : sizes[i];
      shape.push(want); s2.push(i - off >= 0 && own !== 1 ? st[i - off] : 0);
    }
    return gather(a, 0, shape, s2);
  }

  // One function per ATen op; args as in PyTorch's schema (kwargs merged by name below).
  var OPS = {
    "aten.t.default": function (a) { return transpose2(a); },
    "aten.mm.default": function (a, b) { return matmul(a, b); },
    "aten.addmm.default": function (bias, a, b, kw) {
      var beta = kw.beta == null ? 1 : kw.beta, alpha = kw.alpha == null ? 1 : kw.alpha;
      return binary(matmul(a, b), bias, AXPBY, alpha, beta);
    },
    "aten.view.default": function (a, shape) { return reshape(a, shape); },
    "aten._unsafe_view.default": function (a, shape) { return reshape(a, shape); },
    "aten.alias.default": function (a) { return a; },
    "aten.clone.default": function (a) { return T(a.shape, a.data.slice()); },
    "aten.unsqueeze.default": function (a, d) {
      var s = a.shape.slice(); s.splice(dim(d, s.length + 1), 0, 1); return T(s, a.data);
    },
    "aten.squeeze.dim": function (a, d) {
      var s = a.shape.slice(); d = dim(d, s.length); if (s[d] === 1) s.splice(d, 1); return T(s, a.data);
    },
    "aten.expand.default": function (a, sizes) { return expand(a, sizes); },
    "aten.repeat.default": function (a, reps) {
      var off = reps.length - a.shape.length, base = T(a.shape.slice(), a.data), i;
      for (i = 0; i < off; i++) base = T([1].concat(base.shape), base.data);
      var out = base;
      for (i = 0; i < reps.length; i++) if (reps[i] !== 1) out = cat(new Array(reps[i]).fill(out), i);
      return out;
    },
    "aten.select.int": function (a, d, i) {
      d = dim(d, a.shape.length); if (i < 0) i += a.shape[d];
      var t = slice(a, d, i, i + 1, 1), s = t.shape.slice(); s.splice(d, 1); return T(s, t.data);
    },
    "aten.slice.Tensor": function (a, d, start, end, step) { return slice(a, d || 0, start, end, step); },
    "aten.split.Tensor": function (a, size, d) {
      d = dim(d || 0, a.shape.length);
      var out = [];
      for (var s = 0; s < a.shape[d]; s += size) out.push(slice(a, d, s, Math.min(s + size, a.shape[d]), 1));
      return out;
    },
    "aten.cat.default": function (list, d) { return cat(list, d || 0); },
    "aten.embedding.default": function (w, idx) {
      var D = w.shape[1], out = T(idx.shape.concat([D]));
      for (var i = 0; i < idx.data.length; i++) {
        var r = Math.round(idx.data[i]);
        if (!(r >= 0 && r < w.shape[0])) throw new Error("embedding: index " + idx.data[i] + " out of range");
        out.data.set(w.data.subarray(r * D, (r + 1) * D), i * D);
      }
      return out;
    },
    "aten.native_batch_norm.default": function (x, w, b, rm, rv, training, momentum, eps) {
      if (training) throw new Error("batch norm in training mode cannot run in the page");
      return [batchNormEval(x, w, b, rm, rv, eps), null, null];
    },
    "aten._native_batch_norm_legit_no_training.default": function (x, w, b, rm, rv, momentum, eps) {
      return [batchNormEval(x, w, b, rm, rv, eps), null, null];
    },
    "aten.convolution.default": function (x, w, b, stride, padding, dilation, transposed, outPad, groups) {
      return convolution(x, w, b, stride, padding, dilation, transposed, outPad, groups);
    },
    "aten.relu.default": function (a) { return unary(a, RELU); },
    "aten.tanh.default": function (a) { return unary(a, TANH); },
    "aten.sigmoid.default": function (a) { return unary(a, SIGMOID); },
    "aten.leaky_relu.default": function (a, slope) { return unary(a, LEAKY, slope == null ? 0.01 : slope); },
    "aten.rsqrt.default": function (a) { return unary(a, RSQRT); },
    "aten.sqrt.default": function (a) { return unary(a, SQRT); },
    "aten.pow.Tensor_Scalar": function (a, e) { return e === 2 ? unary(a, SQUARE) : unary(a, POW, e); },
    "aten.mean.dim": function (a, dims, keepdim) { return meanDims(a, dims, !!keepdim); },
    "aten.add.Tensor": function (a, b, kw) { return binary(a, b, ADD, kw.alpha); },
    "aten.sub.Tensor": function (a, b, kw) { return binary(a, b, SUB, kw.alpha); },
    "aten.mul.Tensor": function (a, b) { return binary(a, b, MUL); },
    "aten.div.Tensor": function (a, b) { return binary(a, b, DIV); },
    "getitem": function (list, i) { return list[i]; }
  };
  // Positional names of the keyword arguments the ops above read from kwargs.
  var KW = { "aten.addmm.default": ["beta", "alpha"], "aten.add.Tensor": ["alpha"], "aten.sub.Tensor": ["alpha"] };
  var NARGS = { "aten.addmm.default": 3, "aten.add.Tensor": 2, "aten.sub.Tensor": 2 };

  function resolve(arg, env) {
    if (arg && typeof arg === "object" && !Array.isArray(arg) && "r" in arg) return env[arg.r];
    if (Array.isArray(arg)) return arg.map(function (a) { return resolve(a, env); });
    return arg;
  }

  // A model: the decoded tensors, and the values of every node that depends only on them
  // (transposed weight matrices) computed once.
  function load(entry) {
    if (entry._model) return entry._model;
    var flat = decodeHalf(entry.blob);
    var params = entry.tensors.map(function (t) {
      return T(t.shape, flat.subarray(t.offset, t.offset + numel(t.shape)));
    });
    var model = { name: entry.name, fingerprint: entry.fingerprint, graphs: entry.graphs, params: params, consts: {} };
    Object.keys(entry.graphs).forEach(function (g) { model.consts[g] = foldConstants(entry.graphs[g], params); });
    entry._model = model;
    return model;
  }

  function exec(node, env, params) {
    if (node.op === "param") return params[node.args[0]];
    var f = OPS[node.op];
    if (!f) throw new Error("gancourse generator: no op " + node.op);
    var args = resolve(node.args, env), kw = {}, k;
    var names = KW[node.op];
    if (names) {
      var extra = args.slice(NARGS[node.op]);
      args = args.slice(0, NARGS[node.op]);
      names.forEach(function (n, i) { if (i < extra.length) kw[n] = extra[i]; });
      for (k in node.kwargs || {}) kw[k] = resolve(node.kwargs[k], env);
      args.push(kw);
    } else if (node.kwargs && Object.keys(node.kwargs).length) {
      throw new Error("gancourse generator: " + node.op + " with keyword arguments " + Object.keys(node.kwargs));
    }
    return f.apply(null, args);
  }

  function foldConstants(graph, params) {
    var constant = {}, env = {};
    graph.nodes.forEach(function (node) {
      var deps = [];
      (function walk(a) {
        if (a && typeof a === "object" && !Array.isArray(a) && "r" in a) deps.push(a.r);
        else if (Array.isArray(a)) a.forEach(walk);
        else if (a && typeof a === "object") Object.keys(a).forEach(function (k) { walk(a[k]); });
      })([node.args, node.kwargs || {}]);
      var isConst = node.op === "param" || (deps.length > 0 && deps.every(function (d) { return constant[d]; }));
      if (isConst) { constant[node.out] = true; env[node.out] = exec(node, env, params); }
    });
    return env;
  }

  // Run one entry point ("forward", "mapping", "synthesis") on input tensors.
  function run(model, graphName, inputs, profile) {
    var graph = model.graphs[graphName];
    if (!graph) throw new Error("gancourse generator: " + model.name + " has no " + graphName);
    var consts = model.consts[graphName], env = {};
    graph.inputs.forEach(function (id, i) { env[id] = inputs[i]; });
    for (var i = 0; i < graph.nodes.length; i++) {
      var node = graph.nodes[i];
      if (node.out in consts) { env[node.out] = consts[node.out]; continue; }
      var t0 = profile ? performance.now() : 0;
      env[node.out] = exec(node, env, model.params);
      if (profile) profile[node.op] = (profile[node.op] || 0) + performance.now() - t0;
    }
    return resolve(graph.output, env);
  }

  // -------------------------------------------------------------- live explorer
  // Mirrors LatentExplorer.latents() (explorer.py): slerp between codes A and B in z, or lerp
  // in w; truncation ψ (z <- ψz, or w <- w̄ + ψ(w - w̄)); direction sliders added after
  // truncation, in standard deviations; style mixing from a layer on with code C.
  function vec(a) { return Float32Array.from(a); }
  function slerp(a, b, t) {
    var na = 0, nb = 0, dot = 0, i, out = new Float32Array(a.length);
    for (i = 0; i < a.length; i++) { na += a[i] * a[i]; nb += b[i] * b[i]; }
    na = Math.sqrt(na); nb = Math.sqrt(nb);
    for (i = 0; i < a.length; i++) dot += (a[i] / na) * (b[i] / nb);
    var omega = Math.acos(Math.min(1 - 1e-7, Math.max(-1 + 1e-7, dot))), so = Math.sin(omega);
    if (Math.abs(so) < 1e-6) { for (i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i]; return out; }
    var ka = Math.sin((1 - t) * omega) / so, kb = Math.sin(t * omega) / so;
    for (i = 0; i < a.length; i++) out[i] = ka * a[i] + kb * b[i];
    return out;
  }
  function gaussian(n) {
    var out = new Float32Array(n);
    for (var i = 0; i < n; i += 2) {
      var u = 1 - Math.random(), v = Math.random(), r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  // The explorer's state and its images; the page's markup (labels, readouts) is Python's.
  function Explorer(data, model) {
    var L = data.live;
    this.data = data; this.L = L; this.model = model;
    this.z = L.z.map(vec);                               // codes A, B, C
    this.random = [false, false, false];
    this.dirs = L.directions.map(vec);
    this.wAvg = L.w_avg ? vec(L.w_avg) : null;
    this.cache = {};
  }
  Explorer.prototype.code = function (k, label) {
    if (!this.L.style) return this.z[k];
    var key = k + "|" + label;
    if (!this.cache[key]) {
      var inputs = [T([1, this.z[k].length], this.z[k])];
      if (this.L.classes) inputs.push(T([1], new Float32Array([label])));
      this.cache[key] = run(this.model, "mapping", inputs).data.slice();
    }
    return this.cache[key];
  };
  Explorer.prototype.newCode = function (k) {
    this.z[k] = gaussian(this.z[k].length);
    this.random[k] = true;
    this.cache = {};
  };
  // values: {t, psi, d1.., mix, label} as numbers.
  Explorer.prototype.latent = function (values) {
    var L = this.L, label = values.label || 0, a = this.code(0, label), b = this.code(1, label), v, i, j;
    var psi = values.psi, n = a.length;
    if (L.style) {
      v = new Float32Array(n);
      for (i = 0; i < n; i++) {
        var x = a[i] + values.t * (b[i] - a[i]);
        v[i] = this.wAvg[i] + psi * (x - this.wAvg[i]);
      }
    } else {
      v = slerp(a, b, values.t);
      for (i = 0; i < n; i++) v[i] *= psi;
    }
    for (j = 0; j < this.dirs.length; j++) {
      var s = values["d" + (j + 1)] * L.dir_scales[j], d = this.dirs[j];
      for (i = 0; i < n; i++) v[i] += s * d[i];
    }
    if (!(L.style && L.num_ws)) return T([1, n], v);
    var ws = T([1, L.num_ws, n]), mix = values.mix == null ? L.num_ws : values.mix;
    var c = mix < L.num_ws ? this.code(2, label) : null;
    for (var layer = 0; layer < L.num_ws; layer++) {
      if (layer < mix) { ws.data.set(v, layer * n); continue; }
      for (i = 0; i < n; i++) ws.data[layer * n + i] = this.wAvg[i] + psi * (c[i] - this.wAvg[i]);
    }
    return ws;
  };
  Explorer.prototype.image = function (values) {
    var lat = this.latent(values);
    if (this.L.style) return run(this.model, "synthesis", [lat]);
    var inputs = [lat];
    if (this.L.classes) inputs.push(T([1], new Float32Array([values.label])));
    return run(this.model, "forward", inputs);
  };

  function draw(ctx, img, tensor, range) {
    var C = tensor.shape[1], H = tensor.shape[2], W = tensor.shape[3], d = img.data, x = tensor.data;
    var lo = range[0], span = range[1] - range[0];
    for (var p = 0; p < H * W; p++) {
      for (var k = 0; k < 3; k++) {
        var v = (x[(C === 1 ? 0 : k) * H * W + p] - lo) / span;
        d[4 * p + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      d[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  // Upgrade one explorer's markup (see explorer.py html()) to the live generator.
  // Returns false when its model is not on this page (the caller keeps the frames).
  function liveExplorer(root, data) {
    function defaults() {
      var v = {};
      data.controls.forEach(function (c) { v[c.name] = data.live.values[c.name][c.default]; });
      if (data.product) v.label = data.live.classes[data.product.default];
      return v;
    }
    var L = data.live, entry = root && L && (window.GANCOURSE_WEIGHTS || {})[L.model];
    if (!entry || entry.fingerprint !== L.fingerprint) return false;
    var ex = new Explorer(data, load(entry));
    var controls = data.controls;
    // One image before the page changes: a model that cannot run throws here, and the caller
    // keeps the explorer's frames.
    ex.image(defaults());
    var inputs = controls.map(function (c) { return root.querySelector('[data-control="' + c.name + '"]'); });
    var outputs = controls.map(function (c) { return root.querySelector('output[data-for="' + c.name + '"]'); });
    var product = data.product ? root.querySelector('[data-control="' + data.product.name + '"]') : null;
    var view = root.querySelector(".gc-view");
    var canvas = document.createElement("canvas");
    canvas.width = data.sprite.w; canvas.height = data.sprite.h;
    canvas.className = "gc-canvas";
    canvas.setAttribute("aria-hidden", "true");
    view.style.backgroundImage = "none";
    view.appendChild(canvas);
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(canvas.width, canvas.height);
    var buttons = root.querySelector(".gc-live-buttons");
    var newZ = root.querySelector(".gc-new-z"), play = root.querySelector(".gc-play");
    var tOverride = null, playing = null;
    var state = { timings: [], last: null, explorer: ex };

    function values() {
      var v = {};
      controls.forEach(function (c, k) { v[c.name] = L.values[c.name][parseInt(inputs[k].value, 10)]; });
      if (tOverride !== null) v.t = tOverride;
      if (product) v.label = L.classes[parseInt(product.value, 10)];
      return v;
    }
    function shown(c, k, v) {        // a control's value as text (t to two decimals while playing)
      return c.name === "t" && tOverride !== null ? v.t.toFixed(2) : c.labels[parseInt(inputs[k].value, 10)];
    }
    function describe(v) {
      var parts = [];
      if (product) parts.push(data.product.label + " " + data.product.labels[parseInt(product.value, 10)]);
      controls.forEach(function (c, k) {
        parts.push(c.label + " " + shown(c, k, v));
      });
      return data.alt + (ex.random[0] ? ", code A drawn at random" : "") + " (" + parts.join(", ") + ")";
    }
    function render() {
      var t0 = performance.now(), v = values();
      var out = ex.image(v);
      draw(ctx, img, out, L.value_range);
      state.timings.push(performance.now() - t0);
      state.last = out;
      controls.forEach(function (c, k) {
        var text = shown(c, k, v);
        outputs[k].textContent = text;
        inputs[k].setAttribute("aria-valuetext", text);
      });
      view.setAttribute("aria-label", describe(v));
      root.setAttribute("data-live-renders", String(state.timings.length));
    }
    function announce(text) {
      var box = root.querySelector(".gc-announce");
      if (box) box.textContent = text;
    }
    function stop() {
      if (playing === null) return;
      if (playing !== true) cancelAnimationFrame(playing);
      playing = null; tOverride = null;
      play.setAttribute("aria-pressed", "false"); play.textContent = "Play A → B";
    }
    inputs.forEach(function (el) { el.addEventListener("input", function () { stop(); render(); }); });
    if (product) product.addEventListener("change", function () { render(); });
    newZ.addEventListener("click", function () {
      ex.newCode(0); render();
      announce("Code A is a new random draw. " + view.getAttribute("aria-label"));
    });
    play.addEventListener("click", function () {
      if (playing !== null) { stop(); render(); return; }
      var tInput = inputs[controls.map(function (c) { return c.name; }).indexOf("t")];
      var start = null, duration = 2000;
      play.setAttribute("aria-pressed", "true"); play.textContent = "Stop";
      function step(now) {
        if (start === null) start = now;
        var t = Math.min(1, (now - start) / duration);
        tOverride = t;
        tInput.value = String(Math.round(t * (L.values.t.length - 1)));
        render();
        if (t < 1) { playing = requestAnimationFrame(step); return; }
        playing = true; stop(); render();
        announce("Interpolation from A to B played. " + view.getAttribute("aria-label"));
      }
      playing = requestAnimationFrame(step);
    });
    buttons.hidden = false;
    root.classList.add("gc-live");
    root.gancourseLive = state;
    render();
    return true;
  }

  var api = { T: T, OPS: OPS, load: load, run: run, decodeHalf: decodeHalf, binary: binary,
              usesWasm: function () { return !!wasmGemm(); },
              liveExplorer: liveExplorer, Explorer: Explorer };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (root) root.gancourseGenerator = api;
})(typeof window !== "undefined" ? window : null);
