/* gancourse interactive components, static rendering (no kernel).
 *
 * The markup is written by gancourse.interactive (Python) into each output's text/html:
 *   [data-gancourse-quiz]    a quiz; the attribute holds the grading data and messages
 *   [data-gancourse-frames]  a latent explorer or a small plot; the attribute says which
 *                            precomputed frame belongs to which control position (and, for
 *                            an explorer on a shipped generator, how gancourse-generator.js
 *                            runs that generator in the page, when its weights are loaded)
 * This file only adds behaviour. Grading mirrors gancourse/interactive/quiz.py:grade();
 * the messages come from Python, so both renderings say the same words. The accessibility
 * section adds the names, roles, descriptions and live announcements at load (the book shows
 * committed outputs, whose markup cannot change without re-executing every chapter).
 * No network access, no dependencies.
 */
(function () {
  "use strict";
  if (window.gancourseInteractive) { window.gancourseInteractive.init(); return; }

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  function inline(s) { return esc(s).replace(/`([^`]+)`/g, "<code>$1</code>"); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }

  // ------------------------------------------------------------------------ quiz
  function grade(q, a, data) {
    var M = data.messages;
    var retry = q.hint ? [q.hint] : [M.retry];
    var ok = function (marks) { return { status: "correct", parts: [], explanation: q.explanation, marks: marks || [] }; };
    var wrong = function (parts, marks) { return { status: "wrong", parts: parts, explanation: "", marks: marks || [] }; };
    var invalid = function (msg) { return { status: "invalid", parts: [msg], explanation: "", marks: [] }; };
    var i;
    switch (q.type) {
      case "multiple_choice":
        if (a === null) return invalid(M.choose_one);
        if (a === q.answer) return ok();
        return wrong(q.feedback[a] ? [q.feedback[a]] : retry);
      case "multiple_select": {
        if (!a.length) return invalid(M.choose_some);
        var same = a.length === q.answer.length && a.every(function (x, k) { return x === q.answer[k]; });
        if (same) return ok();
        var parts = [];
        for (i = 0; i < a.length; i++) {
          if (q.answer.indexOf(a[i]) < 0 && q.feedback[a[i]]) parts.push(q.feedback[a[i]]);
        }
        if (q.answer.some(function (x) { return a.indexOf(x) < 0; })) parts.push(M.missing);
        return wrong(parts.length ? parts : retry);
      }
      case "true_false":
        if (a === null) return invalid(M.choose_one);
        return a === q.answer ? ok() : wrong(retry);
      case "matching": {
        if (a.some(function (c) { return c === null; })) return invalid(M.match_all);
        var marks = a.map(function (c, k) { return c === q.answer[k]; });
        var right = marks.filter(Boolean).length;
        if (right === marks.length) return ok(marks);
        return wrong([fill(M.matches, { right: right, total: marks.length })].concat(q.hint ? [q.hint] : []), marks);
      }
      case "numeric": {
        var typed = a.trim().replace(/\u2212/g, "-");
        if (!new RegExp(data.number_pattern).test(typed)) return invalid(M.not_a_number);
        var x = parseFloat(typed);
        if (Math.abs(x - q.answer) <= q.tolerance * (1 + 1e-9) + 1e-12) return ok();
        return wrong([x > q.answer ? M.too_high : M.too_low].concat(q.hint ? [q.hint] : []));
      }
    }
    throw new Error("gancourse quiz: unknown question type " + q.type);
  }

  function feedbackHtml(fb, M) {
    if (fb.status === "invalid") {
      return '<p class="gc-verdict gc-invalid">' + fb.parts.map(inline).join(" ") + "</p>";
    }
    var ok = fb.status === "correct";
    var out = '<p class="gc-verdict gc-' + fb.status + '"><strong>' + (ok ? "✓ " : "✗ ") +
      esc(ok ? M.correct : M.wrong) + "</strong>" + fb.parts.map(function (p) { return " " + inline(p); }).join("") + "</p>";
    if (ok && fb.explanation) out += '<p class="gc-explanation">' + inline(fb.explanation) + "</p>";
    return out;
  }

  function readAnswer(el, q) {
    var checked = Array.prototype.slice.call(el.querySelectorAll("input:checked"));
    switch (q.type) {
      case "multiple_choice": return checked.length ? parseInt(checked[0].value, 10) : null;
      case "true_false": return checked.length ? checked[0].value === "true" : null;
      case "multiple_select":
        return checked.map(function (c) { return parseInt(c.value, 10); }).sort(function (x, y) { return x - y; });
      case "matching":
        return Array.prototype.map.call(el.querySelectorAll("select"), function (s) { return s.value === "" ? null : s.value; });
      case "numeric": return el.querySelector("input").value;
    }
    return null;
  }

  function initQuiz(root) {
    var data = JSON.parse(root.getAttribute("data-gancourse-quiz"));
    var M = data.messages, results = {};
    var byId = {};
    data.questions.forEach(function (q) { byId[q.id] = q; });
    var scoreEl = root.querySelector(".gc-score");
    function showScore() {
      var right = Object.keys(results).filter(function (k) { return results[k]; }).length;
      scoreEl.textContent = fill(M.score, { correct: right, total: data.questions.length });
    }
    function check(el) {
      var q = byId[el.getAttribute("data-qid")];
      var fb = grade(q, readAnswer(el, q), data);
      if (fb.status !== "invalid") results[q.id] = fb.status === "correct";
      var box = el.querySelector(".gc-feedback");
      box.className = "gc-feedback gc-fb-" + fb.status;
      box.innerHTML = feedbackHtml(fb, M);
      var marks = el.querySelectorAll(".gc-mark");
      fb.marks.forEach(function (ok, k) {
        marks[k].className = "gc-mark " + (ok ? "gc-right" : "gc-wrong");
        marks[k].textContent = ok ? "✓ right" : "✗ wrong";
      });
      showScore();
      return fb;
    }
    Array.prototype.forEach.call(root.querySelectorAll(".gc-q"), function (el) {
      el.querySelector(".gc-check").addEventListener("click", function () { check(el); });
      var num = el.querySelector('input[type="text"]');
      if (num) {
        num.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter") { ev.preventDefault(); check(el); }
        });
      }
    });
    root.querySelector(".gc-reset").addEventListener("click", function () {
      results = {};
      Array.prototype.forEach.call(root.querySelectorAll("input"), function (i) {
        if (i.type === "text") i.value = ""; else i.checked = false;
      });
      Array.prototype.forEach.call(root.querySelectorAll("select"), function (s) { s.value = ""; });
      Array.prototype.forEach.call(root.querySelectorAll(".gc-feedback"), function (b) {
        b.className = "gc-feedback"; b.innerHTML = "";
      });
      Array.prototype.forEach.call(root.querySelectorAll(".gc-mark"), function (m) {
        m.className = "gc-mark"; m.textContent = "";
      });
      showScore();
    });
    enhanceQuiz(root);
    root.classList.add("gc-js");
  }

  // --------------------------------------------------------------- accessibility
  // Names, roles, descriptions and announcements for screen readers, added at load to the
  // markup that Python wrote (the book shows committed outputs, so they cannot come from
  // re-rendering). Idempotent: markup that already has an attribute keeps it.
  var CONTROL_HELP = {
    t: "Slides from code A (0) to code B (1) along a spherical interpolation.",
    psi: "Truncation: 1 keeps the code as drawn, 0 replaces it with the average code.",
    mix: "The layer from which the styles come from the third seed (off: no mixing).",
    label: "The class the conditional generator is asked to draw.",
    alpha: "The slope of LeakyReLU for negative inputs.",
    d: "The discriminator's output on a generated image."
  };
  var DIRECTION_HELP = "Moves the code along principal direction {n} of the generated images, in standard deviations.";

  function ensureId(el, id) {
    if (!el.id) el.id = id;
    return el.id;
  }
  function setIfMissing(el, name, value) {
    if (!el.hasAttribute(name)) el.setAttribute(name, value);
  }
  function addToken(el, name, token) {
    var list = (el.getAttribute(name) || "").split(/\s+/).filter(Boolean);
    if (list.indexOf(token) < 0) list.push(token);
    el.setAttribute(name, list.join(" "));
  }
  function liveRegion(root, id) {
    var box = document.createElement("p");
    box.id = id;
    box.className = "gc-sr-only gc-announce";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.setAttribute("aria-atomic", "true");
    root.appendChild(box);
    return box;
  }

  // A quiz: a named region; each answer field described by its question's feedback (a
  // polite, atomic live region); a number that is not a number marked invalid; each
  // matching drop-down described by its own right/wrong mark.
  function enhanceQuiz(root) {
    var base = ensureId(root, "gc-quiz");
    var title = root.querySelector(".gc-quiz-title");
    setIfMissing(root, "role", "region");
    if (title) setIfMissing(root, "aria-labelledby", ensureId(title, base + "-title"));
    else setIfMissing(root, "aria-label", "Quiz");
    Array.prototype.forEach.call(root.querySelectorAll(".gc-q"), function (q, n) {
      var qid = ensureId(q, base + "-q" + (n + 1));
      var box = q.querySelector(".gc-feedback");
      var fid = ensureId(box, qid + "-feedback");
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.setAttribute("aria-atomic", "true");
      Array.prototype.forEach.call(q.querySelectorAll("input, select"), function (el) {
        addToken(el, "aria-describedby", fid);
      });
      Array.prototype.forEach.call(q.querySelectorAll(".gc-match-row"), function (row, k) {
        var mark = row.querySelector(".gc-mark"), sel = row.querySelector("select");
        if (mark && sel) addToken(sel, "aria-describedby", ensureId(mark, qid + "-mark-" + k));
      });
      var num = q.querySelector('input[type="text"]');
      if (num) {
        var flag = function () {
          if (/\bgc-fb-invalid\b/.test(box.className)) num.setAttribute("aria-invalid", "true");
          else num.removeAttribute("aria-invalid");
        };
        // Registered after the grading listeners, so the feedback is already written.
        q.querySelector(".gc-check").addEventListener("click", flag);
        num.addEventListener("keydown", function (ev) { if (ev.key === "Enter") flag(); });
        root.querySelector(".gc-reset").addEventListener("click", flag);
      }
    });
    root.classList.add("gc-a11y");
  }

  // An explorer or a plot: a named group; every control described (what it moves, and
  // the page's note: one slider at a time, or all combine when the generator is live); the
  // readouts beside the sliders no longer announced twice (the slider's value text already is); one live region that
  // says what else changed: the sliders that went back to their defaults, and a plot's
  // numbers, which also join the picture's name.
  function enhanceFrames(root) {
    var data = JSON.parse(root.getAttribute("data-gancourse-frames"));
    var base = ensureId(root, "gc-frames");
    var title = root.querySelector(".gc-frames-title");
    var note = root.querySelector(".gc-frames-note");
    var view = root.querySelector(".gc-view");
    setIfMissing(root, "role", "group");
    if (title) setIfMissing(root, "aria-labelledby", ensureId(title, base + "-title"));
    else setIfMissing(root, "aria-label", data.alt);
    var noteId = note ? ensureId(note, base + "-note") : null;
    var all = (data.product ? [data.product] : []).concat(data.controls);
    all.forEach(function (c) {
      var el = root.querySelector('[data-control="' + c.name + '"]');
      if (!el) return;
      var m = /^d(\d+)$/.exec(c.name);
      var help = CONTROL_HELP[c.name] || (m ? fill(DIRECTION_HELP, { n: m[1] }) : "");
      if (help) {
        var span = document.createElement("span");
        span.hidden = true;               // read as the control's description, not in the page's flow
        span.id = base + "-" + c.name + "-help";
        span.textContent = help;
        root.appendChild(span);
        addToken(el, "aria-describedby", span.id);
      }
      if (noteId) addToken(el, "aria-describedby", noteId);
    });
    Array.prototype.forEach.call(root.querySelectorAll("output"), function (o) {
      o.setAttribute("aria-live", "off");
    });
    var announce = liveRegion(root, base + "-announce");
    var inputs = data.controls.map(function (c) { return root.querySelector('[data-control="' + c.name + '"]'); });
    function readout() {
      // The numbers printed under a plot's visible frame (an explorer's frames hold none).
      var shown = view ? view.querySelectorAll('[data-frame]:not([style*="none"]) text') : [];
      return shown.length ? shown[shown.length - 1].textContent : "";
    }
    function describeView() {
      var text = readout();
      // show() has just written the picture's name from the controls; add the numbers.
      if (view && text) view.setAttribute("aria-label", view.getAttribute("aria-label").split(". Shown: ")[0] +
        ". Shown: " + text);
    }
    var before = inputs.map(function (el) { return el ? el.value : null; });
    function changed(k) {
      var said = [];
      data.controls.forEach(function (c, j) {
        var el = inputs[j];
        if (!el || j === k) return;
        if (el.value !== before[j] && parseInt(el.value, 10) === c.default) {
          said.push(c.label + " went back to " + c.labels[c.default]);
        }
      });
      before = inputs.map(function (el) { return el ? el.value : null; });
      describeView();
      var text = readout();
      announce.textContent = said.join("; ") + (said.length && text ? ". " : "") + text;
    }
    // Registered after initFrames's listeners: the frame is already switched.
    inputs.forEach(function (el, k) { if (el) el.addEventListener("input", function () { changed(k); }); });
    var product = data.product ? root.querySelector('[data-control="' + data.product.name + '"]') : null;
    if (product) product.addEventListener("change", function () { changed(-1); });
    describeView();
    root.classList.add("gc-a11y");
  }

  // ---------------------------------------------------------------------- frames
  // Frame order inside a block (see gancourse/interactive/_frames.py): frame 0 has every
  // control at its default; then, control by control, one frame per other position.
  function initFrames(root) {
    var data = JSON.parse(root.getAttribute("data-gancourse-frames"));
    // A shipped generator whose weights file is on the page runs live (gancourse-generator.js).
    if (data.live) {
      var gen = window.gancourseGenerator, live = false;
      try {
        live = !!(gen && gen.liveExplorer(root, data));
      } catch (err) {      // a model that cannot run: say so in the console, keep the frames
        if (window.console) console.error("gancourse: the explorer's generator failed in the page", err);
      }
      if (live) {
        root.classList.add("gc-js");
        enhanceFrames(root);
        return;
      }
      var fallback = root.querySelector(".gc-frames-note");
      if (fallback) fallback.textContent = data.live.frames_note;
    }
    var controls = data.controls;
    var offsets = [], next = 1;
    controls.forEach(function (c) { offsets.push(next); next += c.labels.length - 1; });
    var inputs = controls.map(function (c) { return root.querySelector('[data-control="' + c.name + '"]'); });
    var outputs = controls.map(function (c) { return root.querySelector('output[data-for="' + c.name + '"]'); });
    var product = data.product ? root.querySelector('[data-control="' + data.product.name + '"]') : null;
    var view = root.querySelector(".gc-view");

    function describe(idx) {
      var parts = [];
      if (data.product) parts.push(data.product.label + " " + data.product.labels[parseInt(product.value, 10)]);
      controls.forEach(function (c, k) { parts.push(c.label + " " + c.labels[idx[k]]); });
      return data.alt + " (" + parts.join(", ") + ")";
    }
    function show(changed) {
      var idx = inputs.map(function (el) { return parseInt(el.value, 10); });
      // Only one control may leave its default at a time: the others snap back.
      var frame = 0;
      controls.forEach(function (c, k) {
        if (changed !== null && k !== changed && idx[k] !== c.default) { idx[k] = c.default; inputs[k].value = c.default; }
        if (idx[k] !== c.default) frame = offsets[k] + (idx[k] < c.default ? idx[k] : idx[k] - 1);
      });
      controls.forEach(function (c, k) {
        outputs[k].textContent = c.labels[idx[k]];
        inputs[k].setAttribute("aria-valuetext", c.labels[idx[k]]);
      });
      if (product) frame += parseInt(product.value, 10) * data.frames_per_block;
      if (data.mode === "sprite") {
        var s = data.sprite, col = frame % s.cols, row = Math.floor(frame / s.cols);
        view.style.backgroundPosition = (-col * s.w * s.scale) + "px " + (-row * s.h * s.scale) + "px";
      } else {
        Array.prototype.forEach.call(view.querySelectorAll("[data-frame]"), function (g) {
          g.style.display = parseInt(g.getAttribute("data-frame"), 10) === frame ? "" : "none";
        });
      }
      view.setAttribute("aria-label", describe(idx));
      root.setAttribute("data-frame-shown", String(frame));
    }
    inputs.forEach(function (el, k) { el.addEventListener("input", function () { show(k); }); });
    if (product) product.addEventListener("change", function () { show(null); });
    root.classList.add("gc-js");
    show(null);
    enhanceFrames(root);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-gancourse-quiz]:not(.gc-js)"), initQuiz);
    Array.prototype.forEach.call(document.querySelectorAll("[data-gancourse-frames]:not(.gc-js)"), initFrames);
  }
  window.gancourseInteractive = { init: init, grade: grade, feedbackHtml: feedbackHtml };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
