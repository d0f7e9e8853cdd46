"""The static book rendering in a real browser: headless Chromium (Debian's `chromium`
package) driven by Playwright, against a throwaway Jupyter Book built here.

The throwaway book has the same interactive settings as the real one
(``gancourse.interactive.sphinxext.BOOK_CONFIG``) and one notebook, executed here, that
shows a quiz, a conditional latent explorer and the two small plots. When chapters of
the real book show quizzes, the `built_book` pages are checked too.

Screenshots go to $GANCOURSE_ARTIFACTS (default: a temporary folder, printed).
"""
import base64
import functools
import http.server
import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium chromium-driver)"),
]

CELLS = [
    "import torch\ntorch.set_num_threads(1)\n"
    "from gancourse.interactive import show_quiz, LatentExplorer, LeakyReLUPlot, GeneratorLossPlot\n"
    "from gancourse.models import ConditionalDCGANGenerator",
    'show_quiz("activations")',
    # PyTorch's default initialisation (not DCGAN's N(0, 0.02)) gives untrained images some contrast.
    "torch.manual_seed(0)\ng = ConditionalDCGANGenerator()\n"
    "for m in g.modules():\n    if hasattr(m, 'reset_parameters'):\n        m.reset_parameters()\n"
    "LatentExplorer(g, n_directions=2, class_names=[f'digit {i}' for i in range(10)])",
    "LeakyReLUPlot()",
    "GeneratorLossPlot()",
]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = Path(os.environ.get("GANCOURSE_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n[test_browser] screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    """Execute one notebook (real kernel) and build a one-page Jupyter Book with -W; return the page path."""
    import nbformat
    from nbclient import NotebookClient

    book = tmp_path_factory.mktemp("tiny-book")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Interactive components")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # As scripts/execute_notebooks.py should: no widget state in the file (the book does not use it).
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(book)}}).execute()
    for cell in nb.cells[2:]:
        data = cell.outputs[0]["data"]
        assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= set(data)
    return build_tiny_book(book, "Interactive components", nb) / "page.html"


def build_tiny_book(book, title, nb, chapters=()):
    """Write ``nb`` as the root page ``page.ipynb`` (``chapters``: more files, already in ``book``), with
    the book's interactive settings, build it with ``jupyter-book build -W``; return the HTML folder."""
    import nbformat

    from gancourse.interactive.sphinxext import BOOK_CONFIG

    (book / "_config.yml").write_text(f'title: "{title}"\nonly_build_toc_files: true\n'
                                      'execute:\n  execute_notebooks: "off"\n' + BOOK_CONFIG, "utf-8")
    toc = "format: jb-book\nroot: page\n" + ("chapters:\n" + "".join(f"- file: {c}\n" for c in chapters)
                                              if chapters else "")
    (book / "_toc.yml").write_text(toc, "utf-8")
    nbformat.write(nb, str(book / "page.ipynb"))
    jb = str(Path(sys.executable).parent / "jupyter-book")
    proc = subprocess.run([jb, "build", str(book), "-W", "-n", "--keep-going"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, "jupyter-book build -W failed:\n" + proc.stdout[-4000:] + proc.stderr[-3000:]
    return book / "_build" / "html"


@pytest.fixture
def page(browser, tiny_book):
    pg = browser.new_page(viewport={"width": 1000, "height": 900})
    errors, requests = [], []
    pg.on("pageerror", lambda err: errors.append(f"{err}\n{err.stack}"))
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(tiny_book.as_uri())
    pg.wait_for_selector(".gc-quiz.gc-js")
    pg.wait_for_selector(".gc-frames.gc-js")
    yield pg
    ours = [e for e in errors if "gancourse" in e]
    assert not ours, f"script errors from gancourse-interactive.js: {ours}"
    remote = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not remote, f"the page fetched from the network: {remote}"
    pg.close()


def _text(locator) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


# ---------------------------------------------------------------------- quiz
def test_the_page_is_self_contained(tiny_book):
    html = tiny_book.read_text("utf-8")
    assert "_static/gancourse-interactive.js" in html and "_static/gancourse-interactive.css" in html
    assert (tiny_book.parent / "_static" / "gancourse-interactive.js").is_file()
    assert "widget-state+json" not in html and "application/vnd.jupyter.widget-view+json" not in html
    assert not re.search(r'<script[^>]+src="https?://', html), "a script is loaded from another site"
    assert html.count('class="gc-quiz"') == 1 and html.count('class="gc-frames"') == 3


def test_wrong_answer_then_right_answer(page, artifacts):
    q = page.locator('.gc-q[data-qid="tanh-scaling"]')
    q.get_by_label("[0, 1]").check()
    q.get_by_role("button", name="Check your answer to question 2").click()
    feedback = q.locator(".gc-feedback")
    assert "gc-fb-wrong" in feedback.get_attribute("class")
    assert _text(feedback).startswith("✗ Not quite. That is the range of a sigmoid output.")
    q.screenshot(path=str(artifacts / "quiz-wrong.png"))
    q.get_by_label("[−1, 1]").check()
    q.get_by_role("button", name="Check your answer to question 2").click()
    assert "gc-fb-correct" in feedback.get_attribute("class")
    assert _text(feedback).startswith("✓ Correct. Real and generated images must live in the same range")
    assert _text(page.locator(".gc-score")) == "Score: 1 / 6"
    q.screenshot(path=str(artifacts / "quiz-right.png"))
    page.locator(".gc-quiz").screenshot(path=str(artifacts / "quiz.png"))
    page.emulate_media(color_scheme="dark")               # the theme's "auto" mode follows the reader
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    page.locator(".gc-quiz").screenshot(path=str(artifacts / "quiz-dark.png"))


def _scenarios(q):
    """Answers to try, in the canonical forms of gancourse.interactive.quiz.grade."""
    if q.type == "multiple_choice":
        return [None] + list(range(len(q.options))) + [q.answer]   # end on the right answer
    if q.type == "true_false":
        return [None, True, False]
    if q.type == "multiple_select":
        return [[], [0], list(range(len(q.options))), list(q.answer)]
    if q.type == "matching":
        right = {left: r for left, r in q.pairs}
        lefts = list(right)
        swapped = {**right, lefts[0]: right[lefts[1]], lefts[1]: right[lefts[0]]}
        partial = {lefts[0]: right[lefts[0]]}
        return [partial, swapped, {**right, lefts[0]: q.choices[0] if q.choices[0] != right[lefts[0]]
                                    else q.choices[1]}, right]
    return ["", "two", f"{q.answer + 1:g}", f"{q.answer - 1:g}", f" {q.answer:g} ",
            f"{q.answer + q.tolerance / 2:g}".replace("-", "\u2212")]


def _enter(qel, q, answer):
    """Enter an answer as a reader would."""
    if q.type in ("multiple_choice", "true_false", "multiple_select"):
        boxes = qel.locator("input")
        chosen = {answer} if not isinstance(answer, list) else set(answer)
        if q.type == "true_false":
            chosen = {0 if answer else 1} if answer is not None else set()
        for i in range(boxes.count()):
            if i in chosen:
                boxes.nth(i).check()
            elif q.type == "multiple_select":
                boxes.nth(i).uncheck()
        if answer is None:      # radios cannot be unchecked by clicking: clear them as "Reset" would
            boxes.evaluate_all("els => els.forEach(e => { e.checked = false; })")
    elif q.type == "matching":
        for i, (left, _) in enumerate(q.pairs):
            qel.locator("select").nth(i).select_option(answer.get(left, ""))
    else:
        qel.locator("input").fill(answer)


def test_page_gives_the_same_feedback_and_score_as_python(page):
    """Every question, right, wrong and unusable answers: the page says what Quiz.check says."""
    from gancourse.interactive import load_quiz

    quiz = load_quiz("activations")
    for n, q in enumerate(quiz.questions, 1):
        qel = page.locator(f'.gc-q[data-qid="{q.id}"]')
        for answer in _scenarios(q):
            quiz.answer(q.id, answer)
            expected = quiz.check(q.id)
            _enter(qel, q, answer)
            qel.locator(".gc-check").click()
            shown = _text(qel.locator(".gc-feedback"))
            assert shown == expected.message, f"question {n} ({q.id}), answer {answer!r}"
            assert f"gc-fb-{expected.status}" in qel.locator(".gc-feedback").get_attribute("class")
            if expected.marks:
                marks = [_text(m) for m in qel.locator(".gc-mark").all()]
                assert marks == [("✓ right" if ok else "✗ wrong") for ok in expected.marks]
            assert _text(page.locator(".gc-score")) == quiz.score_text()
    assert quiz.score == (len(quiz.questions), len(quiz.questions))
    page.get_by_role("button", name="Reset quiz").click()
    assert _text(page.locator(".gc-score")) == "Score: 0 / 6"
    assert all(_text(f) == "" for f in page.locator(".gc-feedback").all())


def test_quiz_works_from_the_keyboard(page):
    first = page.locator('.gc-q[data-qid="tanh-scaling"] input').first
    first.focus()
    page.keyboard.press("ArrowDown")                      # radio groups move with the arrow keys
    page.keyboard.press("Tab")                            # to the Check button
    assert page.evaluate("document.activeElement.className") == "gc-check"
    page.keyboard.press("Enter")
    assert _text(page.locator('.gc-q[data-qid="tanh-scaling"] .gc-feedback')).startswith("✓ Correct.")
    page.get_by_label("Your answer", exact=True).first.focus()   # the numeric question: type, then Enter
    page.keyboard.type("-0.6")
    page.keyboard.press("Enter")
    assert _text(page.locator('.gc-q[data-qid="leaky-value"] .gc-feedback')).startswith("✓ Correct.")
    page.locator('.gc-q[data-qid="match-activations"] select').first.focus()
    page.keyboard.press("ArrowDown")                      # a closed <select> changes with the arrow keys
    assert page.locator('.gc-q[data-qid="match-activations"] select').first.input_value() != ""


def test_every_control_has_an_accessible_name(page):
    unnamed = page.evaluate("""() => {
        const out = [];
        document.querySelectorAll('.gc-quiz input, .gc-quiz select, .gc-frames input, .gc-frames select')
          .forEach(el => { if (!el.labels.length || !el.labels[0].textContent.trim()) out.push(el.outerHTML); });
        document.querySelectorAll('.gc-quiz button, .gc-frames button').forEach(b => {
          if (!(b.getAttribute('aria-label') || b.textContent.trim()) || b.tabIndex < 0) out.push(b.outerHTML); });
        return out; }""")
    assert unnamed == []
    assert page.get_by_role("slider", name="PC 1").count() == 1
    assert page.get_by_role("combobox", name="class").count() == 1
    assert page.get_by_role("img", name=re.compile(r"^Image generated by ConditionalDCGANGenerator")).count() == 1


# ------------------------------------------------------------------ explorer
def _shown_frame(explorer, scale):
    """The picture on screen, one value per image pixel (centre of each scaled pixel)."""
    from PIL import Image

    shot = Image.open(io.BytesIO(explorer.locator(".gc-view").screenshot())).convert("L")
    w, h = shot.size
    return [[shot.getpixel((x * scale + scale // 2, y * scale + scale // 2)) for x in range(w // scale)]
            for y in range(h // scale)]


def _sprite_frame(explorer, index):
    """Frame ``index`` cut from the sprite sheet embedded in the page."""
    from PIL import Image

    data = json.loads(explorer.get_attribute("data-gancourse-frames"))
    style = explorer.locator(".gc-view").get_attribute("style")
    sheet = Image.open(io.BytesIO(base64.b64decode(re.search(r"base64,([^)\"]+)", style).group(1)))).convert("L")
    s = data["sprite"]
    r, c = divmod(index, s["cols"])
    tile = sheet.crop((c * s["w"], r * s["h"], (c + 1) * s["w"], (r + 1) * s["h"]))
    return [[tile.getpixel((x, y)) for x in range(s["w"])] for y in range(s["h"])], s["scale"]


def _close(a, b, tol=3):
    return all(abs(p - q) <= tol for ra, rb in zip(a, b) for p, q in zip(ra, rb))


def test_moving_a_latent_slider_changes_the_image(page, artifacts):
    ex = page.locator(".gc-frames").first
    data = json.loads(ex.get_attribute("data-gancourse-frames"))
    expected0, scale = _sprite_frame(ex, 0)
    before = _shown_frame(ex, scale)
    assert _close(before, expected0), "the page does not show frame 0 at load"
    ex.screenshot(path=str(artifacts / "explorer-default.png"))

    pc1 = page.get_by_role("slider", name="PC 1")
    pc1.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")                 # +4 steps of 0.5: PC 1 = +2.0
    assert _text(ex.locator('output[data-for="d1"]')) == "+2.0"
    assert pc1.get_attribute("aria-valuetext") == "+2.0"
    names = [c["name"] for c in data["controls"]]
    c = data["controls"][names.index("d1")]
    offset = 1 + sum(len(k["labels"]) - 1 for k in data["controls"][:names.index("d1")])
    index = offset + c["default"] + 4 - 1
    assert int(ex.get_attribute("data-frame-shown")) == index
    after = _shown_frame(ex, scale)
    assert after != before, "the image did not change"
    assert _close(after, _sprite_frame(ex, index)[0]), "the page shows the wrong frame"
    ex.screenshot(path=str(artifacts / "explorer-pc1.png"))

    # One control at a time: moving A -> B returns PC 1 to its default.
    page.get_by_role("slider", name="A → B").fill("5")
    assert _text(ex.locator('output[data-for="d1"]')) == "+0.0" and _text(ex.locator('output[data-for="t"]')) == "0.5"
    assert int(ex.get_attribute("data-frame-shown")) == 5
    # The class combines with the sliders: same slider position, another block of frames.
    page.get_by_role("combobox", name="class").select_option(label="digit 3")
    assert int(ex.get_attribute("data-frame-shown")) == 3 * data["frames_per_block"] + 5
    assert _close(_shown_frame(ex, scale), _sprite_frame(ex, 3 * data["frames_per_block"] + 5)[0])
    assert "class digit 3" in ex.locator(".gc-view").get_attribute("aria-label")
    ex.screenshot(path=str(artifacts / "explorer-class3.png"))


def test_plot_sliders_switch_frames(page, artifacts):
    leaky = page.locator(".gc-frames").nth(1)
    visible = 'g[data-frame]:not([style*="none"])'
    assert leaky.locator(visible).count() == 1
    first = leaky.locator(visible).get_attribute("data-frame")
    leaky.screenshot(path=str(artifacts / "plot-leaky-0.20.png"))
    slider = page.get_by_role("slider", name="negative slope α")
    slider.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert _text(leaky.locator("output")) == "0.50"
    assert leaky.locator(visible).count() == 1 and leaky.locator(visible).get_attribute("data-frame") != first
    assert "α = 0.50" in leaky.locator(visible).text_content()
    leaky.screenshot(path=str(artifacts / "plot-leaky-0.50.png"))
    loss = page.locator(".gc-frames").nth(2)
    page.get_by_role("slider", name="D(G(z))").fill("0")
    assert "At D(G(z)) = 0.02" in loss.locator(visible).text_content()
    loss.screenshot(path=str(artifacts / "plot-generator-loss.png"))


# ------------------------------------------------------------ the real book
def _chapters_with_quizzes():
    return [p for p in sorted((ROOT / "book").glob("*.ipynb")) if "show_quiz(" in p.read_text("utf-8")]


@pytest.mark.skipif(not _chapters_with_quizzes(), reason="no chapter of the book shows a quiz yet")
def test_quizzes_in_the_built_book(request, browser, artifacts):
    html_dir = request.getfixturevalue("built_book")
    pages = [p for p in sorted(html_dir.rglob("*.html")) if "data-gancourse-quiz" in p.read_text("utf-8")]
    assert pages, "chapters call show_quiz but no built page holds a quiz (check nb_mime_priority_overrides)"
    for path in pages:
        pg = browser.new_page(viewport={"width": 1000, "height": 900})
        pg.goto(path.as_uri())
        pg.wait_for_selector(".gc-quiz.gc-js")
        q = pg.locator(".gc-q").first
        q.locator(".gc-check").click()                    # nothing entered yet: a prompt, not a verdict
        assert "gc-fb-invalid" in q.locator(".gc-feedback").get_attribute("class")
        pg.locator(".gc-quiz").first.screenshot(path=str(artifacts / f"book-{path.stem}-quiz.png"))
        pg.close()


# ------------------------------------------------------------ accessibility
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
WCAG2 = ["wcag2a", "wcag2aa"]
DESKTOP, PHONE = 1366, 375
WIDTHS = (DESKTOP, PHONE)     # desktop and phone


def _axe(pg, tags=WCAG2):
    """axe-core's violations of ``tags`` on the loaded page (the script is injected from the tests, offline)."""
    pg.add_script_tag(path=str(AXE))
    return pg.evaluate("""async tags => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n')[1]) })); }""",
                       tags)


def _settle(pg):
    """Wait until the book's and the theme's scripts have run (axe must see the page a reader sees)."""
    pg.wait_for_load_state("load")
    if pg.locator("[data-gancourse-quiz], [data-gancourse-frames]").count():
        pg.wait_for_function("""() => [...document.querySelectorAll('[data-gancourse-quiz], [data-gancourse-frames]')]
                                      .every(e => e.classList.contains('gc-a11y'))""")
    pg.wait_for_timeout(300)   # pydata-sphinx-theme adds tab stops to scrolling code boxes after load


def _book_pages(html_dir):
    """Every page of a built book, redirects left out (a page that only forwards to another)."""
    return [p for p in sorted(html_dir.rglob("*.html"))
            if not {"_static", "_sources"} & set(p.relative_to(html_dir).parts)
            and 'http-equiv="refresh"' not in p.read_text("utf-8").lower()]


def test_axe_sees_a_broken_label(browser, tiny_book):
    """The axe harness itself: a slider whose label is cut off is reported (so a clean run means something)."""
    pg = browser.new_page(viewport={"width": 1000, "height": 900})
    pg.goto(tiny_book.as_uri())
    _settle(pg)
    pg.evaluate("""() => { const s = document.querySelector('.gc-frames input[type=range]');
                           document.querySelector('label[for="' + s.id + '"]').remove(); }""")
    rules = {v["rule"] for v in _axe(pg)}
    pg.close()
    assert "label" in rules


def test_axe_finds_no_wcag2_violation_on_the_components(browser, tiny_book):
    for width in WIDTHS:
        pg = browser.new_page(viewport={"width": width, "height": 900})
        pg.goto(tiny_book.as_uri())
        _settle(pg)
        violations = _axe(pg)
        pg.close()
        assert not violations, f"at {width} px: " + json.dumps(violations, indent=1, ensure_ascii=False)


def test_axe_finds_no_wcag2_violation_on_any_page_of_the_book(request, browser):
    """axe-core's WCAG 2 A and AA rules on every page of the real book, desktop and phone widths."""
    html_dir = request.getfixturevalue("built_book")
    pages = _book_pages(html_dir)
    assert len(pages) > 10
    found = []
    for path in pages:
        for width in WIDTHS:
            pg = browser.new_page(viewport={"width": width, "height": 900})
            pg.goto(path.as_uri())
            _settle(pg)
            for v in _axe(pg):
                found.append(f"{path.relative_to(html_dir)} at {width} px: {v['rule']} ({v['impact']}): "
                             f"{v['help']}; {v['nodes']}")
            pg.close()
    assert not found, "\n".join(found)


def test_the_book_does_not_need_axe(request):
    html_dir = request.getfixturevalue("built_book")
    assert not list(html_dir.rglob("axe*.js")), "axe-core was copied into the built book"
    for path in _book_pages(html_dir):
        assert "axe" not in " ".join(re.findall(r'<script[^>]*\bsrc="([^"]+)"', path.read_text("utf-8"))), path


def _tab_to(pg, selector, limit=400):
    """Press Tab until the focused element matches ``selector``; return how many presses it took."""
    for n in range(1, limit + 1):
        pg.keyboard.press("Tab")
        if pg.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return n
    raise AssertionError(f"Tab never reached {selector}")


def _description(pg, locator) -> str:
    """The accessible description: the text of the elements named by aria-describedby."""
    ids = (locator.get_attribute("aria-describedby") or "").split()
    return " ".join(pg.evaluate("i => document.getElementById(i).textContent", i) for i in ids)


def test_quiz_by_keyboard_alone_announces_its_feedback(page):
    quiz = page.locator(".gc-quiz")
    assert page.get_by_role("region", name="Check your understanding: activation functions").count() == 1
    q = page.locator('.gc-q[data-qid="tanh-scaling"]')
    # From the top of the page, Tab alone reaches the question's options, then its Check button.
    _tab_to(page, '.gc-q[data-qid="tanh-scaling"] input')
    page.keyboard.press("ArrowDown")                      # choose the next option of the radio group
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "gc-check"
    page.keyboard.press("Enter")
    box = q.locator(".gc-feedback")
    assert box.get_attribute("role") == "status" and box.get_attribute("aria-live") == "polite"
    assert box.get_attribute("aria-atomic") == "true"
    assert _text(box).startswith("✓ Correct.")
    assert box.is_visible()
    option = q.locator("input").nth(1)
    assert _description(page, option) == box.text_content(), "the feedback is not the options' description"
    # The numeric question: something that is not a number is flagged, then a right answer clears the flag.
    num = page.locator('.gc-q[data-qid="leaky-value"] input')
    _tab_to(page, '.gc-q[data-qid="leaky-value"] input')
    page.keyboard.type("two")
    page.keyboard.press("Enter")
    assert num.get_attribute("aria-invalid") == "true"
    assert _text(page.locator('.gc-q[data-qid="leaky-value"] .gc-feedback')) == "Enter a number, such as 0.5 or -2."
    page.keyboard.press("Control+a")
    page.keyboard.type("-0.6")
    page.keyboard.press("Enter")
    assert num.get_attribute("aria-invalid") is None
    assert _text(page.locator('.gc-q[data-qid="leaky-value"] .gc-feedback')).startswith("✓ Correct.")
    # Every empty feedback box is still rendered: a live region must exist before its text arrives.
    assert quiz.locator(".gc-feedback").evaluate_all("bs => bs.filter(b => getComputedStyle(b).display === 'none')"
                                                     ".length") == 0
    assert page.get_by_role("status").filter(has_text="Score: 2 / 6").count() == 1


def test_explorer_and_plot_by_keyboard_alone_announce_what_changed(page):
    ex = page.locator(".gc-frames").first
    assert page.get_by_role("group", name=re.compile("^Latent explorer")).count() == 1
    _tab_to(page, '.gc-frames [data-control="d1"]')
    pc1 = page.get_by_role("slider", name="PC 1")
    assert "principal direction 1" in _description(page, pc1)
    assert "one slider moves at a time" in _description(page, pc1)
    page.keyboard.press("ArrowRight")
    assert pc1.get_attribute("aria-valuetext") == "+0.5"
    assert ex.locator('output[data-for="d1"]').get_attribute("aria-live") == "off"   # the slider says it already
    page.keyboard.press("Tab")                            # to PC 2
    page.keyboard.press("ArrowLeft")
    announce = ex.locator(".gc-announce")
    assert announce.get_attribute("role") == "status" and announce.get_attribute("aria-live") == "polite"
    assert _text(announce) == "PC 1 went back to +0.0"
    assert "PC 2 -0.5" in ex.locator(".gc-view").get_attribute("aria-label")
    # A plot: its numbers are announced and join the picture's name.
    loss = page.locator(".gc-frames").nth(2)
    _tab_to(page, '.gc-frames [data-control="d"]')
    page.keyboard.press("ArrowRight")
    said = _text(loss.locator(".gc-announce"))
    assert said.startswith("At D(G(z)) = 0.14: loss minimax")
    assert loss.locator(".gc-view").get_attribute("aria-label").endswith(said)



# ------------------------------------------------ every page, both widths, http and file://
class _Watch:
    """What a reader's browser reports about a page: console errors and requests that failed."""

    def __init__(self, pg):
        self.errors, self.failed = [], []
        pg.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        pg.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        pg.on("response", lambda r: self.failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)


def _sideways(pg):
    """How far the page scrolls sideways (0 when it does not), and the widest things sticking out."""
    return pg.evaluate("""() => {
        const d = document.documentElement, w = d.clientWidth, extra = d.scrollWidth - w;
        if (extra <= 0) return [0, []];
        const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                                 if (getComputedStyle(a).overflowX !== 'visible') return true;
                               return false; };   // inside a box that scrolls (or clips) by itself
        const out = [...document.querySelectorAll('.bd-article *')]
          .filter(e => e.getBoundingClientRect().right > w + 1 && !clipped(e))
          .map(e => [Math.round(e.getBoundingClientRect().right),
                     e.tagName.toLowerCase() + '.' + String(e.className).split(' ')[0] + ': ' +
                     (e.textContent || '').trim().slice(0, 60)])
          .sort((a, b) => b[0] - a[0]);
        return [extra, out.slice(0, 3)]; }""")


def _cut_boxes(pg):
    """Code, output and table boxes of the notebook cells whose content is wider than the box
    (their lines scroll inside it, so the reader sees them cut off): [(overflow px, text)]."""
    return pg.evaluate("""() => [...document.querySelectorAll(
            '.bd-article div.cell pre, .bd-article div.cell_output table')]
        .map(e => [e.scrollWidth - e.clientWidth, (e.textContent || '').trim().slice(0, 60)])
        .filter(([extra]) => extra > 1)""")


def _problems(browser, url, width):
    """Load ``url`` at ``width`` px as a first visit (a fresh browser context, nothing stored);
    return every console error, failed request and sideways scroll, and at desktop width every
    cell box whose lines are cut off."""
    pg = browser.new_page(viewport={"width": width, "height": 900})
    watch = _Watch(pg)
    pg.goto(url)
    _settle(pg)
    pg.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
    found = [f"console error: {e}" for e in watch.errors] + [f"failed request: {f}" for f in watch.failed]
    extra, culprits = _sideways(pg)
    cut = _cut_boxes(pg) if width >= DESKTOP else []
    pg.close()
    if extra > 0:
        found.append(f"the page scrolls {extra} px sideways at {width} px; sticking out: {culprits}")
    found += [f"a cell box cuts {px} px of its lines off: {text!r}" for px, text in cut]
    return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def book_url(request):
    """The built book over http (a local server for this module) and over file://: {scheme: base URL}."""
    html_dir = request.getfixturevalue("built_book")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"http": f"http://127.0.0.1:{server.server_address[1]}/", "file": html_dir.as_uri() + "/"}
    server.shutdown()
    server.server_close()


def test_the_page_checks_see_errors_failed_requests_and_sideways_scrolling(browser, tiny_book):
    """The harness itself: each kind of problem, made on purpose, is reported."""
    assert _problems(browser, tiny_book.as_uri(), 375) == []
    pg = browser.new_page()
    watch = _Watch(pg)
    pg.goto(tiny_book.as_uri())
    _settle(pg)
    pg.evaluate("""() => { console.error('made on purpose');
        const img = document.createElement('img'); img.src = 'no-such-picture.png'; document.body.append(img);
        const wide = document.createElement('code'); wide.textContent = 'x'.repeat(300);
        wide.style.whiteSpace = 'nowrap'; document.querySelector('.bd-article').append(wide); }""")
    pg.wait_for_timeout(300)
    extra, culprits = _sideways(pg)
    pg.close()
    pg = browser.new_page(viewport={"width": DESKTOP, "height": 900})
    pg.goto(tiny_book.as_uri())
    _settle(pg)
    before = _cut_boxes(pg)
    pg.evaluate("""() => { const cell = document.createElement('div'); cell.className = 'cell';
        const pre = document.createElement('pre'); pre.textContent = 'y'.repeat(120);
        cell.append(pre); document.querySelector('.bd-article').append(cell); }""")
    (cut,) = [box for box in _cut_boxes(pg) if box not in before]
    pg.close()
    assert cut[0] > 0 and cut[1] == "y" * 60
    assert "made on purpose" in watch.errors
    assert any("no-such-picture.png" in f for f in watch.failed)
    assert extra > 0 and "xxxx" in culprits[0][1]


def test_every_page_of_the_book_is_clean_at_both_widths_over_http_and_file(browser, book_url, request):
    """No console error, no failed request, and no sideways scrolling, on every page of the book,
    at 1366 and 375 px, served over http and opened from disk."""
    html_dir = request.getfixturevalue("built_book")
    pages = [p.relative_to(html_dir).as_posix() for p in _book_pages(html_dir)]
    assert "index.html" in pages and len(pages) > 10
    found = []
    for scheme, base in book_url.items():
        for name in pages:
            for width in WIDTHS:
                found += [f"{scheme} {name} at {width} px: {p}" for p in _problems(browser, base + name, width)]
    assert not found, "\n".join(found)


def _themes():
    from importlib.metadata import version

    return (f"sphinx-book-theme {version('sphinx-book-theme')}, pydata-sphinx-theme {version('pydata-sphinx-theme')}"
            " (requirements.txt pins the pair that works)")


def _primary_sidebar_shown(pg):
    """Whether the chapter list is on screen (inside the viewport and visible)."""
    return pg.evaluate("""() => { const s = document.querySelector('.bd-sidebar-primary');
        const r = s.getBoundingClientRect();
        return getComputedStyle(s).visibility === 'visible' && r.width > 100 && r.left >= 0
               && r.right <= document.documentElement.clientWidth; }""")


def test_phone_menu_opens_and_follows_a_link(browser, book_url, artifacts):
    """At 375 px the menu button shows the chapter list, a chapter link in it works, and
    "On this page" lists the page's sections."""
    pg = browser.new_page(viewport={"width": 375, "height": 800})
    watch = _Watch(pg)
    pg.goto(book_url["http"] + "book/02_fundamentals.html")
    _settle(pg)
    assert not _primary_sidebar_shown(pg), "the chapter list covers the page before the menu is opened"
    pg.locator(".primary-toggle:visible").first.click()
    pg.wait_for_timeout(400)
    assert _primary_sidebar_shown(pg), f"the menu button did not show the chapter list; {_themes()}"
    pg.screenshot(path=str(artifacts / "phone-menu-open.png"))
    link = pg.locator(".bd-sidebar-primary a.reference", has_text="5. Loss functions")
    assert link.is_visible()
    link.click()
    pg.wait_for_url("**/book/05_losses.html")
    _settle(pg)
    assert pg.locator("h1").first.inner_text().startswith("Loss functions")
    assert not _primary_sidebar_shown(pg)
    # "On this page": the section list opens and its links move to the section.
    pg.locator(".secondary-toggle:visible").first.click()
    pg.wait_for_timeout(400)
    toc = pg.locator(".bd-sidebar-secondary")
    box = toc.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375 and toc.is_visible(), \
        "'On this page' did not open"
    pg.screenshot(path=str(artifacts / "phone-on-this-page.png"))
    section = toc.locator("a.nav-link").nth(1)
    target = section.get_attribute("href")
    section.click()
    pg.wait_for_function("h => location.hash === h", arg=target)
    pg.close()
    assert not watch.errors and not watch.failed, watch.errors + watch.failed


def test_desktop_menu_button_hides_and_shows_the_chapter_list(browser, book_url):
    pg = browser.new_page(viewport={"width": 1366, "height": 900})
    pg.goto(book_url["file"] + "book/05_losses.html")
    _settle(pg)
    assert _primary_sidebar_shown(pg)
    button = pg.locator(".primary-toggle:visible").first
    button.click()
    pg.wait_for_timeout(400)
    assert not _primary_sidebar_shown(pg), f"the menu button did not hide the chapter list; {_themes()}"
    assert pg.locator(".bd-article").bounding_box()["x"] < 250, "the text did not take the freed space"
    button.click()
    pg.wait_for_timeout(400)
    assert _primary_sidebar_shown(pg), "the menu button did not bring the chapter list back"
    pg.close()


def test_chapter_numbers_are_the_file_numbers(request):
    """The sidebar's "N. Title" agrees with book/NN_*.ipynb; the instructors page is unnumbered."""
    html_dir = request.getfixturevalue("built_book")

    def sidebar(page):          # (link, text) of the chapter list as shown on ``page``
        html = (html_dir / page).read_text("utf-8")
        html = html[html.index('bd-docs-nav'):]
        return re.findall(r'<a class="[^"]*\breference internal" href="([^"#][^"]*)">([^<]+)</a>', html)

    entries = sidebar("book/instructors.html") + sidebar("book/01_intro.html")
    numbered = {Path(href).stem: text for href, text in entries if re.match(r"\d+\. ", text)}
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(numbered) == chapters, f"numbered in the sidebar: {numbered}"
    for stem, text in numbered.items():
        assert text.split(".")[0] == str(int(stem[:2])), f"{stem} is numbered {text!r}"
    instructors = {text for href, text in entries if Path(href).stem == "instructors"}
    assert instructors and not any(re.match(r"\d", t) for t in instructors), instructors
