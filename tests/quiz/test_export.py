"""Exports are parsed back: GIFT with a small parser written here, QTI with xml.etree."""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from grader.quiz.bank import Bank, load_bank
from grader.quiz.export import export_bank, export_gift, export_qti, item_href

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
NASTY = "Use {braces}, a ~tilde, x = 1, #hash, key: value, C:\\temp and\na new line"


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@dataclass
class GiftAnswer:
    mark: str
    text: str
    feedback: str


@dataclass
class GiftQuestion:
    title: str
    stem: str
    answers: list[GiftAnswer]
    general: str


def _tokens(text: str) -> list[tuple[bool, str]]:
    """(special, char) pairs: special is True for an unescaped ~ = # { } : character."""
    tokens, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            tokens.append((False, "\n" if text[i + 1] == "n" else text[i + 1]))
            i += 2
        else:
            tokens.append((text[i] in "~=#{}:", text[i]))
            i += 1
    return tokens


def _text(tokens: list[tuple[bool, str]]) -> str:
    return "".join(char for _, char in tokens).strip()


def _parse_block(block: str) -> GiftQuestion:
    body = "\n".join(line for line in block.splitlines() if not line.startswith("//"))
    tokens = _tokens(body.strip())
    assert tokens[:2] == [(True, ":"), (True, ":")], block
    end_title = next(i for i in range(2, len(tokens)) if tokens[i : i + 2] == [(True, ":")] * 2)
    open_brace = tokens.index((True, "{"))
    assert tokens[-1] == (True, "}") and tokens.count((True, "{")) == tokens.count((True, "}")) == 1
    inside = tokens[open_brace + 1 : -1]
    general_at = next(i for i in range(len(inside)) if inside[i : i + 4] == [(True, "#")] * 4)
    segments: list[tuple[str, list[tuple[bool, str]]]] = []
    for special, char in inside[:general_at]:
        if special and char in "=~":
            segments.append((char, []))
        elif segments:
            segments[-1][1].append((special, char))
    answers = []
    for mark, part in segments:
        cut = part.index((True, "#")) if (True, "#") in part else len(part)
        assert not any(special for special, _ in part[:cut] + part[cut + 1 :]), block
        answers.append(GiftAnswer(mark, _text(part[:cut]), _text(part[cut + 1 :])))
    return GiftQuestion(
        title=_text(tokens[2:end_title]),
        stem=_text(tokens[end_title + 2 : open_brace]),
        answers=answers,
        general=_text(inside[general_at + 4 :]),
    )


def parse_gift(text: str) -> list[GiftQuestion]:
    blocks = [b for b in text.split("\n\n") if b.strip() and not b.startswith("$CATEGORY:")]
    return [_parse_block(block) for block in blocks]


def plain(gift_html: str) -> str:
    """Back from the exported HTML to the bank's text: <code> spans become backticks again."""
    return html.unescape(re.sub(r"</?code>", "`", gift_html))


def test_gift_has_every_question_with_one_right_answer(bank: Bank) -> None:
    parsed = parse_gift(export_gift(bank))
    assert sorted(q.title for q in parsed) == sorted(q.id for q in bank.questions)
    for gift in parsed:
        question = bank.get(gift.title)
        assert [a.mark for a in gift.answers].count("=") == 1, gift.title
        assert len(gift.answers) == 4
        for answer, option in zip(gift.answers, question.options):
            assert plain(answer.text) == option.text
            assert answer.mark == ("=" if option.correct else "~")
            expected = question.final_answer if option.correct else option.misconception
            assert plain(answer.feedback) == expected
        assert plain(gift.general).count("<li>") == len(question.solution)


def test_gift_shows_code_under_the_stem(bank: Bank) -> None:
    question = bank.get("autoincrement-no-reuse")
    assert question.code is not None
    [gift] = parse_gift(export_gift(Bank(questions=(question,))))
    assert gift.stem.startswith("[html]What does the last line print?<pre><code>")
    assert html.unescape(gift.stem).endswith(question.code.strip() + "</code></pre>")


def test_gift_escaping_round_trips(bank: Bank) -> None:
    base = bank.get("dict-after-restart")
    options = tuple(replace(o, text=f"{o.key} {NASTY}") for o in base.options)
    nasty = replace(base, id="nasty", stem=NASTY, code=None, options=options, final_answer=NASTY)
    text = export_gift(Bank(questions=(nasty,)))
    [gift] = parse_gift(text)
    assert gift.title == "nasty"
    assert plain(gift.stem) == "[html]" + NASTY
    assert [plain(a.text) for a in gift.answers] == [o.text for o in options]
    assert plain(gift.answers[0].feedback) == NASTY


def _item(package: zipfile.ZipFile, name: str) -> ET.Element:
    return ET.fromstring(package.read(name))


def _text_of(element: ET.Element) -> str:
    """An element's text as the bank wrote it: each <code> child back in backticks; any other
    child is a failure (QTI text here is plain prose with inline code)."""
    parts = [element.text or ""]
    for child in element:
        assert child.tag == f"{QTI}code", f"unexpected <{child.tag}> in <{element.tag}>"
        assert len(child) == 0 and child.text, "a <code> holds plain, non-empty text"
        parts += ["`", child.text, "`", child.tail or ""]
    return "".join(parts)


def test_qti_package_lists_every_item_with_the_right_key(bank: Bank, tmp_path: Path) -> None:
    out = export_qti(bank, tmp_path / "nested" / "bank.zip")
    with zipfile.ZipFile(out) as package:
        manifest = _item(package, "imsmanifest.xml")
        assert manifest.tag == f"{CP}manifest"
        files = [f.get("href", "") for f in manifest.iter(f"{CP}file")]
        items = [n for n in package.namelist() if n != "imsmanifest.xml"]
        assert sorted(files) == sorted(items) and len(items) == len(bank.questions)
        for resource in manifest.iter(f"{CP}resource"):
            assert resource.get("type") == "imsqti_item_xmlv2p1"
        for name in items:
            item = _item(package, name)
            assert item.tag == f"{QTI}assessmentItem"
            question = bank.get(item.get("identifier", ""))
            correct = item.findall(f"{QTI}responseDeclaration/{QTI}correctResponse/{QTI}value")
            assert len(correct) == 1
            interaction = item.find(f"{QTI}itemBody/{QTI}choiceInteraction")
            assert interaction is not None and interaction.get("maxChoices") == "1"
            choices = {
                c.get("identifier"): _text_of(c) for c in interaction.iter(f"{QTI}simpleChoice")
            }
            assert len(choices) == 4
            assert choices[correct[0].text] == question.answer.text
            assert correct[0].text == f"choice_{question.answer.key}"


def test_qti_keeps_code_and_feedback(bank: Bank, tmp_path: Path) -> None:
    question = bank.get("global-next-id")
    assert question.code is not None
    out = export_qti(Bank(questions=(question,)), tmp_path / "one.zip")
    with zipfile.ZipFile(out) as package:
        item = _item(package, "items/global-next-id.xml")
    assert item.findtext(f"{QTI}itemBody/{QTI}pre") == question.code.strip()
    feedback = {f.get("identifier"): f for f in item.iter(f"{QTI}modalFeedback")}
    wrong = next(o for o in question.options if not o.correct)
    assert _text_of(feedback[f"choice_{wrong.key}"]) == wrong.misconception
    steps = [_text_of(li) for li in feedback["solution"].iter(f"{QTI}li")]
    assert steps == list(question.solution)


def test_qti_renders_backticks_as_code(bank: Bank, tmp_path: Path) -> None:
    question = bank.get("fastapi-instance")
    assert "`app = FastAPI()`" in question.stem
    with zipfile.ZipFile(export_qti(Bank(questions=(question,)), tmp_path / "one.zip")) as package:
        stem = _item(package, "items/fastapi-instance.xml").find(f"{QTI}itemBody/{QTI}p")
    assert stem is not None
    assert stem.text == "Step 2 adds "
    [code] = list(stem)
    assert (code.tag, code.text) == (f"{QTI}code", "app = FastAPI()")
    assert code.tail == " to main.py. What does that line give you?"


def test_qti_has_no_raw_backticks_and_round_trips_every_text(bank: Bank, tmp_path: Path) -> None:
    with zipfile.ZipFile(export_qti(bank, tmp_path / "bank.zip")) as package:
        items = {q.id: _item(package, item_href(q)) for q in bank.questions}
    spans = 0
    for question in bank.questions:
        item = items[question.id]
        body = item.find(f"{QTI}itemBody")
        assert body is not None
        texts = [e for e in body.iter() if e.tag in (f"{QTI}p", f"{QTI}simpleChoice")]
        texts += [e for e in item.iter(f"{QTI}modalFeedback") if e.get("identifier") != "solution"]
        texts += list(item.iter(f"{QTI}li"))
        expected: list[str | None] = [question.stem, *(o.text for o in question.options)]
        expected += [
            question.final_answer if o.correct else o.misconception for o in question.options
        ]
        expected += list(question.solution)
        assert [_text_of(e) for e in texts] == expected, question.id
        for element in texts:
            assert "`" not in "".join(element.itertext()), question.id
        spans += sum(1 for _ in item.iter(f"{QTI}code"))
    assert spans >= 20  # the bank uses inline code often; a silent no-op would find none


def test_export_bank_writes_either_format(bank: Bank, tmp_path: Path) -> None:
    gift = export_bank(bank, "gift", tmp_path / "out" / "bank.gift")
    assert gift.read_text(encoding="utf-8") == export_gift(bank)
    qti = export_bank(bank, "qti", tmp_path / "bank.zip")
    assert zipfile.is_zipfile(qti)


def test_export_bank_rejects_unknown_format(bank: Bank, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown export format 'csv': choose one of gift, qti"):
        export_bank(bank, "csv", tmp_path / "bank.csv")
    assert not (tmp_path / "bank.csv").exists()
