"""The question bank: quizzes/<topic>.toml loaded, validated and linted in one place."""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.course import ROOT
from grader.quiz import variants
from grader.quiz.variants import Param, Values, VariantError

if TYPE_CHECKING:
    from grader.course import Course

QUIZ_DIR = ROOT / "quizzes"  # beside course.toml, in a checkout or in a built wheel's data
LEVELS = ("easy", "medium", "hard")
OPTION_KEYS = ("a", "b", "c", "d")
VERSION_LENGTH = 16
# A key that is the longest option and this many times the distractors' mean length gives itself away.
GIVEAWAY_RATIO = 1.5
_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class BankError(Exception):
    """A quiz file is unreadable or a question in it is malformed."""


@dataclass(frozen=True)
class Option:
    key: str
    text: str
    correct: bool
    misconception: str | None


@dataclass(frozen=True)
class Proof:
    """A program whose printed output settles a question's key: it must print the outcome
    listed for the correct option, and that outcome must be no other option's."""

    code: str
    source: str  # the file it was read from, or "inline"
    outcomes: tuple[tuple[str, str], ...]  # (option key, what the program prints if it is right)
    needs: tuple[str, ...] = ()  # services it needs, such as "postgres"; missing means a skip

    def outcome(self, key: str) -> str | None:
        return dict(self.outcomes).get(key)


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    difficulty: str
    stem: str
    code: str | None
    options: tuple[Option, ...]
    solution: tuple[str, ...]
    final_answer: str
    quick_check: str
    hint: str
    steps: tuple[str, ...]
    params: tuple[Param, ...] = ()  # a variant question's parameters (variants.py)
    where: str | None = None  # the rule every drawn parameter set satisfies
    proof: Proof | None = None  # never shown to a student, so not part of to_json or version

    @property
    def is_variant(self) -> bool:
        return bool(self.params)

    def draw(self, rng: random.Random) -> Values | None:
        """A parameter set for a new attempt; None for a question without parameters."""
        return variants.draw(self.params, self.where, rng) if self.params else None

    def all_values(self) -> list[Values]:
        return variants.all_values(self.params, self.where) if self.params else []

    def render(self, values: Values | None) -> Question:
        """The question as a student sees it with these parameters: every text rendered, the
        same id, options and key. A question without parameters is returned as it is;
        VariantError if `values` do not fit the question."""
        if not self.params:
            return self
        if values is None or set(values) != {p.name for p in self.params}:
            raise VariantError(f"Question {self.id!r} needs parameters for {self.param_names}.")

        def text(value: str) -> str:
            return variants.render_text(value, values)

        options = tuple(
            replace(o, text=text(o.text), misconception=o.misconception and text(o.misconception))
            for o in self.options
        )
        proof = self.proof and replace(
            self.proof, code=text(self.proof.code),
            outcomes=tuple((key, text(outcome)) for key, outcome in self.proof.outcomes),
        )  # fmt: skip
        return replace(
            self, stem=text(self.stem), code=self.code and text(self.code), options=options,
            solution=tuple(text(s) for s in self.solution), final_answer=text(self.final_answer),
            quick_check=text(self.quick_check), hint=text(self.hint), params=(), where=None,
            proof=proof,
        )  # fmt: skip

    def render_stored(self, params: str | None) -> Question:
        """The question with parameters as an attempt stored them (JSON); a variant question
        served before it had parameters shows its first variant."""
        if not self.params:
            return self
        values = variants.loads(params) if params else variants.first(self.params, self.where)
        return self.render(values)

    def fits(self, params: str | None) -> bool:
        """Whether parameters stored for another version of this question render this one."""
        try:
            self.render_stored(params)
        except (VariantError, ValueError):
            return False
        return True

    @property
    def param_names(self) -> str:
        return ", ".join(p.name for p in self.params)

    @property
    def answer(self) -> Option:
        """The first correct option; lint_bank reports a question without exactly one."""
        for option in self.options:
            if option.correct:
                return option
        raise ValueError(f"Question {self.id!r} has no correct option.")

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(f"Question {self.id!r} has no option {key!r}.")

    def to_json(self) -> str:
        """What a student is shown and graded on (the proof is the author's, and stays out;
        a plain question has no params, as before variants, so it keeps its version)."""
        data = asdict(self)
        del data["proof"]
        if not self.params:
            del data["params"], data["where"]
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @cached_property
    def version(self) -> str:
        """A hash of everything the question says: any change to the bank makes a new one."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:VERSION_LENGTH]

    @classmethod
    def from_json(cls, text: str) -> Question:
        raw = json.loads(text)
        options = tuple(Option(**option) for option in raw.pop("options"))
        raw["solution"], raw["steps"] = tuple(raw["solution"]), tuple(raw["steps"])
        params = tuple(
            Param(p["name"], tuple(p["choices"]), p["low"], p["high"])
            for p in raw.pop("params", [])
        )
        return cls(**raw, options=options, params=params)


@dataclass(frozen=True)
class Bank:
    questions: tuple[Question, ...]
    titles: dict[str, str] = field(default_factory=dict, compare=False)  # topic -> its title

    def title(self, topic: str) -> str:
        """The topic's title from its file ("CRUD over HTTP"), else one made from its name."""
        return self.titles.get(topic) or topic.replace("-", " ").capitalize()

    @cached_property
    def _by_id(self) -> dict[str, Question]:
        """The first question of each id (lint_bank reports repeated ids)."""
        by_id: dict[str, Question] = {}
        for question in self.questions:
            by_id.setdefault(question.id, question)
        return by_id

    def get(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"There is no question {question_id!r} in the bank.") from None

    def topics(self) -> list[str]:
        return sorted({q.topic for q in self.questions})

    def select(
        self,
        *,
        topic: str | None = None,
        level: str | None = None,
        count: int | None = None,
        rng: random.Random | None = None,
    ) -> list[Question]:
        """Questions of a topic and level; in bank order, or shuffled when an rng is given."""
        if topic is not None and topic not in self.topics():
            raise ValueError(
                f"There is no topic {topic!r}: choose from {', '.join(self.topics())}."
            )
        if level is not None and level not in LEVELS:
            raise ValueError(f"There is no level {level!r}: choose from {', '.join(LEVELS)}.")
        chosen = [
            q
            for q in self.questions
            if (topic is None or q.topic == topic) and (level is None or q.difficulty == level)
        ]
        if rng is not None:
            rng.shuffle(chosen)
        return chosen if count is None else chosen[:count]

    @cached_property
    def _by_level(self) -> dict[str, list[Question]]:
        return {level: [q for q in self.questions if q.difficulty == level] for level in LEVELS}

    def self_check(self, count: int = 10, rng: random.Random | None = None) -> list[Question]:
        """A random quiz of `count` questions, spread evenly over the levels, easiest first."""
        rng = rng or random.Random()
        wanted = {level: count // len(LEVELS) for level in LEVELS}
        for level in LEVELS[: count % len(LEVELS)]:
            wanted[level] += 1
        picked = {
            level: rng.sample(pool, min(wanted[level], len(pool)))
            for level, pool in self._by_level.items()
        }
        short = count - sum(len(p) for p in picked.values())
        if short > 0:  # a level ran short: the rest comes from the other levels' leftovers
            spare = [q for level in LEVELS for q in self._by_level[level] if q not in picked[level]]
            for question in rng.sample(spare, min(short, len(spare))):
                picked[question.difficulty].append(question)
        return [q for level in LEVELS for q in picked[level]]


def _field(raw: dict[str, Any], name: str, kind: type, where: str, optional: bool = False) -> Any:
    value = raw.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind):
        got = "nothing" if value is None else type(value).__name__
        raise BankError(f"{where}: {name!r} must be a {kind.__name__}, got {got}.")
    return value


def _strings(raw: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = _field(raw, name, list, where)
    if not all(isinstance(item, str) for item in value):
        raise BankError(f"{where}: {name!r} must be a list of strings.")
    return tuple(value)


def _option(raw: Any, where: str) -> Option:
    if not isinstance(raw, dict):
        raise BankError(f"{where}: each option must be a [[questions.options]] table.")
    key = _field(raw, "key", str, where)
    if key not in OPTION_KEYS:
        raise BankError(f"{where}: option key {key!r} must be one of {', '.join(OPTION_KEYS)}.")
    where = f"{where}, option {key}"
    return Option(
        key=key,
        text=_field(raw, "text", str, where),
        correct=_field(raw, "correct", bool, where),
        misconception=_field(raw, "misconception", str, where, optional=True),
    )


_KEYS = {"id", "topic", "difficulty", "stem", "code", "options", "solution",
         "final_answer", "quick_check", "hint", "steps", "params", "proof"}  # fmt: skip
PROOF_NEEDS = ("postgres", "pg_dump")  # a server, and PostgreSQL's client tool
PROOF_DIR = "proofs"  # beside the quiz files; a proof's `file` is named relative to them


def _proof(raw: Any, where: str, folder: Path) -> Proof | None:
    if raw is None:
        return None
    where = f"{where}, proof"
    if not isinstance(raw, dict):
        raise BankError(f"{where}: must be a [questions.proof] table.")
    unknown = sorted(set(raw) - {"code", "file", "outcomes", "needs"})
    if unknown:
        raise BankError(f"{where}: unknown field(s) {', '.join(unknown)}.")
    code = _field(raw, "code", str, where, optional=True)
    file = _field(raw, "file", str, where, optional=True)
    if (code is None) == (file is None):
        raise BankError(f"{where}: give exactly one of 'code' and 'file'.")
    source = "inline"
    if file is not None:
        path = folder / file
        if path.parent.resolve() != (folder / PROOF_DIR).resolve() or path.suffix != ".py":
            raise BankError(f"{where}: file {file!r} must be a .py file in {PROOF_DIR}/.")
        try:
            code, source = path.read_text(encoding="utf-8"), file
        except (OSError, UnicodeDecodeError) as exc:
            raise BankError(f"{where}: cannot read {file}: {exc}") from exc
    outcomes = _field(raw, "outcomes", dict, where)
    if not outcomes or not all(
        k in OPTION_KEYS and isinstance(v, str) and v.strip() for k, v in outcomes.items()
    ):
        raise BankError(f"{where}: 'outcomes' must map option keys (a-d) to non-empty strings.")
    needs = tuple(_strings(raw, "needs", where)) if "needs" in raw else ()
    for need in needs:
        if need not in PROOF_NEEDS:
            raise BankError(f"{where}: needs {need!r}, known: {', '.join(PROOF_NEEDS)}.")
    return Proof(
        code=code,
        source=source,
        outcomes=tuple(sorted((k, v.strip()) for k, v in outcomes.items())),
        needs=needs,
    )


def parse_question(raw: Any, where: str, folder: Path = QUIZ_DIR) -> Question:
    if not isinstance(raw, dict):
        raise BankError(f"{where}: each question must be a [[questions]] table.")
    qid = _field(raw, "id", str, where)
    where = f"{where}, question {qid!r}"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise BankError(f"{where}: unknown field(s) {', '.join(unknown)}.")
    difficulty = _field(raw, "difficulty", str, where)
    if difficulty not in LEVELS:
        raise BankError(f"{where}: difficulty {difficulty!r} must be one of {', '.join(LEVELS)}.")
    options = _field(raw, "options", list, where)
    params: tuple[Param, ...] = ()
    rule = None
    if "params" in raw:
        try:
            params, rule = variants.parse_params(raw["params"], where)
        except VariantError as exc:
            raise BankError(str(exc)) from None
    return Question(
        id=qid,
        topic=_field(raw, "topic", str, where),
        difficulty=difficulty,
        stem=_field(raw, "stem", str, where),
        code=_field(raw, "code", str, where, optional=True),
        options=tuple(_option(option, where) for option in options),
        solution=_strings(raw, "solution", where),
        final_answer=_field(raw, "final_answer", str, where),
        quick_check=_field(raw, "quick_check", str, where),
        hint=_field(raw, "hint", str, where),
        steps=_strings(raw, "steps", where),
        params=params,
        where=rule,
        proof=_proof(raw.get("proof"), where, folder),
    )


def load_file(path: Path) -> list[Question]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BankError(f"Cannot read {path}: {exc}") from exc
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise BankError(f"{path}: expected one or more [[questions]] tables.")
    return [parse_question(raw, str(path), path.parent) for raw in raw_questions]


def load_bank(path: Path = QUIZ_DIR) -> Bank:
    """Every question of every quizzes/*.toml file (or of one file), in file order."""
    files = [path] if path.is_file() else sorted(path.glob("*.toml"))
    if not files:
        raise BankError(f"No quiz files (*.toml) in {path}.")
    return Bank(
        questions=tuple(q for file in files for q in load_file(file)), titles=_titles(files)
    )


def _titles(files: list[Path]) -> dict[str, str]:
    """Each file's `title = "..."` (before its questions), for the topics of its questions."""
    titles = {}
    for file in files:
        data = tomllib.loads(file.read_text(encoding="utf-8"))  # load_file read it already
        title = data.get("title")
        if title is None:
            continue
        if not isinstance(title, str) or not title.strip() or len(title) > 60:
            raise BankError(f"{file}: title must be a text of 1 to 60 characters.")
        for raw in data["questions"]:
            titles[raw["topic"]] = title.strip()
    return titles


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def gives_itself_away(question: Question) -> bool:
    """The key is longer than every distractor and GIVEAWAY_RATIO times their mean length."""
    keys = [o for o in question.options if o.correct]
    wrong = [len(o.text) for o in question.options if not o.correct]
    if len(keys) != 1 or not wrong:
        return False
    key = len(keys[0].text)
    return key > max(wrong) and key > GIVEAWAY_RATIO * sum(wrong) / len(wrong)


def _texts(question: Question) -> list[str]:
    texts = [question.stem, question.code or "", question.final_answer, question.quick_check,
             question.hint, *question.solution]  # fmt: skip
    if question.proof is not None:
        texts += [question.proof.code, *(outcome for _, outcome in question.proof.outcomes)]
    return texts + [t for o in question.options for t in (o.text, o.misconception or "")]


def _variant_problems(question: Question, slugs: set[str]) -> list[str]:
    """Every variant rendered and linted as a question of its own; each problem once, with the
    first parameter set that shows it."""
    if not question.is_variant:
        if any("{{" in text for text in _texts(question)):
            return ["has {{ }} placeholders but no params"]
        return []
    try:
        every = question.all_values()
    except VariantError as exc:
        return [f"params: {exc}"]
    if len(every) < 2:
        return [f"params give {len(every)} variant(s); a variant question needs two or more"]
    problems: dict[str, str] = {}
    shown = set()
    for values in every:
        try:
            rendered = question.render(values)
        except VariantError as exc:
            problems.setdefault(str(exc), variants.dumps(values) or "")
            continue
        shown.add((rendered.stem, rendered.code))
        for text in _texts(rendered):
            if "{{" in text:
                problems.setdefault("a placeholder is not closed", variants.dumps(values) or "")
        for problem in _question_problems(rendered, slugs):
            problems.setdefault(problem, variants.dumps(values) or "")
    found = [f"variant {values}: {problem}" for problem, values in problems.items()]
    if len(shown) == 1:
        found.append("every variant shows the same stem and code; the parameters change nothing")
    return found


def _proof_problems(question: Question, proof: Proof) -> list[str]:
    try:
        key = question.answer.key
    except ValueError:
        return []  # reported as "has 0 correct options"
    expected = proof.outcome(key)
    if expected is None:
        return [f"proof lists no outcome for the correct option {key}"]
    alike = [k for k, v in proof.outcomes if k != key and _normal(v) == _normal(expected)]
    if alike:
        return [f"proof outcome of {key} is also the outcome of {', '.join(alike)}"]
    return []


def _question_problems(question: Question, slugs: set[str]) -> list[str]:
    if question.is_variant:
        return _variant_problems(question, slugs)
    problems = _variant_problems(question, slugs)
    if not _ID.fullmatch(question.id):
        problems.append("id is not kebab-case (lowercase words joined by '-', a letter first)")
    for name in ("stem", "final_answer", "quick_check", "hint"):
        if not getattr(question, name).strip():
            problems.append(f"{name} is empty")
    if len(question.options) != len(OPTION_KEYS):
        problems.append(f"has {len(question.options)} options, needs {len(OPTION_KEYS)}")
    keys = [o.key for o in question.options]
    if len(set(keys)) != len(keys):
        problems.append("two options share a key")
    correct = sum(o.correct for o in question.options)
    if correct != 1:
        problems.append(f"has {correct} correct options, needs exactly 1")
    for option in question.options:
        if not option.text.strip():
            problems.append(f"option {option.key} has no text")
        if not option.correct and not (option.misconception or "").strip():
            problems.append(f"wrong option {option.key} has no misconception")
        if option.correct and option.misconception is not None:
            problems.append(f"correct option {option.key} should have no misconception")
    texts = [_normal(o.text) for o in question.options]
    if len(set(texts)) != len(texts):
        problems.append("two options have the same text")
    if gives_itself_away(question):
        problems.append("the correct option gives itself away by its length")
    if not question.solution or not all(step.strip() for step in question.solution):
        problems.append("solution needs one or more non-empty steps")
    if question.proof is not None:
        problems += _proof_problems(question, question.proof)
    if not question.steps:
        problems.append("links to no course step")
    for slug in question.steps:
        if slug not in slugs:
            problems.append(f"links to step {slug!r}, which the course does not have")
    return problems


def lint_bank(bank: Bank, course: Course) -> list[str]:
    """Every problem in the bank and in its links with course.toml; empty if there are none."""
    problems = []
    slugs = {step.slug for step in course.steps}
    seen: set[str] = set()
    stems: dict[str, str] = {}
    for question in bank.questions:
        if question.id in seen:
            problems.append(f"question {question.id!r}: id is used more than once")
        seen.add(question.id)
        first = stems.setdefault(_normal(f"{question.stem} {question.code or ''}"), question.id)
        if first != question.id:
            problems.append(f"question {question.id!r}: has the same stem (and code) as {first!r}")
        problems += [f"question {question.id!r}: {p}" for p in _question_problems(question, slugs)]
    for step in course.steps:
        linked = {q.id for q in bank.questions if step.slug in q.steps}
        listed = set(step.quiz)
        if not linked:
            problems.append(
                f"course.toml {step.label}: no question links to {step.slug!r}; every step needs "
                "at least one, to point a student who missed it back at the step"
            )
        for qid in sorted(listed - seen):
            problems.append(f"course.toml {step.label}: quiz lists {qid!r}, which the bank lacks")
        for qid in sorted((listed & seen) - linked):
            problems.append(
                f"course.toml {step.label}: quiz lists {qid!r}, but that question does not link "
                f"to {step.slug!r}"
            )
        for qid in sorted(linked - listed):
            problems.append(
                f"question {qid!r}: links to {step.slug!r}, but course.toml {step.label} "
                f"does not list it in quiz"
            )
    for topic in bank.topics():
        if topic not in bank.titles:
            problems.append(f'topic {topic!r}: no title (title = "..." in its quiz file)')
    return problems
