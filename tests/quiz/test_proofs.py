"""Runnable proofs: every proof in the bank is run against its key, and a proof that disagrees,
crashes, hangs or lacks its server is caught (a missing server is a skip, never a pass)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.quiz.bank import BankError, load_bank
from grader.quiz.proofs import FAIL, PASS, PG_URL_ENV, SKIP, ProofResult, proof_cases, run_proofs
from tests.quiz.test_bank import _course, _lint, _question

PROVEN = [q.id for q in proof_cases(load_bank().questions)]  # variants: a sample each


@pytest.fixture(scope="module")
def bank_results() -> dict[str, ProofResult]:
    """Every proof of the real bank, run once for this module."""
    return {r.question_id: r for r in run_proofs(load_bank().questions)}


@pytest.mark.parametrize("qid", PROVEN)
def test_every_proof_in_the_bank_agrees_with_its_key(
    bank_results: dict[str, ProofResult], qid: str
) -> None:
    result = bank_results[qid]
    if result.status == SKIP:
        pytest.skip(f"{qid}: {result.detail}")
    assert result.status == PASS, f"{qid}: proof {result.detail}"


def test_the_bank_has_proofs_of_every_kind() -> None:
    proofs = [q.proof for q in load_bank().questions if q.proof is not None]
    assert len(proofs) >= 30
    assert sum("postgres" in p.needs for p in proofs) >= 5
    assert any("signal.SIGKILL" in p.code and "serve(" in p.code for p in proofs)  # a real server
    assert any(p.source != "inline" for p in proofs) and any(p.source == "inline" for p in proofs)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _write(folder: Path, *questions: dict[str, Any]) -> Path:
    lines = ["title = \"Persistence\""]
    for question in questions:
        lines.append("[[questions]]")
        lines += [f"{k} = {_toml(v)}" for k, v in question.items() if k != "options"]
        for option in question["options"]:
            lines.append("[[questions.options]]")
            lines += [f"{k} = {_toml(v)}" for k, v in option.items()]
    (folder / "persistence.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _proven(qid: str, code: str, **proof: Any) -> dict[str, Any]:
    outcomes = {"a": "gone", "b": "kept"}
    return _question(
        qid, stem=f"What happens in {qid}?", proof={"code": code, "outcomes": outcomes, **proof}
    )


def test_proofs_that_disagree_crash_or_hang_fail(tmp_path: Path) -> None:
    bank = load_bank(
        _write(
            tmp_path,
            _proven("q-right", "import sqlite3\nprint('gone' if sqlite3 else 'kept')"),
            _proven("q-other-option", "print('kept')"),
            _proven("q-no-option", "print('doubled')"),
            _proven("q-crash", "import sqlite3\nsqlite3.connect(':memory:').execute('SELEC 1')"),
            _proven("q-hang", "import time\ntry:\n    time.sleep(30)\nexcept Exception:\n    pass"),
        )
    )
    results = {r.question_id: r for r in run_proofs(bank.questions, seconds=1)}
    assert results["q-right"].status == PASS and results["q-right"].detail == ""
    assert [r.status for r in results.values()].count(FAIL) == 4
    assert results["q-other-option"].detail == (
        "printed 'kept', the outcome of option b, but the key is a"
    )
    assert "printed 'doubled', which is no option's outcome" in results["q-no-option"].detail
    assert "raised OperationalError" in results["q-crash"].detail
    assert "syntax error" in results["q-crash"].detail
    assert results["q-hang"].detail == "ran longer than 1 s"


def test_one_question_may_be_proven_several_times_in_one_run(tmp_path: Path) -> None:
    """As variants are: the same id, rendered with other values, each judged on its own."""
    [question] = load_bank(_write(tmp_path, _proven("q-one", "print('gone')"))).questions
    assert question.proof is not None
    other = replace(question, proof=replace(question.proof, code="print('kept')"))
    results = run_proofs([question, other, question], children=1)
    assert [(r.question_id, r.status) for r in results] == [
        ("q-one", PASS),
        ("q-one", FAIL),
        ("q-one", PASS),
    ]


def test_a_program_two_questions_share_runs_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    code = f"open({str(runs)!r}, 'a').write('x')\nprint('gone')"
    bank = load_bank(_write(tmp_path, _proven("q-one", code), _proven("q-two", code)))
    assert [r.status for r in run_proofs(bank.questions, children=1)] == [PASS, PASS]
    assert runs.read_text() == "x"


def test_a_proof_without_its_server_is_a_skip_never_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PG_URL_ENV, "postgresql://postgres@127.0.0.1:9/test")  # nothing listens
    bank = load_bank(_write(tmp_path, _proven("q-pg", "print('gone')", needs=["postgres"])))
    [result] = run_proofs(bank.questions, children=1)
    assert result.status == SKIP
    assert result.detail.startswith("no PostgreSQL at postgresql://postgres@127.0.0.1:9/test")


def test_a_proof_without_its_tool_is_a_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump there
    bank = load_bank(_write(tmp_path, _proven("q-dump", "print('gone')", needs=["pg_dump"])))
    [result] = run_proofs(bank.questions, children=1)
    assert (result.status, result.detail) == (
        SKIP,
        "no pg_dump on PATH (PostgreSQL's client tools)",
    )


def test_a_proof_file_is_read_from_the_proofs_folder(tmp_path: Path) -> None:
    (tmp_path / "proofs").mkdir()
    (tmp_path / "proofs" / "gone.py").write_text("print('gone')\n")
    proof = {"file": "proofs/gone.py", "outcomes": {"a": "gone", "b": "kept"}}
    bank = load_bank(_write(tmp_path, _question(proof=proof)))
    assert bank.questions[0].proof is not None
    assert bank.questions[0].proof.source == "proofs/gone.py"
    assert [r.status for r in run_proofs(bank.questions, children=1)] == [PASS]


@pytest.mark.parametrize(
    ("proof", "message"),
    [
        ({"outcomes": {"a": "gone"}}, "give exactly one of 'code' and 'file'"),
        ({"code": "print(1)", "file": "proofs/x.py", "outcomes": {"a": "1"}}, "exactly one"),
        ({"file": "../x.py", "outcomes": {"a": "1"}}, "must be a .py file in proofs/"),
        ({"code": "print(1)", "outcomes": {"e": "1"}}, "'outcomes' must map option keys"),
        ({"code": "print(1)", "outcomes": {"a": "1"}, "needs": ["mysql"]}, "needs 'mysql'"),
        ({"code": "print(1)", "outcomes": {"a": "1"}, "expect": "1"}, "unknown field(s) expect"),
    ],
)
def test_the_loader_rejects_a_malformed_proof(
    tmp_path: Path, proof: dict[str, Any], message: str
) -> None:
    with pytest.raises(BankError, match=r"question 'q-one', proof: .*" + re.escape(message)):
        load_bank(_write(tmp_path, _question(proof=proof)))


def test_lint_wants_an_outcome_for_the_key_and_no_twin(tmp_path: Path) -> None:
    course = _course(("notes-dict",), notes_dict=("q-one", "q-two"))
    _write(
        tmp_path,
        _question("q-one", stem="One?", proof={"code": "print(1)", "outcomes": {"b": "1"}}),
        _question(
            "q-two", stem="Two?", proof={"code": "print(1)", "outcomes": {"a": "1", "c": "1"}}
        ),
    )
    assert _lint(tmp_path, course) == [
        "question 'q-one': proof lists no outcome for the correct option a",
        "question 'q-two': proof outcome of a is also the outcome of c",
    ]


def test_two_questions_with_one_stem_are_reported(tmp_path: Path) -> None:
    course = _course(("notes-dict",), notes_dict=("q-one", "q-two"))
    _write(tmp_path, _question("q-one"), _question("q-two", stem="what  happens to the DICT?"))
    assert _lint(tmp_path, course) == ["question 'q-two': has the same stem (and code) as 'q-one'"]


def test_a_proof_is_not_part_of_what_a_student_is_served(tmp_path: Path) -> None:
    plain = load_bank(_write(tmp_path, _question())).questions[0]
    proven = load_bank(_write(tmp_path, _proven("q-one", "print('gone')"))).questions[0]
    assert proven.proof is not None and "proof" not in json.loads(proven.to_json())
    assert (
        proven.version
        == load_bank(_write(tmp_path, _question(stem="What happens in q-one?")))
        .questions[0]
        .version
        != plain.version
    )


def test_a_variant_questions_proof_runs_on_a_sample_of_its_variants() -> None:
    """Each sampled variant is rendered, proof included, and judged on its own key's outcome;
    a proof that holds for one variant only fails on the others."""
    bank = load_bank()
    question = bank.get("autoincrement-no-reuse")
    assert question.is_variant and question.proof is not None
    cases = proof_cases([question], variants=4)
    assert len(cases) == 4 and len({c.proof.code for c in cases if c.proof}) == 4
    assert all(c.id.startswith('autoincrement-no-reuse {"count": ') for c in cases)
    assert [r.status for r in run_proofs([question], variants=4)] == [PASS] * 4
    stuck = replace(question, proof=replace(question.proof, code="print(4)"))
    results = run_proofs([stuck], variants=4)
    passed = [r for r in results if r.status == PASS]
    assert [r.question_id for r in passed] == [c.id for c in cases if '"count": 3' in c.id]
    assert all(r.status == FAIL for r in results if r not in passed)
    assert sum(q.is_variant and q.proof is not None for q in bank.questions) >= 15
