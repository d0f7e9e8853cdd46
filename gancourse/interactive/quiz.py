"""Quizzes: question banks written as YAML data, shown as ipywidgets or as static HTML.

One call shows a chapter's quiz::

    from gancourse.interactive import show_quiz
    show_quiz("activations")

In a kernel the reader gets ipywidgets; in the built book the same questions are
rendered as HTML and graded by ``static/gancourse-interactive.js`` with the same
messages (they are written once, here, and passed to the page as data).
Each question has a *Check* button; feedback is immediate and says why; the reader
may change the answer and check again, and a score counts the questions whose latest
check was right. *Reset quiz* starts over.

Bank schema
-----------
A bank lives in ``gancourse/quizzes/<chapter>.yaml`` (see also
``gancourse/quizzes/README.md``)::

    chapter: activations          # required: the file name without .yaml
    title: Check your understanding   # required
    intro: One optional sentence shown under the title.
    questions:                    # required: a non-empty list
      - id: tanh-scaling          # required: lowercase letters, digits, dashes; unique
        type: multiple_choice     # required: see the types below
        prompt: ...               # required: the question
        explanation: ...          # required: shown with a right answer
        hint: ...                 # optional: shown with a wrong answer when no
                                  #           option-specific feedback applies

Type-specific keys:

``multiple_choice``
    ``options``: two or more entries, each a text or ``{text: ..., feedback: ...}``
    (``feedback`` is shown when that wrong option is chosen); ``answer``: the text of
    the one right option.
``multiple_select``
    ``options`` as above; ``answers``: the texts of every right option (at least one).
    Right means: exactly these options selected.
``true_false``
    ``answer``: ``true`` or ``false``.
``matching``
    ``pairs``: a mapping ``left: right`` with two or more entries and distinct right
    sides; ``distractors`` (optional): extra right-hand choices that match nothing.
    Every left item gets a drop-down of all right-hand choices.
``numeric``
    ``answer``: a number; ``tolerance``: the accepted absolute error (``>= 0``, required,
    so that nobody relies on float equality by accident); ``unit`` (optional): shown
    after the input box. Inputs are decimal numbers such as ``-0.6``, ``.25`` or ``1e-3``.

Text is plain text; `backtick spans` become code. Use Unicode for mathematics (σ, ψ, −).
Banks are validated when loaded; every problem is reported with the file, the question
and the key (:class:`QuizBankError`).
"""
from __future__ import annotations

import hashlib
import html as html_lib
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ._common import DualView, description, esc, inline, json_attr, plain, stable_id

__all__ = ["QUESTION_TYPES", "MESSAGES", "Feedback", "Option", "Question", "Quiz", "QuizAnswerError", "QuizBankError",
           "available_banks", "load_bank", "load_quiz", "parse_bank", "show_quiz"]

QUESTION_TYPES = ("multiple_choice", "multiple_select", "true_false", "matching", "numeric")

# Every message the reader can see, written once: the widgets use them directly and the
# static page receives them as data, so both renderings say the same thing.
MESSAGES = {
    "correct": "Correct.",
    "wrong": "Not quite.",
    "retry": "Try again.",
    "choose_one": "Choose an answer first.",
    "choose_some": "Select at least one option first.",
    "match_all": "Choose a match for every item first.",
    "not_a_number": "Enter a number, such as 0.5 or -2.",
    "too_high": "Your answer is too high.",
    "too_low": "Your answer is too low.",
    "missing": "At least one right option is not selected yet.",
    "matches": "{right} of {total} matches are right.",
    "score": "Score: {correct} / {total}",
    "check": "Check",
    "reset": "Reset quiz",
    "choose": "— choose —",
}
KIND_NOTES = {
    "multiple_choice": "choose one",
    "multiple_select": "select all that apply",
    "true_false": "true or false",
    "matching": "match each item",
    "numeric": "enter a number",
}
# The numbers a reader may type; the page's script uses this very pattern.
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_NUMBER = re.compile(NUMBER_PATTERN)
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_COMMON_KEYS = {"id", "type", "prompt", "explanation", "hint"}
_TYPE_KEYS = {
    "multiple_choice": {"options", "answer"},
    "multiple_select": {"options", "answers"},
    "true_false": {"answer"},
    "matching": {"pairs", "distractors"},
    "numeric": {"answer", "tolerance", "unit"},
}
_BANK_KEYS = {"chapter", "title", "intro", "questions"}


class QuizBankError(ValueError):
    """A question bank does not follow the schema (the message names file, question and key)."""


class QuizAnswerError(ValueError):
    """An answer given from code does not fit its question (wrong kind, or not a choice)."""


@dataclass(frozen=True)
class Option:
    text: str
    feedback: str = ""


@dataclass(frozen=True)
class Question:
    """One validated question. ``answer`` depends on the type: the index of the right
    option (multiple_choice), a sorted tuple of indices (multiple_select), a bool
    (true_false), a float (numeric); for matching the pairs hold the answer."""

    id: str
    type: str
    prompt: str
    explanation: str
    hint: str = ""
    options: tuple = ()          # Option, for multiple_choice / multiple_select
    answer: Any = None
    tolerance: float = 0.0
    unit: str = ""
    pairs: tuple = ()            # (left, right), for matching
    choices: tuple = ()          # right-hand choices in display order, for matching

    @property
    def kind_note(self) -> str:
        return KIND_NOTES[self.type]


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer.

    ``status`` is ``"correct"``, ``"wrong"`` or ``"invalid"`` (no usable answer: it is
    not counted as an attempt). ``parts`` are the sentences shown after the verdict;
    ``explanation`` is shown with a right answer; ``marks`` holds, for matching, whether
    each left item is matched right.
    """

    status: str
    parts: tuple = ()
    explanation: str = ""
    marks: tuple = ()

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    @property
    def message(self) -> str:
        """The feedback as one line of plain text (what the page shows, without markup)."""
        verdict = {"correct": "✓ " + MESSAGES["correct"], "wrong": "✗ " + MESSAGES["wrong"]}
        words = [verdict[self.status]] if self.status in verdict else []
        words += list(self.parts)
        if self.correct and self.explanation:
            words.append(self.explanation)
        return plain(" ".join(words))

    def html(self) -> str:
        """The feedback as HTML; ``static/gancourse-interactive.js`` builds the same."""
        if self.status == "invalid":
            return f'<p class="gc-verdict gc-invalid">{" ".join(inline(p) for p in self.parts)}</p>'
        icon, word = ("✓", MESSAGES["correct"]) if self.correct else ("✗", MESSAGES["wrong"])
        body = "".join(" " + inline(p) for p in self.parts)
        out = f'<p class="gc-verdict gc-{self.status}"><strong>{icon} {esc(word)}</strong>{body}</p>'
        if self.correct and self.explanation:
            out += f'<p class="gc-explanation">{inline(self.explanation)}</p>'
        return out


# --------------------------------------------------------------------------- loading
def _fail(where: str, problem: str) -> QuizBankError:
    return QuizBankError(f"{where}: {problem}")


def _text(value, where: str, key: str, required: bool = True) -> str:
    if value is None:
        if required:
            raise _fail(where, f"missing {key!r} (a non-empty text)")
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key!r} must be a non-empty text, got {value!r}")
    return value.strip()


def _number(value, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"{key!r} must be a finite number, got {value!r}")
    return float(value)


def _options(raw, where: str) -> tuple:
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(where, f"'options' must be a list of at least two options, got {raw!r}")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}, option {i + 1}"
        if isinstance(item, dict):
            extra = set(item) - {"text", "feedback"}
            if extra:
                raise _fail(at, f"unknown key(s) {sorted(extra)}; an option has 'text' and 'feedback'")
            out.append(Option(_text(item.get("text"), at, "text"),
                              _text(item.get("feedback"), at, "feedback", required=False)))
        else:
            out.append(Option(_text(item, at, "text")))
    texts = [o.text for o in out]
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    if dupes:
        raise _fail(where, f"options repeat: {dupes}")
    return tuple(out)


def _index_of(text, options: tuple, where: str, key: str) -> int:
    texts = [o.text for o in options]
    if not isinstance(text, str) or text.strip() not in texts:
        raise _fail(where, f"{key} {text!r} is not among the options {texts}")
    return texts.index(text.strip())


def _shuffled(items, salt: str) -> tuple:
    """A fixed, content-derived order (so the right matches are not simply in order)."""
    return tuple(sorted(items, key=lambda s: hashlib.sha1((salt + "\0" + s).encode()).hexdigest()))


def _question(raw, where: str) -> Question:
    if not isinstance(raw, dict):
        raise _fail(where, f"a question must be a mapping, got {type(raw).__name__}")
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise _fail(where, f"'id' must be lowercase letters, digits and dashes (e.g. 'tanh-range'), got {qid!r}")
    where = f"{where} ({qid!r})"
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise _fail(where, f"unknown type {qtype!r}; valid types: {', '.join(QUESTION_TYPES)}")
    allowed = _COMMON_KEYS | _TYPE_KEYS[qtype]
    extra = set(raw) - allowed
    if extra:
        raise _fail(where, f"unknown key(s) {sorted(extra)} for a {qtype} question; allowed: {sorted(allowed)}")
    common = dict(id=qid, type=qtype, prompt=_text(raw.get("prompt"), where, "prompt"),
                  explanation=_text(raw.get("explanation"), where, "explanation"),
                  hint=_text(raw.get("hint"), where, "hint", required=False))
    if qtype == "multiple_choice":
        options = _options(raw.get("options"), where)
        if "answer" not in raw:
            raise _fail(where, "missing 'answer' (the text of the right option)")
        return Question(**common, options=options, answer=_index_of(raw["answer"], options, where, "answer"))
    if qtype == "multiple_select":
        options = _options(raw.get("options"), where)
        answers = raw.get("answers")
        if not isinstance(answers, list) or not answers:
            raise _fail(where, f"'answers' must be a non-empty list of option texts, got {answers!r}")
        idx = sorted({_index_of(a, options, where, "answer") for a in answers})
        return Question(**common, options=options, answer=tuple(idx))
    if qtype == "true_false":
        if not isinstance(raw.get("answer"), bool):
            raise _fail(where, f"'answer' must be true or false, got {raw.get('answer')!r}")
        return Question(**common, answer=raw["answer"])
    if qtype == "matching":
        pairs = raw.get("pairs")
        if not isinstance(pairs, dict) or len(pairs) < 2:
            raise _fail(where, f"'pairs' must be a mapping of at least two 'left: right' entries, got {pairs!r}")
        items = [(_text(k, where, "pairs (left side)"), _text(v, where, f"pairs[{k!r}]"))
                 for k, v in pairs.items()]
        rights = [r for _, r in items]
        distractors = raw.get("distractors", []) or []
        if not isinstance(distractors, list):
            raise _fail(where, f"'distractors' must be a list of texts, got {distractors!r}")
        distractors = [_text(d, where, "distractors") for d in distractors]
        everything = rights + distractors
        dupes = sorted({r for r in everything if everything.count(r) > 1})
        if dupes:
            raise _fail(where, f"right-hand choices must be distinct; repeated: {dupes}")
        return Question(**common, pairs=tuple(items), choices=_shuffled(everything, qid))
    # numeric
    if "answer" not in raw:
        raise _fail(where, "missing 'answer' (a number)")
    if "tolerance" not in raw:
        raise _fail(where, "missing 'tolerance' (the accepted absolute error, e.g. 0.01)")
    tol = _number(raw["tolerance"], where, "tolerance")
    if tol < 0:
        raise _fail(where, f"'tolerance' must be >= 0, got {tol!r}")
    return Question(**common, answer=_number(raw["answer"], where, "answer"), tolerance=tol,
                    unit=_text(raw.get("unit"), where, "unit", required=False))


@dataclass(frozen=True)
class Bank:
    chapter: str
    title: str
    questions: tuple
    intro: str = ""
    source: str = ""

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(f"no question {qid!r} in the {self.chapter!r} bank; its ids: "
                       f"{[q.id for q in self.questions]}")


def parse_bank(data, source: str = "<bank>", chapter: str | None = None) -> Bank:
    """Validate parsed YAML ``data`` and return a :class:`Bank`; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise _fail(source, f"a bank must be a mapping with {sorted(_BANK_KEYS)}, got {type(data).__name__}")
    extra = set(data) - _BANK_KEYS
    if extra:
        raise _fail(source, f"unknown top-level key(s) {sorted(extra)}; allowed: {sorted(_BANK_KEYS)}")
    name = _text(data.get("chapter"), source, "chapter")
    if chapter is not None and name != chapter:
        raise _fail(source, f"'chapter' is {name!r} but the file is named {chapter!r}.yaml")
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        raise _fail(source, "'questions' must be a non-empty list")
    parsed = tuple(_question(q, f"{source}, question {i + 1}") for i, q in enumerate(questions))
    ids = [q.id for q in parsed]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _fail(source, f"question ids repeat: {dupes}")
    return Bank(name, _text(data.get("title"), source, "title"), parsed,
                _text(data.get("intro"), source, "intro", required=False), source)


def _bank_files() -> dict:
    folder = resources.files("gancourse").joinpath("quizzes")
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".yaml")}


def available_banks() -> list[str]:
    """The chapter names that have a bank in ``gancourse/quizzes``."""
    return sorted(_bank_files())


def load_bank(name_or_path) -> Bank:
    """Load and validate a bank: a chapter name (``"activations"``) or a path to a YAML file."""
    import yaml

    if isinstance(name_or_path, Path) or (isinstance(name_or_path, str) and name_or_path.endswith((".yaml", ".yml"))):
        path = Path(name_or_path)
        if not path.is_file():
            raise QuizBankError(f"no quiz bank file at {str(path)!r}")
        text, source, chapter = path.read_text("utf-8"), str(path), path.stem
    elif isinstance(name_or_path, str):
        files = _bank_files()
        if name_or_path not in files:
            raise QuizBankError(f"no quiz bank named {name_or_path!r}; available: {', '.join(sorted(files)) or 'none'} "
                                f"(banks live in gancourse/quizzes/<chapter>.yaml)")
        text, source, chapter = files[name_or_path].read_text("utf-8"), f"{name_or_path}.yaml", name_or_path
    else:
        raise TypeError(f"load_bank takes a chapter name or a path, got {type(name_or_path).__name__}")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise QuizBankError(f"{source}: not valid YAML: {err}") from None
    return parse_bank(data, source, chapter)


# --------------------------------------------------------------------------- grading
def _normalise(q: Question, answer):
    """Turn a user-supplied answer into the canonical form used by :func:`grade`.

    multiple_choice: option index or None; multiple_select: sorted tuple of indices;
    true_false: bool or None; matching: tuple of choice texts (or None) per pair;
    numeric: the text typed (numbers are turned into text).
    """
    texts = [o.text for o in q.options]
    bad = QuizAnswerError

    def idx(a):
        if isinstance(a, bool):
            raise bad(f"question {q.id!r}: answer with an option text or index, got {a!r}")
        if isinstance(a, int) and 0 <= a < len(texts):
            return a
        if isinstance(a, str) and a in texts:
            return texts.index(a)
        raise bad(f"question {q.id!r}: {a!r} is neither one of the options {texts} nor an index 0..{len(texts) - 1}")

    if q.type == "multiple_choice":
        return None if answer is None else idx(answer)
    if q.type == "multiple_select":
        if answer is None:
            return ()
        if isinstance(answer, (str, int)):
            raise bad(f"question {q.id!r} takes several answers: give a list of option texts or indices, got {answer!r}")
        return tuple(sorted({idx(a) for a in answer}))
    if q.type == "true_false":
        if answer is not None and not isinstance(answer, bool):
            raise bad(f"question {q.id!r} is true/false: answer True or False, got {answer!r}")
        return answer
    if q.type == "matching":
        lefts = [left for left, _ in q.pairs]
        if answer is None:
            return (None,) * len(lefts)
        if not isinstance(answer, dict):
            raise bad(f"question {q.id!r} is a matching question: answer with a dict {{left: right}}, got {answer!r}")
        unknown = set(answer) - set(lefts)
        if unknown:
            raise bad(f"question {q.id!r}: {sorted(unknown)} are not items to match; the items are {lefts}")
        out = []
        for left in lefts:
            choice = answer.get(left)
            if choice is not None and choice not in q.choices:
                raise bad(f"question {q.id!r}: {choice!r} is not one of the choices {list(q.choices)}")
            out.append(choice)
        return tuple(out)
    # numeric
    if answer is None:
        return ""
    if isinstance(answer, bool) or not isinstance(answer, (int, float, str)):
        raise bad(f"question {q.id!r} takes a number, got {answer!r}")
    return answer if isinstance(answer, str) else repr(float(answer))


def grade(q: Question, answer) -> Feedback:
    """Grade one answer (any form :func:`_normalise` accepts). Pure: no widget involved."""
    a = _normalise(q, answer)
    hint_or_retry = (q.hint,) if q.hint else (MESSAGES["retry"],)
    if q.type == "multiple_choice":
        if a is None:
            return Feedback("invalid", (MESSAGES["choose_one"],))
        if a == q.answer:
            return Feedback("correct", (), q.explanation)
        fb = q.options[a].feedback
        return Feedback("wrong", (fb,) if fb else hint_or_retry)
    if q.type == "multiple_select":
        if not a:
            return Feedback("invalid", (MESSAGES["choose_some"],))
        if a == q.answer:
            return Feedback("correct", (), q.explanation)
        parts = [q.options[i].feedback for i in a if i not in q.answer and q.options[i].feedback]
        if set(q.answer) - set(a):
            parts.append(MESSAGES["missing"])
        return Feedback("wrong", tuple(parts) if parts else hint_or_retry)
    if q.type == "true_false":
        if a is None:
            return Feedback("invalid", (MESSAGES["choose_one"],))
        return Feedback("correct", (), q.explanation) if a == q.answer else Feedback("wrong", hint_or_retry)
    if q.type == "matching":
        if any(c is None for c in a):
            return Feedback("invalid", (MESSAGES["match_all"],))
        marks = tuple(c == right for c, (_, right) in zip(a, q.pairs))
        if all(marks):
            return Feedback("correct", (), q.explanation, marks)
        count = MESSAGES["matches"].format(right=sum(marks), total=len(marks))
        return Feedback("wrong", (count,) + ((q.hint,) if q.hint else ()), "", marks)
    # numeric
    typed = a.strip().replace("\u2212", "-")
    if not _NUMBER.match(typed):
        return Feedback("invalid", (MESSAGES["not_a_number"],))
    x = float(typed)
    if abs(x - q.answer) <= q.tolerance * (1 + 1e-9) + 1e-12:
        return Feedback("correct", (), q.explanation)
    side = MESSAGES["too_high"] if x > q.answer else MESSAGES["too_low"]
    return Feedback("wrong", (side,) + ((q.hint,) if q.hint else ()))


# ------------------------------------------------------------------------------ quiz
@dataclass
class _Row:
    """The widgets of one question."""

    box: Any
    controls: list
    feedback: Any
    marks: list = field(default_factory=list)


class Quiz(DualView):
    """A chapter's quiz: ipywidgets in a kernel, HTML + the book's script in the book.

    Drive it from code (tests, or to show a worked answer)::

        quiz = load_quiz("activations")
        quiz.answer("tanh-scaling", "[−1, 1]")   # an option's text (or its index)
        quiz.check("tanh-scaling").message   # what the Check button shows
        quiz.score                            # (right, total)
    """

    def __init__(self, bank: Bank):
        if not isinstance(bank, Bank):
            raise TypeError(f"Quiz takes a Bank (see load_bank), got {type(bank).__name__}")
        self.bank = bank
        self.questions = bank.questions
        self.results: dict[str, bool] = {}
        self._entering = False
        self.dom_id = stable_id("quiz", repr(bank))

    # ------------------------------------------------------------------ logic
    def grade(self, qid: str, answer) -> Feedback:
        """Grade ``answer`` to question ``qid`` without touching the widgets or the score."""
        return grade(self.bank.question(qid), answer)

    @property
    def score(self) -> tuple[int, int]:
        """(questions whose latest check was right, number of questions)."""
        return sum(self.results.values()), len(self.questions)

    def score_text(self) -> str:
        right, total = self.score
        return MESSAGES["score"].format(correct=right, total=total)

    # ---------------------------------------------------------------- widgets
    def build_widget(self):
        import ipywidgets as w

        self._rows: dict[str, _Row] = {}
        children = [w.HTML(f"<h4 style='margin:0.2em 0'>{inline(self.bank.title)}</h4>"
                           + (f"<p>{inline(self.bank.intro)}</p>" if self.bank.intro else ""))]
        for n, q in enumerate(self.questions, 1):
            row = self._build_row(w, n, q)
            self._rows[q.id] = row
            children.append(row.box)
        self._score_label = w.HTML(self._score_html())
        reset = w.Button(description=MESSAGES["reset"], tooltip="Clear every answer and the score",
                         layout=w.Layout(margin="0 0 0 1em"))
        reset.on_click(lambda _b: self.reset())
        children.append(w.HBox([self._score_label, reset], layout=w.Layout(align_items="center")))
        return w.VBox(children, layout=w.Layout(border="1px solid #ccc", padding="0.5em 1em", margin="0.5em 0"))

    def _score_html(self) -> str:
        return f'<span role="status" aria-live="polite"><strong>{esc(self.score_text())}</strong></span>'

    def _build_row(self, w, n: int, q: Question) -> _Row:
        prompt = w.HTML(f"<p style='margin:0.3em 0'><strong>{n}.</strong> {inline(q.prompt)} "
                        f"<em>({q.kind_note})</em></p>")
        wide = {"description_width": "initial"}
        marks: list = []
        if q.type == "multiple_choice":
            # Widget labels are plain text: `code` spans lose their backticks (plain()).
            controls = [w.RadioButtons(options=[(plain(o.text), i) for i, o in enumerate(q.options)], value=None,
                                       layout=w.Layout(width="auto"))]
            body = controls[0]
        elif q.type == "true_false":
            controls = [w.RadioButtons(options=[("True", True), ("False", False)], value=None)]
            body = controls[0]
        elif q.type == "multiple_select":
            controls = [w.Checkbox(value=False, description=description(plain(o.text)), indent=False,
                                   layout=w.Layout(width="auto")) for o in q.options]
            body = w.VBox(controls)
        elif q.type == "matching":
            # The placeholder's value is "" (None would show an empty box instead of "— choose —").
            controls = [w.Dropdown(options=[(MESSAGES["choose"], "")] + [(plain(c), c) for c in q.choices], value="",
                                   description=description(plain(left)), style=wide, layout=w.Layout(width="auto"))
                        for left, _ in q.pairs]
            marks = [w.HTML("") for _ in q.pairs]
            body = w.VBox([w.HBox([c, m]) for c, m in zip(controls, marks)])
        else:
            label = "Your answer" + (f" ({q.unit})" if q.unit else "")
            controls = [w.Text(value="", placeholder="a number", description=description(label), style=wide,
                               continuous_update=False)]
            # continuous_update=False: the value arrives on Enter (or on leaving the box), and is checked then.
            controls[0].observe(lambda _ch, qid=q.id: None if self._entering else self.check(qid), "value")
            body = controls[0]
        check = w.Button(description=MESSAGES["check"], tooltip=f"Check your answer to question {n}")
        check.on_click(lambda _b, qid=q.id: self.check(qid))
        feedback = w.HTML("")
        box = w.VBox([prompt, body, check, feedback], layout=w.Layout(margin="0 0 0.8em 0"))
        return _Row(box, controls, feedback, marks)

    def _row(self, qid: str) -> _Row:
        self.bank.question(qid)  # a clear KeyError for an unknown id
        self.widget  # noqa: B018 - builds the widgets on first use
        return self._rows[qid]

    def _read(self, q: Question):
        """The answer currently entered in the widgets, in canonical form."""
        c = self._rows[q.id].controls
        if q.type in ("multiple_choice", "true_false"):
            return c[0].value
        if q.type == "multiple_select":
            return [i for i, box in enumerate(c) if box.value]
        if q.type == "matching":
            return {left: d.value for (left, _), d in zip(q.pairs, c) if d.value}
        return c[0].value

    def answer(self, qid: str, answer) -> None:
        """Enter ``answer`` in the widgets of question ``qid`` (as a reader would), without checking it."""
        q = self.bank.question(qid)
        a = _normalise(q, answer)
        c = self._row(qid).controls
        self._entering = True
        try:
            if q.type in ("multiple_choice", "true_false"):
                c[0].value = a
            elif q.type == "multiple_select":
                for i, box in enumerate(c):
                    box.value = i in a
            elif q.type == "matching":
                for d, choice in zip(c, a):
                    d.value = choice or ""
            else:
                c[0].value = a
        finally:
            self._entering = False

    def check(self, qid: str) -> Feedback:
        """Grade what is entered for ``qid``, show the feedback and update the score (the Check button)."""
        q = self.bank.question(qid)
        row = self._row(qid)
        fb = grade(q, self._read(q))
        if fb.status != "invalid":
            self.results[qid] = fb.correct
        style = {"correct": "#e6f4ea", "wrong": "#fdecea", "invalid": "#fff8e1"}[fb.status]
        row.feedback.value = (f'<div role="status" aria-live="polite" style="background:{style};'
                              f'padding:0.2em 0.7em;border-radius:4px;color:#111">{fb.html()}</div>')
        for mark, ok in zip(row.marks, fb.marks):
            mark.value = ('<span style="color:#1a7f37">✓ right</span>' if ok
                          else '<span style="color:#b42318">✗ wrong</span>')
        self._score_label.value = self._score_html()
        return fb

    def reset(self) -> None:
        """Clear every answer, every feedback and the score."""
        self.results.clear()
        if self._widget is None:
            return
        self._entering = True
        try:
            for q in self.questions:
                row = self._rows[q.id]
                for c in row.controls:
                    c.value = {"multiple_select": False, "numeric": "", "matching": ""}.get(q.type)
                row.feedback.value = ""
                for m in row.marks:
                    m.value = ""
        finally:
            self._entering = False
        self._score_label.value = self._score_html()

    def feedback_text(self, qid: str) -> str:
        """The feedback currently shown for ``qid``, as plain text (for tests)."""
        raw = re.sub(r"<[^>]+>", " ", self._row(qid).feedback.value)
        return re.sub(r"\s+", " ", html_lib.unescape(raw)).strip()

    # ----------------------------------------------------------------- static
    def page_data(self) -> dict:
        """Everything the page's script needs to grade, as JSON-able data."""
        qs = []
        for q in self.questions:
            d = {"id": q.id, "type": q.type, "explanation": q.explanation, "hint": q.hint}
            if q.type in ("multiple_choice", "multiple_select"):
                d["feedback"] = [o.feedback for o in q.options]
                d["answer"] = q.answer if q.type == "multiple_choice" else list(q.answer)
            elif q.type == "true_false":
                d["answer"] = q.answer
            elif q.type == "matching":
                d["answer"] = [right for _, right in q.pairs]
            else:
                d["answer"], d["tolerance"] = q.answer, q.tolerance
            qs.append(d)
        return {"messages": MESSAGES, "number_pattern": NUMBER_PATTERN, "questions": qs}

    def html(self) -> str:
        qid = self.dom_id
        out = [f'<div class="gc-quiz" id="{qid}" data-gancourse-quiz="{json_attr(self.page_data())}">',
               f'<p class="gc-quiz-title">{inline(self.bank.title)}</p>']
        if self.bank.intro:
            out.append(f'<p class="gc-quiz-intro">{inline(self.bank.intro)}</p>')
        for n, q in enumerate(self.questions, 1):
            out.append(self._question_html(f"{qid}-{n}", n, q))
        out.append(f'<div class="gc-quiz-footer"><span class="gc-score" role="status" aria-live="polite">'
                   f'{esc(self.score_text())}</span> <button type="button" class="gc-reset">'
                   f'{esc(MESSAGES["reset"])}</button></div></div>')
        return "\n".join(out)

    def _question_html(self, base: str, n: int, q: Question) -> str:
        legend = (f'<legend><span class="gc-q-num">{n}.</span> {inline(q.prompt)} '
                  f'<span class="gc-q-kind">({q.kind_note})</span></legend>')
        rows = []
        if q.type in ("multiple_choice", "true_false", "multiple_select"):
            kind = "checkbox" if q.type == "multiple_select" else "radio"
            labels = [o.text for o in q.options] if q.options else ["True", "False"]
            values = range(len(labels)) if q.options else ["true", "false"]
            for i, (label, value) in enumerate(zip(labels, values)):
                rows.append(f'<div class="gc-option"><input type="{kind}" name="{base}" id="{base}-{i}" '
                            f'value="{value}"><label for="{base}-{i}">{inline(label)}</label></div>')
        elif q.type == "matching":
            options = f'<option value="">{esc(MESSAGES["choose"])}</option>' + "".join(
                f'<option value="{esc(c)}">{esc(plain(c))}</option>' for c in q.choices)
            for i, (left, _) in enumerate(q.pairs):
                rows.append(f'<div class="gc-match-row"><label for="{base}-{i}">{inline(left)}</label>'
                            f'<select id="{base}-{i}">{options}</select><span class="gc-mark"></span></div>')
        else:
            unit = f' <span class="gc-unit">{inline(q.unit)}</span>' if q.unit else ""
            rows.append(f'<div class="gc-numeric"><label for="{base}-0">Your answer</label> '
                        f'<input type="text" inputmode="decimal" id="{base}-0" autocomplete="off" '
                        f'placeholder="a number">{unit}</div>')
        answer = _answer_text(q)
        return (f'<div class="gc-q" data-qid="{esc(q.id)}" id="{base}"><fieldset>{legend}{"".join(rows)}</fieldset>'
                f'<button type="button" class="gc-check" aria-label="Check your answer to question {n}">'
                f'{esc(MESSAGES["check"])}</button>'
                f'<div class="gc-feedback" role="status" aria-live="polite"></div>'
                f'<details class="gc-nojs"><summary>Answer</summary><p>{inline(answer)}</p>'
                f'<p>{inline(q.explanation)}</p></details></div>')

    def text(self) -> str:
        lines = [f"Quiz: {self.bank.title} ({len(self.questions)} questions)"]
        for n, q in enumerate(self.questions, 1):
            lines.append(f"{n}. {q.prompt} ({q.kind_note})")
            if q.options:
                lines += [f"   - {o.text}" for o in q.options]
            elif q.type == "matching":
                lines += [f"   - {left}" for left, _ in q.pairs]
                lines.append(f"   choices: {'; '.join(q.choices)}")
        return "\n".join(lines)


def _answer_text(q: Question) -> str:
    """The right answer in words (shown in the no-script fallback of the static page)."""
    if q.type == "multiple_choice":
        return q.options[q.answer].text
    if q.type == "multiple_select":
        return "; ".join(q.options[i].text for i in q.answer)
    if q.type == "true_false":
        return "True" if q.answer else "False"
    if q.type == "matching":
        return "; ".join(f"{left} → {right}" for left, right in q.pairs)
    unit = f" {q.unit}" if q.unit else ""
    return f"{q.answer:g}{unit} (± {q.tolerance:g})"


def load_quiz(name_or_path) -> Quiz:
    """The :class:`Quiz` for a chapter name or a bank file, without displaying it."""
    return Quiz(load_bank(name_or_path))


def show_quiz(name_or_path) -> None:
    """Display a chapter's quiz: ``show_quiz("activations")``. Returns nothing (so it shows once)."""
    from IPython.display import display

    display(load_quiz(name_or_path))
