"""Interactive components of the course: quizzes, the latent-space explorer, small plots.

- :func:`show_quiz` (``show_quiz("activations")``) and :mod:`.quiz`: question banks in
  ``gancourse/quizzes/<chapter>.yaml``, their schema and validation, grading and feedback.
- :class:`LatentExplorer` (:mod:`.explorer`): sliders on latent directions, interpolation
  between two seeds, truncation ψ, a class selector for conditional generators, and style
  mixing for style-based generators.
- :class:`LeakyReLUPlot` and :class:`GeneratorLossPlot` (:mod:`.plots`).
- :func:`toy_trainer` (:mod:`.toygan`): a 2-D GAN on the ring of Gaussians that trains in
  the book's page, in plain JavaScript (``static/gancourse-toygan.js``), with the sizes and
  optimiser settings of the chapter's PyTorch networks. It has no widget: in a kernel,
  ``toy_trainer(...).live()`` inlines the script for front ends that run scripts in outputs.

One definition, two renderings
------------------------------
Every component is one Python object. Displayed in a kernel, its mime bundle holds

- ``application/vnd.jupyter.widget-view+json``: the live ipywidgets rendering;
- ``text/html``: self-describing markup (the questions with labelled inputs, or the
  controls with their precomputed frames and, for a shipped generator, what the page
  needs to run it) and the data the page's script needs;
- ``text/plain``: a short description (terminals, nbval).

A notebook front end renders one entry of a bundle. JupyterLab (and Notebook 7, built on
the same renderers) registers the widget renderer with rank -10, ahead of ``text/html``:
checked in JupyterLab 4.6 with ipywidgets 8.1, a live quiz or explorer shows the widget
only, never the HTML as well. VS Code and Colab also pick one entry and prefer widgets when
they have a widget manager (documented behaviour, not tested here). MyST-NB, which builds
the book, prefers widget views too; the book lowers their priority
(``nb_mime_priority_overrides``) so that it shows the ``text/html`` entry, and
:mod:`.sphinxext` ships ``static/gancourse-interactive.js`` and ``.css``, which make that
markup work with no kernel and no network. The exact ``_config.yml`` block is
:data:`gancourse.interactive.sphinxext.BOOK_CONFIG`.

Generators that run in the page
-------------------------------
An explorer on a shipped generator (``gancourse.pretrained(...)``, weights unchanged) runs
that generator in the static book: every control combines with the others, "New z" draws a
fresh code and "Play A → B" animates the interpolation. Three pieces:

- :mod:`.export` traces the generator's own forward pass (``make_fx``: the ATen operations
  PyTorch runs, with views, label embeddings, AdaIN and noise resolved) into op lists and
  one float16 blob;
- ``static/gancourse-generator.js`` replays those op lists (about 30 ATen operations,
  float32, no dependencies) and drives the explorer's controls. Convolutions are row dot
  products, done by a 456-byte WebAssembly SIMD kernel (``wasm/gemm.wat``, its bytes in the
  script, compiled synchronously: no ``fetch()``) or, where WebAssembly SIMD is missing, by
  plain JavaScript;
- :mod:`.sphinxext` writes ``_static/gancourse-weights/<name>.js`` (the blob in base64,
  loaded by a ``<script>`` element, so it works over ``file://``, where ``fetch()`` of a
  local file fails in Chromium) and adds it, with the interpreter, only to pages whose
  explorers use that model.

Why our own forward pass rather than TensorFlow.js or onnxruntime-web: onnxruntime-web runs
on a WebAssembly binary of several megabytes that it fetches by URL at start-up (blocked
over ``file://``; it would have to be vendored and handed over as bytes on every page), and
it needs an ONNX export step. TensorFlow.js has no PyTorch importer: each architecture
would be written a second time in its layers API, a copy that could silently disagree with
the model. The trace has no second definition: a new generator built from the same layer
types (``DeepDCGANGenerator``, say) needs no new JavaScript, an operation the interpreter
lacks is an :class:`~.export.ExportError` at export, and ``tests/test_generator_page.py``
checks every layer type and every shipped generator against PyTorch, with and without
the WebAssembly kernel (max |difference| a few 1e-6 on [-1, 1]); update times are in that
test's output and in :mod:`.explorer`.

Where no script runs, the markup still reads well: the questions with a collapsed "Answer"
under each, and the explorer's default frame. JupyterLab shows exactly that for a saved
notebook reopened untrusted (it then renders the sanitised ``text/html``, once).

The HTML has no random parts (ids are derived from content), so quiz cells can be marked
``# NBVAL_CHECK_OUTPUT``. Explorer frames hold floating-point images; do not mark those.

It changes no global state on import and never touches the network.
"""
from .explorer import GeneratorProtocolError, LatentExplorer, is_style_based
from .plots import GeneratorLossPlot, LeakyReLUPlot
from .quiz import (Feedback, Quiz, QuizAnswerError, QuizBankError, available_banks, load_bank, load_quiz,
                   show_quiz)
from .toygan import ToyTrainer, toy_trainer

__all__ = ["show_quiz", "load_quiz", "load_bank", "available_banks", "Quiz", "Feedback", "QuizBankError",
           "QuizAnswerError", "LatentExplorer", "GeneratorProtocolError", "is_style_based", "LeakyReLUPlot",
           "GeneratorLossPlot", "toy_trainer", "ToyTrainer"]
