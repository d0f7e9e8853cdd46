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
  controls with their precomputed frames) and the data the page's script needs;
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
