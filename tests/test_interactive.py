"""gancourse.interactive: quizzes, the latent explorer and the small plots, driven from code.

The widgets are driven as a reader would (set a control's value, click a button) and the
static renderings are checked for what the page's script relies on. The real-browser
checks of the static book are in tests/test_browser.py.
"""
import base64
import io
import re
import statistics
import time
from html.parser import HTMLParser

import pytest
import torch
import yaml
from torch import nn

from gancourse import models
from gancourse.interactive import (GeneratorLossPlot, GeneratorProtocolError, LatentExplorer, LeakyReLUPlot,
                                   QuizAnswerError, QuizBankError, available_banks, load_bank, load_quiz,
                                   show_quiz)
from gancourse.interactive import _common, quiz as quizmod
from gancourse.interactive.explorer import _png

@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def quiz():
    return load_quiz("activations")


@pytest.fixture(scope="module")
def dcgan_explorer():
    torch.manual_seed(0)
    return LatentExplorer(models.DCGANGenerator(init=False))


class StyleToy(nn.Module):
    """A tiny style-based generator following the explorer's protocol: layer 0's style paints
    the top half of the image, layer 1's style the bottom half."""

    num_ws = 2

    def __init__(self, z_dim=6, w_dim=4, with_avg=False):
        super().__init__()
        self.z_dim = z_dim
        self.mapping = nn.Sequential(nn.Linear(z_dim, w_dim), nn.Tanh())
        self.head = nn.Linear(w_dim, 14 * 28)
        if with_avg:
            self.register_buffer("w_avg", torch.full((w_dim,), 0.25))

    def synthesis(self, ws):
        top, bottom = self.head(ws[:, 0]), self.head(ws[:, 1])
        return torch.tanh(torch.cat([top, bottom], 1)).view(-1, 1, 28, 28)


# ------------------------------------------------------------------ quiz banks
def test_activation_bank_has_the_course_matching_question_and_every_type():
    bank = load_bank("activations")
    assert bank.chapter == "activations" and len(bank.questions) >= 5
    assert {q.type for q in bank.questions} == set(quizmod.QUESTION_TYPES)
    match = bank.question("match-activations")
    pairs = dict(match.pairs)
    assert pairs["tanh"] == "output bounded in (−1, 1)"
    assert pairs["LeakyReLU"] == "helps the generator learn"
    assert pairs["sigmoid"] == "output bounded in (0, 1)"


@pytest.mark.parametrize("name", available_banks())
def test_every_shipped_bank_is_valid(name):
    bank = load_bank(name)
    assert bank.chapter == name and all(q.explanation for q in bank.questions)


def test_numeric_answers_in_the_activation_bank_are_true():
    """The bank's numbers are facts about PyTorch's functions, so check them against PyTorch."""
    bank = load_bank("activations")
    leaky = torch.nn.functional.leaky_relu(torch.tensor(-3.0), 0.2).item()
    assert abs(bank.question("leaky-value").answer - leaky) < 1e-6
    x = torch.linspace(-10, 10, 20001, requires_grad=True)
    (grad,) = torch.autograd.grad(torch.sigmoid(x).sum(), x)
    assert abs(bank.question("sigmoid-slope").answer - grad.max().item()) < 1e-6


GOOD = {"chapter": "demo", "title": "Demo", "questions": [
    {"id": "q-mc", "type": "multiple_choice", "prompt": "Pick b.", "options": ["a", {"text": "b"}, "c"],
     "answer": "b", "explanation": "Because b."}]}


def _bank_with(**changes):
    q = {**GOOD["questions"][0], **changes}
    return {**GOOD, "questions": [{k: v for k, v in q.items() if v is not None}]}


@pytest.mark.parametrize("data, message", [
    (_bank_with(type="multiple_choise"), r"question 1 \('q-mc'\): unknown type 'multiple_choise'; valid types"),
    (_bank_with(answer="d"), r"answer 'd' is not among the options \['a', 'b', 'c'\]"),
    (_bank_with(explanation=None), r"'q-mc'\): missing 'explanation'"),
    (_bank_with(explanation="  "), r"'explanation' must be a non-empty text"),
    (_bank_with(id="Q 1"), r"'id' must be lowercase letters"),
    (_bank_with(options=["a"]), r"'options' must be a list of at least two"),
    (_bank_with(options=["a", "b", "a"], answer="a"), r"options repeat: \['a'\]"),
    (_bank_with(colour="red"), r"unknown key\(s\) \['colour'\] for a multiple_choice question"),
    ({**GOOD, "questions": [GOOD["questions"][0]] * 2}, r"question ids repeat: \['q-mc'\]"),
    ({**GOOD, "questions": []}, r"'questions' must be a non-empty list"),
    ({**GOOD, "extra": 1}, r"unknown top-level key\(s\) \['extra'\]"),
    ({**GOOD, "chapter": "other"}, r"'chapter' is 'other' but the file is named 'demo'.yaml"),
    ({**GOOD, "questions": [{"id": "n", "type": "numeric", "prompt": "p", "explanation": "e", "answer": 1}]},
     r"missing 'tolerance'"),
    ({**GOOD, "questions": [{"id": "n", "type": "numeric", "prompt": "p", "explanation": "e", "answer": "one",
                             "tolerance": 0}]}, r"'answer' must be a finite number, got 'one'"),
    ({**GOOD, "questions": [{"id": "t", "type": "true_false", "prompt": "p", "explanation": "e",
                             "answer": "yes please"}]}, r"'answer' must be true or false"),
    ({**GOOD, "questions": [{"id": "m", "type": "matching", "prompt": "p", "explanation": "e",
                             "pairs": {"a": "x", "b": "x"}}]}, r"right-hand choices must be distinct; repeated: \['x'\]"),
    ({**GOOD, "questions": [{"id": "s", "type": "multiple_select", "prompt": "p", "explanation": "e",
                             "options": ["a", "b"], "answers": []}]}, r"'answers' must be a non-empty list"),
    (["not", "a", "mapping"], r"a bank must be a mapping"),
])
def test_bad_banks_are_rejected_with_a_clear_message(tmp_path, data, message):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(QuizBankError, match=message) as err:
        load_bank(path)
    assert "demo.yaml" in str(err.value)


def test_a_valid_bank_file_loads(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(GOOD), "utf-8")
    assert load_bank(path).question("q-mc").answer == 1


def test_broken_yaml_and_unknown_names_are_clear_errors(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text("chapter: demo\nquestions: [\n", "utf-8")
    with pytest.raises(QuizBankError, match="not valid YAML"):
        load_bank(path)
    with pytest.raises(QuizBankError, match=r"no quiz bank named 'nope'; available: .*activations"):
        load_bank("nope")
    with pytest.raises(TypeError, match="chapter name or a path"):
        load_bank(42)


# --------------------------------------------------------------- quiz widgets
def test_wrong_then_right_answer_gives_feedback_and_score(quiz):
    quiz.answer("tanh-scaling", "[0, 1]")
    fb = quiz.check("tanh-scaling")
    shown = quiz.feedback_text("tanh-scaling")
    assert not fb.correct and shown.startswith("✗ Not quite.") and "range of a sigmoid output" in shown
    assert quiz.score == (0, 6) and "Score: 0 / 6" in quiz._score_label.value
    quiz.answer("tanh-scaling", "[−1, 1]")                       # retry
    fb = quiz.check("tanh-scaling")
    shown = quiz.feedback_text("tanh-scaling")
    assert fb.correct and shown.startswith("✓ Correct.") and "x / 127.5 − 1" in shown
    assert quiz.score == (1, 6) and "Score: 1 / 6" in quiz._score_label.value
    quiz.answer("tanh-scaling", 0)                               # a later wrong check takes the point back
    quiz.check("tanh-scaling")
    assert quiz.score == (0, 6)


def test_the_check_button_grades_what_the_reader_entered(quiz):
    row = quiz._row("logits-not-sigmoid")
    row.controls[0].value = True                                 # click "True"
    row.box.children[2].click()                                  # the Check button
    assert quiz.feedback_text("logits-not-sigmoid").startswith("✗ Not quite. Look at what")
    row.controls[0].value = False
    row.box.children[2].click()
    assert "They return a raw logit" in quiz.feedback_text("logits-not-sigmoid")
    assert quiz.score == (1, 6)


def test_every_question_type_through_the_widgets(quiz):
    quiz.answer("leaky-statements", [0])
    assert quiz.check("leaky-statements").message == "✗ Not quite. At least one right option is not selected yet."
    quiz.answer("leaky-statements", [0, 1, 2])
    assert "unbounded in both directions" in quiz.check("leaky-statements").message
    quiz.answer("leaky-statements", [0, 2])
    assert quiz.check("leaky-statements").correct

    right = dict(load_bank("activations").question("match-activations").pairs)
    wrong = {**right, "LeakyReLU": "exactly zero for every negative input"}
    quiz.answer("match-activations", wrong)
    fb = quiz.check("match-activations")
    assert fb.message.startswith("✗ Not quite. 2 of 3 matches are right.")
    assert [m.value.count("✓") for m in quiz._row("match-activations").marks] == [1, 0, 1]
    quiz.answer("match-activations", right)
    assert quiz.check("match-activations").correct

    assert quiz.check("leaky-value").message == "Enter a number, such as 0.5 or -2."   # nothing typed
    quiz.answer("leaky-value", "−0.5")                            # a typographic minus is accepted
    assert "too high" in quiz.check("leaky-value").message
    quiz.answer("leaky-value", -0.6004)
    assert quiz.check("leaky-value").correct
    assert quiz.score == (3, 6)


def test_invalid_input_is_not_counted_as_an_attempt(quiz):
    quiz.answer("sigmoid-slope", "0.25")
    quiz.check("sigmoid-slope")
    quiz.answer("sigmoid-slope", "a quarter")
    fb = quiz.check("sigmoid-slope")
    assert fb.status == "invalid" and quiz.score == (1, 6)
    assert quiz.feedback_text("sigmoid-slope") == "Enter a number, such as 0.5 or -2."


def test_pressing_enter_in_a_number_box_checks_it(quiz):
    box = quiz._row("sigmoid-slope").controls[0]
    box.value = "0.3"                                             # what the front end sends on Enter
    assert quiz.feedback_text("sigmoid-slope").startswith("✗ Not quite. Your answer is too high.")


def test_reset_clears_answers_feedback_and_score(quiz):
    quiz.answer("tanh-scaling", "[−1, 1]")
    quiz.check("tanh-scaling")
    quiz.answer("leaky-value", "-0.6")
    quiz.check("leaky-value")
    assert quiz.score == (2, 6)
    quiz._widget.children[-1].children[1].click()                # "Reset quiz"
    assert quiz.score == (0, 6) and quiz.feedback_text("tanh-scaling") == ""
    assert quiz._row("tanh-scaling").controls[0].value is None
    assert quiz._row("leaky-value").controls[0].value == ""
    assert quiz.feedback_text("leaky-value") == ""


def test_wrong_kinds_of_answer_are_clear_errors(quiz):
    with pytest.raises(QuizAnswerError, match=r"'\[0, 2\]' is neither one of the options"):
        quiz.answer("tanh-scaling", "[0, 2]")
    with pytest.raises(QuizAnswerError, match="is true/false: answer True or False"):
        quiz.answer("logits-not-sigmoid", "false")
    with pytest.raises(QuizAnswerError, match="takes several answers"):
        quiz.answer("leaky-statements", 0)
    with pytest.raises(QuizAnswerError, match=r"\['ReLU'\] are not items to match"):
        quiz.answer("match-activations", {"ReLU": "helps the generator learn"})
    with pytest.raises(QuizAnswerError, match="takes a number"):
        quiz.answer("leaky-value", [1])
    with pytest.raises(KeyError, match="no question 'nope'"):
        quiz.check("nope")


def test_grading_is_pure(quiz):
    assert quiz.grade("tanh-scaling", 1).correct
    assert quiz.score == (0, 6) and quiz.results == {}


# --------------------------------------------------------- quiz: both renderings
def test_display_bundle_has_widget_html_and_text(quiz):
    bundle = quiz._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == quiz.widget.model_id
    assert "data-gancourse-quiz" in bundle["text/html"] and "<script" not in bundle["text/html"]
    assert bundle["text/plain"].startswith("Quiz: Check your understanding: activation functions (6 questions)")


def test_every_component_displays_as_a_widget_with_the_installed_ipywidgets(dcgan_explorer):
    """ipywidgets 7 (Colab) has no Widget._repr_mimebundle_; the view entry must come out in 7 and 8.
    CI runs this file under both (tests/test_colab.py runs it with ipywidgets 7.7.1)."""
    for component in (load_quiz("losses"), dcgan_explorer, LeakyReLUPlot(), GeneratorLossPlot()):
        bundle = component._repr_mimebundle_()
        view = bundle["application/vnd.jupyter.widget-view+json"]
        assert view == {"version_major": 2, "version_minor": 0, "model_id": component.widget.model_id}
        assert "text/html" in bundle and "text/plain" in bundle


def test_a_closed_widget_falls_back_to_html_and_text(quiz):
    quiz.widget.close()
    assert set(quiz._repr_mimebundle_()) == {"text/html", "text/plain"}


def test_widget_descriptions_read_as_text_in_ipywidgets_7_and_8(tmp_path):
    """ipywidgets 7 renders a description as HTML, 8 as text: the reader must see the same words."""
    import ipywidgets

    bank = {"chapter": "marks", "title": "Marks", "questions": [
        {"id": "lt", "type": "multiple_select", "prompt": "Which hold?", "answers": ["x < 0 & y"],
         "options": [{"text": "x < 0 & y"}, {"text": "<b>bold</b>"}], "explanation": "."}]}
    path = tmp_path / "marks.yaml"
    path.write_text(yaml.safe_dump(bank, allow_unicode=True))
    boxes = load_quiz(path).widget.children[1].children[1].children
    shown = [box.description for box in boxes]
    if int(ipywidgets.__version__.split(".")[0]) < 8:
        assert shown == ["x &lt; 0 &amp; y", "&lt;b&gt;bold&lt;/b&gt;"]
    else:
        assert shown == ["x < 0 & y", "<b>bold</b>"]
        assert not any(getattr(box, "description_allow_html", False) for box in boxes)


def test_html_is_deterministic_for_nbval(monkeypatch):
    monkeypatch.setattr(_common, "_ids", _common.Counter())
    first = load_quiz("activations").html()
    monkeypatch.setattr(_common, "_ids", _common.Counter())
    assert load_quiz("activations").html() == first
    second = load_quiz("activations")                             # shown twice on one page: ids stay unique
    assert second.dom_id.endswith("-2") and second.html() != first


def test_show_quiz_displays_once_and_returns_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert show_quiz("activations") is None
    assert len(shown) == 1 and shown[0].bank.chapter == "activations"


def test_page_data_carries_the_same_messages_and_answers(quiz):
    data = quiz.page_data()
    assert data["messages"] == quizmod.MESSAGES and data["number_pattern"] == quizmod.NUMBER_PATTERN
    by_id = {q["id"]: q for q in data["questions"]}
    assert by_id["tanh-scaling"]["answer"] == 1
    assert by_id["leaky-statements"]["answer"] == [0, 2]
    assert by_id["match-activations"]["answer"] == ["output bounded in (−1, 1)", "helps the generator learn",
                                                    "output bounded in (0, 1)"]


class _Controls(HTMLParser):
    """Collects form controls, labels and buttons of an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.buttons, self._button = [], set(), [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select"):
            self.controls.append(a)
        elif tag == "label" and "for" in a:
            self.label_for.add(a["for"])
        elif tag == "button":
            self._button = a
            self.buttons.append([a, ""])

    def handle_data(self, data):
        if self._button is not None:
            self.buttons[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None


@pytest.mark.parametrize("make", [lambda: load_quiz("activations"), lambda: LeakyReLUPlot(),
                                  lambda: LatentExplorer(models.ConditionalMLPGenerator(), n_directions=1)],
                         ids=["quiz", "plot", "explorer"])
def test_static_controls_are_labelled_and_focusable(make):
    parser = _Controls()
    parser.feed(make().html())
    assert parser.controls, "no controls found"
    for c in parser.controls:
        assert c.get("id") in parser.label_for, f"control without <label for>: {c}"
        assert c.get("tabindex") != "-1"
    for attrs, text in parser.buttons:
        assert attrs.get("type") == "button" and (text.strip() or attrs.get("aria-label"))
    ids = re.findall(r'\bid="([^"]+)"', make().html())
    assert len(ids) == len(set(ids)), "duplicate element ids"


# ------------------------------------------------------------------ explorer
def test_moving_a_slider_changes_the_image(dcgan_explorer):
    e = dcgan_explorer
    e.widget
    before_png, before = e._image.value, e.image.clone()
    e._controls["d1"].value = 2.0                                 # as the reader drags the slider
    assert e._image.value != before_png and not torch.equal(e.image, before)
    assert e.values["d1"] == 2.0
    e._controls["d1"].value = 0.0
    assert torch.allclose(e.image, before, atol=1e-6)
    assert "PC 1 +0.0" in e._caption.value


def test_live_update_is_within_50_ms_on_a_cpu(capsys):
    """The issue's budget: one change -> new image in the widget, on a CPU (the case-study DCGAN)."""
    torch.manual_seed(0)
    e = LatentExplorer(models.DCGANGenerator())
    e.widget
    moves = [("t", 0.5), ("psi", 0.7), ("d1", 1.5), ("d2", -2.0), ("d3", 3.0), ("t", 0.0), ("psi", 1.0),
             ("d1", 0.0), ("d2", 0.0), ("d3", 0.0)] * 3
    times = []
    for name, value in moves:
        start = time.perf_counter()
        e._controls[name].value = value
        times.append(time.perf_counter() - start)
    median, worst = statistics.median(times) * 1e3, max(times) * 1e3
    with capsys.disabled():
        print(f"\n[explorer latency] DCGANGenerator, 1 thread: median {median:.1f} ms, max {worst:.1f} ms "
              f"over {len(times)} changes")
    assert median < 50, f"median update took {median:.1f} ms"


def test_interpolation_and_truncation_follow_their_definitions():
    torch.manual_seed(0)
    g = models.MLPGenerator()
    e = LatentExplorer(g, seeds=(3, 4, 5))
    e.render(t=0.5)
    assert g.training, "the explorer must restore the generator's training mode"
    za, zb = e._z(3), e._z(4)
    g.eval()
    with torch.no_grad():
        assert torch.allclose(e.render(t=0.0), g(za)[0], atol=1e-5)
        assert torch.allclose(e.render(t=1.0), g(zb)[0], atol=1e-5)
        assert torch.allclose(e.render(t=0.0, psi=0.5), g(0.5 * za)[0], atol=1e-5)
    # psi = 0 collapses every code to z = 0: the seeds no longer matter.
    assert torch.allclose(e.render(psi=0.0, t=0.0), e.render(psi=0.0, t=1.0), atol=1e-6)


def test_constructing_an_explorer_leaves_the_global_rng_alone():
    g = models.DCGANGenerator()
    state = torch.get_rng_state()
    LatentExplorer(g, n_samples=32).html()
    assert torch.equal(torch.get_rng_state(), state)


def test_pca_directions_are_orthonormal_and_move_the_image(dcgan_explorer):
    d = dcgan_explorer.directions
    assert d.shape == (3, 100)
    assert torch.allclose(d @ d.T, torch.eye(3), atol=1e-4)
    base = dcgan_explorer.render(d1=0.0)
    assert (dcgan_explorer.render(d1=2.0) - base).abs().max() > 1e-3


def test_chosen_dimensions_and_custom_directions():
    g = models.MLPGenerator()
    e = LatentExplorer(g, directions=[5, 7])
    assert [c.label for c in e.controls][2:] == ["dim 5", "dim 7"]
    assert torch.equal(e.directions, torch.eye(100)[[5, 7]])
    own = torch.randn(2, 100)
    e2 = LatentExplorer(g, directions=own)
    assert torch.allclose(e2.directions.norm(dim=1), torch.ones(2))


def test_conditional_generator_gets_a_class_selector():
    torch.manual_seed(0)
    e = LatentExplorer(models.ConditionalDCGANGenerator(), class_names=[f"digit {i}" for i in range(10)])
    assert e.product is not None and e.product.labels[3] == "digit 3"
    e.widget
    before = e._image.value
    e._controls["label"].value = 7
    assert e._image.value != before and e.values["label"] == 7
    assert len(e.frame_states()) == 10 * len(e.block_states())


def test_style_based_generator_truncates_in_w_and_mixes_styles():
    torch.manual_seed(0)
    g = StyleToy(with_avg=True)
    e = LatentExplorer(g, seeds=(0, 1, 2))
    assert e.style and [c.name for c in e.controls][-1] == "mix"
    assert torch.equal(e.w_avg, torch.full((4,), 0.25))           # the generator's own w_avg is used
    # psi = 0: every code becomes w_avg, whatever the seed.
    assert torch.allclose(e.render(psi=0.0, t=0.0), e.render(psi=0.0, t=1.0))
    with torch.no_grad():
        w_avg_image = g.synthesis(torch.full((1, 2, 4), 0.25))[0]
    assert torch.allclose(e.render(psi=0.0), w_avg_image, atol=1e-6)
    # Mixing from layer 1: the top half (layer 0) stays seed A's, the bottom half is seed C's.
    plain, mixed = e.render(), e.render(mix=1)
    with torch.no_grad():
        seed_c = g.synthesis(g.mapping(e._z(2)).unsqueeze(1).repeat(1, 2, 1))[0]
    assert torch.allclose(mixed[:, :14], plain[:, :14], atol=1e-6)
    assert torch.allclose(mixed[:, 14:], seed_c[:, 14:], atol=1e-6)
    assert torch.allclose(e.render(mix=0), seed_c, atol=1e-6)


def test_the_course_stylegan_plugs_into_the_explorer():
    stylegan = pytest.importorskip("gancourse.stylegan")
    torch.manual_seed(0)
    g = stylegan.StyleGenerator(z_dim=16, w_dim=16, channels=(16, 16, 8, 8), mapping_depth=2)
    with torch.no_grad():
        g.w_avg.normal_()
    e = LatentExplorer(g, n_samples=64)
    assert e.style and e.num_ws == g.n_layers
    assert torch.equal(e.w_avg, g.w_avg)
    mix = [c for c in e.controls if c.name == "mix"][0]
    assert mix.values == tuple(range(g.n_layers + 1)) and mix.labels[-1] == "off"
    assert not torch.allclose(e.render(mix=0), e.render())
    assert torch.allclose(e.render(psi=0.0, t=0.0), e.render(psi=0.0, t=1.0), atol=1e-6)
    assert len(e.frame_states()) == 1 + 10 + 10 + 3 * 12 + g.n_layers


def test_style_based_generator_without_w_avg_uses_the_mean_of_mapped_codes():
    torch.manual_seed(0)
    e = LatentExplorer(StyleToy(), n_samples=64)
    g = torch.Generator().manual_seed(12345)
    with torch.no_grad():
        expected = e.generator.mapping(torch.randn(64, 6, generator=g)).mean(0)
    assert torch.allclose(e.w_avg, expected, atol=1e-6)


class _NoZDim(nn.Module):
    def forward(self, z):
        return z


class _FlatOutput(nn.Module):
    z_dim = 4

    def forward(self, z):
        return z


class _Broken(nn.Module):
    z_dim = 4

    def forward(self, z):
        raise RuntimeError("boom")


@pytest.mark.parametrize("generator, message", [
    ("not a model", r"needs a torch.nn.Module generator, got str"),
    (_NoZDim(), r"cannot tell the latent size of _NoZDim: give it an int attribute `z_dim`"),
    (_FlatOutput(), r"must return images of shape \(B, 1 or 3, H, W\), got torch.Size\(\[1, 4\]\)"),
    (_Broken(), r"calling _Broken's forward with one code of size 4 failed: RuntimeError: boom"),
])
def test_bad_generators_are_clear_errors(generator, message):
    with pytest.raises(GeneratorProtocolError, match=message):
        LatentExplorer(generator)


def test_bad_control_values_are_clear_errors(dcgan_explorer):
    e = dcgan_explorer
    with pytest.raises(ValueError, match=r"d1 must lie in \[-3.0, 3.0\], got 10"):
        e.set(d1=10)
    with pytest.raises(TypeError, match=r"psi must be a number in \[0.0, 1.0\], got 'high'"):
        e.set(psi="high")
    with pytest.raises(ValueError, match=r"unknown control\(s\) \['zoom'\]; this LatentExplorer has"):
        e.set(zoom=2)
    with pytest.raises(ValueError, match="seeds must be non-negative ints"):
        e.set_seeds(a=-1)
    c = LatentExplorer(models.ConditionalMLPGenerator(), n_directions=1)
    with pytest.raises(ValueError, match=r"label must be one of \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\], got 10"):
        c.set(label=10)
    with pytest.raises(ValueError, match=r"a directions tensor must have shape \(k <= 8, 100\)"):
        LatentExplorer(models.MLPGenerator(), directions=torch.randn(2, 3))
    with pytest.raises(ValueError, match="directions must be 'pca', 'dims'"):
        LatentExplorer(models.MLPGenerator(), directions="ica")
    with pytest.raises(ValueError, match=r"latent coordinates must lie in 0..99"):
        LatentExplorer(models.MLPGenerator(), directions=[100])


def test_set_from_code_and_new_seeds_update_the_widget(dcgan_explorer):
    e = dcgan_explorer
    e.widget
    e.set(t=0.0, d1=0.0)
    first = e._image.value
    e.set_seeds(a=7)
    assert e._seed_boxes[0].value == 7 and e._image.value != first
    e.set_seeds(a=0)
    assert e._image.value == first
    e.set(d2=1.5)
    assert e._controls["d2"].value == 1.5


def test_value_range_follows_the_output_activation():
    assert LatentExplorer(models.KerasStyleGenerator(), n_samples=32).value_range == (0.0, 1.0)
    assert LatentExplorer(models.DCGANGenerator(), n_samples=32).value_range == (-1.0, 1.0)


# ------------------------------------------------------- explorer: static frames
def test_frame_order_matches_the_pages_arithmetic(dcgan_explorer):
    e = dcgan_explorer
    states = e.block_states()
    assert len(states) == 1 + 10 + 10 + 3 * 12
    for i, s in enumerate(states):
        assert e.frame_index(**s) == i
    with pytest.raises(ValueError, match="one control at a time"):
        e.frame_index(t=0.5, d1=1.0)


def test_static_frames_are_the_generators_images(capsys):
    from PIL import Image

    torch.manual_seed(0)
    e = LatentExplorer(models.ConditionalDCGANGenerator(), n_directions=2)
    start = time.perf_counter()
    html = e.html()
    seconds = time.perf_counter() - start
    b64 = re.search(r"base64,([A-Za-z0-9+/=]+)\)", html).group(1)
    sheet = Image.open(io.BytesIO(base64.b64decode(b64)))
    states = e.frame_states()
    cols = 16
    assert sheet.size == (cols * 28, -(-len(states) // cols) * 28)
    for k in (0, 5, len(e.block_states()) + 3, len(states) - 1):   # frames from the first and later classes
        r, c = divmod(k, cols)
        shown = torch.tensor(list(sheet.crop((c * 28, r * 28, c * 28 + 28, r * 28 + 28)).tobytes()))
        expected = Image.open(io.BytesIO(_png(e.render(**states[k]).unsqueeze(0), e.value_range, 1)))
        assert (shown - torch.tensor(list(expected.tobytes()))).abs().max() <= 1, f"frame {k} differs"
    with capsys.disabled():
        print(f"\n[explorer static] ConditionalDCGANGenerator, 2 directions: {len(states)} frames, "
              f"{len(html) / 1024:.0f} KB of HTML, {seconds:.2f} s to build")


def test_static_html_size_of_the_case_study_explorer(capsys):
    torch.manual_seed(0)
    e = LatentExplorer(models.DCGANGenerator(init=False))
    start = time.perf_counter()
    html = e.html()
    seconds = time.perf_counter() - start
    frames = len(e.frame_states())
    with capsys.disabled():
        print(f"\n[explorer static] DCGANGenerator: {frames} frames, {len(html) / 1024:.0f} KB of HTML, "
              f"{seconds:.2f} s to build")
    assert frames == 57 and len(html) < 150_000


def test_static_rendering_can_be_turned_off():
    e = LatentExplorer(models.MLPGenerator(), static=False, n_samples=32)
    assert "base64" not in e.html() and "run this notebook" in e.html()


# --------------------------------------------------------------------- plots
def test_leaky_relu_plot_follows_the_slider():
    p = LeakyReLUPlot(alpha=0.2)
    p.widget
    before = p._plot.value
    p._slider.value = 0.5
    assert p._plot.value != before and "α = 0.50" in p._plot.value
    y, dy = LeakyReLUPlot.curves(0.5, torch.tensor([-2.0, 3.0]))
    assert y.tolist() == [-1.0, 3.0] and dy.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match=r"alpha must lie in \[0.0, 1.0\], got 2"):
        p.set(alpha=2)
    with pytest.raises(ValueError, match="alpha must be one of the slider positions"):
        LeakyReLUPlot(alpha=0.23)


def test_generator_loss_plot_uses_the_library_losses():
    d = torch.tensor([0.1, 0.5, 0.9])
    mm, ns, mm_g, ns_g = GeneratorLossPlot.losses_and_grads(d)
    assert torch.allclose(mm, torch.log(1 - d).double(), atol=1e-6)
    assert torch.allclose(ns, -torch.log(d).double(), atol=1e-6)
    # d/dlogit log(1 - sigmoid(l)) = -D ; d/dlogit -log sigmoid(l) = -(1 - D)
    assert torch.allclose(mm_g, -d.double(), atol=1e-6) and torch.allclose(ns_g, -(1 - d).double(), atol=1e-6)
    p = GeneratorLossPlot()
    p.widget
    p._slider.value = 0.9
    assert "At D(G(z)) = 0.90" in p._plot.value


@pytest.mark.parametrize("make, frames", [(LeakyReLUPlot, 21), (GeneratorLossPlot, 25)])
def test_plot_static_frames(make, frames):
    html = make().html()
    groups = re.findall(r'<g data-frame="(\d+)"( style="display:none")?>', html)
    assert len(groups) == frames and groups[0] == ("0", "")
    assert all(hidden for _, hidden in groups[1:])
    assert sorted(int(i) for i, _ in groups) == list(range(frames))


# -------------------------------------------------------------- book config
def test_sphinx_extension_warns_when_widgets_would_win(caplog):
    pytest.importorskip("myst_nb", reason="the book build's packages (not in the Colab-like run of this file)")
    from types import SimpleNamespace

    from gancourse.interactive import sphinxext

    def app(overrides):
        return SimpleNamespace(builder=SimpleNamespace(format="html", name="html"),
                               config=SimpleNamespace(html_static_path=[], nb_mime_priority_overrides=overrides))

    good = yaml.safe_load(sphinxext.BOOK_CONFIG)["sphinx"]["config"]["nb_mime_priority_overrides"]
    a = app(good)
    with caplog.at_level("WARNING"):
        sphinxext._add_static_path(a)
    assert a.config.html_static_path == [_common.static_dir()] and "prefers" not in caplog.text
    with caplog.at_level("WARNING"):
        sphinxext._add_static_path(app([]))
    assert "prefers application/vnd.jupyter.widget-view+json to text/html" in caplog.text


def test_the_book_config_enables_the_static_rendering():
    """The book's _config.yml must carry gancourse.interactive.sphinxext.BOOK_CONFIG."""
    from pathlib import Path

    from gancourse.interactive.sphinxext import BOOK_CONFIG

    config = yaml.safe_load((Path(__file__).resolve().parent.parent / "_config.yml").read_text("utf-8"))
    need = yaml.safe_load(BOOK_CONFIG)["sphinx"]
    sphinx = config.get("sphinx", {})
    assert "gancourse.interactive.sphinxext" in (sphinx.get("extra_extensions") or [])
    for override in need["config"]["nb_mime_priority_overrides"]:
        assert override in sphinx.get("config", {}).get("nb_mime_priority_overrides", [])
    assert sphinx.get("config", {}).get("nb_ipywidgets_js") == {}


def test_sphinx_extension_writes_each_script_once_and_sets_a_colour_mode():
    """sphinx-thebe's inline settings arrive twice (a second `const` is a SyntaxError in the browser);
    pydata-sphinx-theme logs an error on a first visit without a default colour mode."""
    pytest.importorskip("sphinx", reason="the book build's packages (not in the Colab-like run of this file)")
    from types import SimpleNamespace

    from sphinx.builders.html._assets import _JavaScript

    from gancourse.interactive import sphinxext

    body = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("a.js"), _JavaScript(None, body=body), _JavaScript("a.js", defer="defer"),
               _JavaScript("", body=body), _JavaScript("a.js"), _JavaScript(None, body="let y = 1")]
    context = {"script_files": list(scripts)}
    sphinxext._one_of_each_script(None, "page", "page.html", context, None)
    assert context["script_files"] == [scripts[0], scripts[1], scripts[2], scripts[5]]

    config = SimpleNamespace(html_theme="sphinx_book_theme", html_context={"other": 1})
    sphinxext._default_colour_mode(None, config)
    assert config.html_context == {"default_mode": "auto", "other": 1}
    config = SimpleNamespace(html_theme="sphinx_book_theme", html_context={"default_mode": "dark"})
    sphinxext._default_colour_mode(None, config)
    assert config.html_context == {"default_mode": "dark"}          # a book's own choice stays
    config = SimpleNamespace(html_theme="alabaster", html_context={})
    sphinxext._default_colour_mode(None, config)
    assert config.html_context == {}
