"""Exports parsed back by third-party readers: GIFT by pygiftparser, Moodle XML by
moodle-xml-parser, QTI 1.2 items by pyslet; QTI 2.1 validated against the IMS schemas (kept in
tests/quiz/schemas, see NOTICE.md there) with lxml. Every item's key, options and feedback
must come back as the bank says them, a variant question as the fixed number of variants."""

from __future__ import annotations

import html
import io
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from grader.quiz.bank import Bank, Question, load_bank
from grader.quiz.export import (
    FORMATS,
    Item,
    export_bank,
    export_canvas,
    export_gift,
    export_moodle,
    export_qti,
    groups,
    item_href,
    items,
)
from grader.quiz.export.items import LOM_DIFFICULTY, feedback_text

SCHEMAS = Path(__file__).parent / "schemas"
QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
MD = "{http://www.imsglobal.org/xsd/imsmd_v1p2}"
Q12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
NASTY = (
    "Use {braces}, a ~tilde, x = 1, #hash, key: value, C:\\temp, print('a\\nb'), a } alone "
    "and\na new line"
)
GIFT_SPECIAL = re.compile(r"\\([~=#{}:\\n])")


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def exported(bank: Bank) -> dict[str, Item]:
    return {item.ident: item for item in items(bank)}


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def plain(html_text: str) -> str:
    """Back from exported HTML to the bank's text: <code> spans become backticks again."""
    return html.unescape(re.sub(r"</?code>", "`", html_text))


def solution_steps(html_text: str) -> list[str]:
    return [plain(step) for step in re.findall(r"<li>(.*?)</li>", html_text)]


def test_a_variant_question_is_exported_as_a_fixed_number_of_variants(bank: Bank) -> None:
    found = groups(bank, variants=4)
    varied = [g for g in found if g.question.is_variant]
    assert len(varied) >= 15 and len(found) == len(bank.questions)
    for group in varied:
        assert [item.variant for item in group.items] == [1, 2, 3, 4]
        shown = {(item.question.stem, item.question.code) for item in group.items}
        assert len(shown) == 4, group.question.id
        for item in group.items:
            assert item.ident == f"{group.question.id}-v{item.variant}"
            assert "{{" not in item.question.to_json()
    assert [g.items for g in groups(bank, 4)] == [g.items for g in found]  # the same every time
    plain_group = next(g for g in found if not g.question.is_variant)
    assert [item.ident for item in plain_group.items] == [plain_group.question.id]


def _gift_unescape(text: str) -> str:
    return GIFT_SPECIAL.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def _gift_text(text: str) -> str:
    return plain(_gift_unescape(text))


def parse_gift(text: str) -> list[Any]:
    """pygiftparser's questions (it imports a deprecated locale call of its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pygiftparser import parser

    return list(parser.parseFile(io.StringIO(text)))


def _check_gift(question: Any, item: Item) -> None:
    bank_question = item.question
    assert question.valid, item.ident
    code = f"<pre>`{bank_question.code.strip()}`</pre>" if bank_question.code else ""
    assert _gift_text(question.text) == bank_question.stem + code
    answers = question.answers.answers
    assert [a.fraction for a in answers] == [100 if o.correct else 0 for o in bank_question.options]
    assert [_gift_text(a.answer) for a in answers] == [o.text for o in bank_question.options]
    assert [_gift_text(a.feedback) for a in answers] == [
        feedback_text(bank_question, o.key) for o in bank_question.options
    ]
    steps = solution_steps(_gift_unescape(question.generalFeedback))
    assert steps == list(bank_question.solution)


def test_gift_reads_back_every_item_with_its_key_and_feedback(
    bank: Bank, exported: dict[str, Item]
) -> None:
    text = export_gift(bank)
    parsed = parse_gift(text)
    assert sorted(q.title for q in parsed) == sorted(exported)
    for question in parsed:
        _check_gift(question, exported[question.title])
    categories = re.findall(r"^\$CATEGORY: (.*)$", text, re.MULTILINE)
    assert set(categories) >= {f"persistlab/{t}" for t in bank.topics()}
    assert "persistlab/sqlite3/autoincrement-no-reuse" in categories


def test_gift_keeps_braces_in_answers(bank: Bank, exported: dict[str, Item]) -> None:
    braces = [i for i in exported.values() if any("}" in o.text for o in i.question.options)]
    assert braces  # json-keys-strings and row-factory-dict answer with dicts
    for question in parse_gift(export_gift(Bank(questions=(bank.get("json-keys-strings"),)))):
        _check_gift(question, exported[question.title])
        assert _gift_text(question.answers.answers[2].answer).startswith('{"')


def test_gift_escaping_round_trips(bank: Bank) -> None:
    base = bank.get("dict-after-restart")
    options = tuple(replace(o, text=f"{o.key} {NASTY}") for o in base.options)
    nasty = replace(base, id="nasty", stem=NASTY, code=None, options=options, final_answer=NASTY)
    [question] = parse_gift(export_gift(Bank(questions=(nasty,))))
    assert question.title == "nasty" and question.valid
    assert _gift_text(question.text) == NASTY
    assert [_gift_text(a.answer) for a in question.answers.answers] == [o.text for o in options]
    assert _gift_text(question.answers.answers[0].feedback) == NASTY


def test_gift_shows_code_under_the_stem(bank: Bank) -> None:
    question = bank.get("global-next-id")
    assert question.code is not None
    [parsed] = parse_gift(export_gift(Bank(questions=(question,))))
    stem = _gift_text(parsed.text)
    assert stem.endswith("<pre>`" + question.code.strip() + "`</pre>")


def _validate(document: bytes, name: str) -> etree._Element:
    root = etree.fromstring(document)
    checker = schema(name)
    assert checker.validate(root), checker.error_log.last_error
    return root


@pytest.fixture(scope="module")
def qti_package(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = export_qti(bank, tmp_path_factory.mktemp("qti") / "nested" / "bank.zip")
    with zipfile.ZipFile(out) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_qti_package_validates_against_the_ims_schemas(
    qti_package: dict[str, bytes], exported: dict[str, Item]
) -> None:
    manifest = _validate(qti_package["imsmanifest.xml"], "imscp_v1p1.xsd")
    _validate(qti_package["test.xml"], "qtiv2p1/imsqti_v2p1.xsd")
    for item in exported.values():
        _validate(qti_package[item_href(item)], "qtiv2p1/imsqti_v2p1.xsd")
    files = {f.get("href") for f in manifest.iter(f"{CP}file")}
    assert files == set(qti_package) - {"imsmanifest.xml"}
    assert len(qti_package) == len(exported) + 2


def test_the_schemas_refuse_a_broken_package(qti_package: dict[str, bytes]) -> None:
    """The validation can fail: a difficulty out of LOM's order, an item without its key."""
    name = next(n for n in qti_package if n.startswith("items/"))
    broken_item = re.sub(rb"<correctResponse>.*?</correctResponse>", b"<correctResponse/>",
                         qti_package[name], flags=re.DOTALL)  # fmt: skip
    assert not schema("qtiv2p1/imsqti_v2p1.xsd").validate(etree.fromstring(broken_item))
    manifest = etree.fromstring(qti_package["imsmanifest.xml"])
    lom = next(manifest.iter(f"{MD}lom"))
    lom.append(lom[0])  # general after educational and classification
    assert not schema("imscp_v1p1.xsd").validate(manifest)


def test_qti_items_keep_the_key_text_code_and_feedback(
    qti_package: dict[str, bytes], exported: dict[str, Item]
) -> None:
    for item in exported.values():
        question = item.question
        root = etree.fromstring(qti_package[item_href(item)])
        assert root.get("identifier") == item.ident and root.get("title") == item.title
        [key] = root.findall(f"{QTI}responseDeclaration/{QTI}correctResponse/{QTI}value")
        assert key.text == f"choice_{question.answer.key}"
        choices = {c.get("identifier"): _text_of(c) for c in root.iter(f"{QTI}simpleChoice")}
        assert choices == {f"choice_{o.key}": o.text for o in question.options}
        assert _text_of(root.find(f"{QTI}itemBody/{QTI}p")) == question.stem
        assert root.findtext(f"{QTI}itemBody/{QTI}pre") == (
            question.code.strip() if question.code else None
        )
        feedback = {f.get("identifier"): f for f in root.iter(f"{QTI}modalFeedback")}
        for option in question.options:
            expected = feedback_text(question, option.key)
            assert _text_of(feedback[f"choice_{option.key}"]) == expected
        steps = [_text_of(li) for li in feedback["solution"].iter(f"{QTI}li")]
        assert steps == list(question.solution)
        assert "`" not in "".join(root.itertext())


def _text_of(element: Any) -> str:
    """An element's text as the bank wrote it: each <code> child back in backticks."""
    parts = [element.text or ""]
    for child in element:
        assert child.tag == f"{QTI}code", f"unexpected <{child.tag}> in <{element.tag}>"
        parts += ["`", child.text, "`", child.tail or ""]
    return "".join(parts)


def test_qti_metadata_gives_each_items_topic_and_difficulty(
    qti_package: dict[str, bytes], exported: dict[str, Item]
) -> None:
    manifest = etree.fromstring(qti_package["imsmanifest.xml"])
    seen = 0
    for resource in manifest.iter(f"{CP}resource"):
        if resource.get("type") != "imsqti_item_xmlv2p1":
            continue
        item = exported[resource.get("identifier", "").removeprefix("res-")]
        lom = resource.find(f"{CP}metadata/{MD}lom")
        assert lom is not None
        assert lom.findtext(f"{MD}general/{MD}keyword/{MD}langstring") == item.question.topic
        difficulty = lom.find(f"{MD}educational/{MD}difficulty")
        assert difficulty is not None
        assert difficulty.findtext(f"{MD}source/{MD}langstring") == "LOMv1.0"
        assert (
            difficulty.findtext(f"{MD}value/{MD}langstring")
            == LOM_DIFFICULTY[item.question.difficulty]
        )
        taxon = lom.find(f"{MD}classification/{MD}taxonpath/{MD}taxon")
        assert taxon is not None and taxon.findtext(f"{MD}id") == item.question.topic
        seen += 1
    assert seen == len(exported)


def test_qti_test_gives_each_taker_one_variant_of_each_question(
    bank: Bank, qti_package: dict[str, bytes], exported: dict[str, Item]
) -> None:
    test = etree.fromstring(qti_package["test.xml"])
    refs = list(test.iter(f"{QTI}assessmentItemRef"))
    assert Counter(r.get("identifier") for r in refs) == Counter(list(exported))
    for ref in refs:
        item = exported[ref.get("identifier", "")]
        assert ref.get("href") == item_href(item)
        assert ref.get("category") == f"{item.question.topic} {item.question.difficulty}"
    topics = [s.get("title") for s in test.iterfind(f"{QTI}testPart/{QTI}assessmentSection")]
    assert topics == bank.topics()
    picks = [s for s in test.iter(f"{QTI}assessmentSection") if s.get("visible") == "false"]
    assert len(picks) == sum(q.is_variant for q in bank.questions)
    for pick in picks:
        assert pick.find(f"{QTI}selection").get("select") == "1"  # type: ignore[union-attr]
        assert len(pick.findall(f"{QTI}assessmentItemRef")) == 3


def test_moodle_xml_reads_back_with_feedback_hints_and_categories(
    bank: Bank, exported: dict[str, Item], tmp_path: Path
) -> None:
    from moodle_xml_parser.parser import parse_file

    out = export_bank(bank, "moodle", tmp_path / "bank.xml")
    parsed = parse_file(str(out))
    assert len(parsed["multichoice"]) == len(exported)
    by_title = {item.title: item for item in exported.values()}
    for question in parsed["multichoice"]:
        item = by_title[question.name]
        bank_question = item.question
        assert question.single and question.shuffle_answers
        assert [o.score_fraction for o in question.options] == [
            100.0 if o.correct else 0.0 for o in bank_question.options
        ]
        assert [plain(o.answer) for o in question.options] == [
            o.text for o in bank_question.options
        ]
        assert [plain(o.feedback or "") for o in question.options] == [
            feedback_text(bank_question, o.key) for o in bank_question.options
        ]
        assert solution_steps(question.general_feedback or "") == list(bank_question.solution)
    root = etree.parse(str(out)).getroot()
    categories = [q.findtext("category/text") for q in root.iterfind("question[@type='category']")]
    assert {f"$course$/top/persistlab/{t}" for t in bank.topics()} <= set(categories)
    assert "$course$/top/persistlab/crud-http/delete-twice" in categories
    for element in root.iterfind("question[@type='multichoice']"):
        item = exported[element.findtext("idnumber") or ""]
        hints = [plain(h.findtext("text") or "") for h in element.iterfind("hint")]
        assert hints == [item.question.hint, f"Check yourself: {item.question.quick_check}"]
        tags = [t.findtext("text") for t in element.iterfind("tags/tag")]
        assert tags == [item.question.topic, item.question.difficulty]


def _canvas_items(document: bytes) -> list[Any]:
    """pyslet's QTI 1.2 items (its section classes cannot list their children, so the walk
    down the sections is done here)."""
    from pyslet.qtiv1.item import Item as QTIItem
    from pyslet.qtiv1.xml import QTIDocument

    doc = QTIDocument()
    with warnings.catch_warnings():  # pyslet calls deprecated names of its own while parsing
        warnings.simplefilter("ignore", DeprecationWarning)
        doc.read(src=document)
    found: list[Any] = []

    def walk(section: Any) -> None:
        for child in section.SectionItemMixin:
            if isinstance(child, QTIItem):
                found.append(child)
            else:
                walk(child)

    for section in doc.root.Assessment.SectionMixin:
        walk(section)
    return found


def test_canvas_package_reads_back_with_keys_feedback_and_groups(
    bank: Bank, exported: dict[str, Item], tmp_path: Path
) -> None:
    out = export_canvas(bank, tmp_path / "canvas.zip")
    with zipfile.ZipFile(out) as package:
        manifest = _validate(package.read("imsmanifest.xml"), "imscp_v1p1.xsd")
        [resource] = manifest.iter(f"{CP}resource")
        assert resource.get("type") == "imsqti_xmlv1p2"
        document = package.read(resource.get("href", ""))
    parsed = _canvas_items(document)
    assert sorted(i.ident for i in parsed) == sorted(exported)
    for qti_item in parsed:
        item = exported[qti_item.ident]
        metadata = qti_item.ItemMetadata.metadata
        assert metadata["question_type"][0][0] == "multiple_choice_question"
        assert metadata["topic"][0][0] == item.question.topic
        assert metadata["levelofdifficulty"][0][0] == LOM_DIFFICULTY[item.question.difficulty]
    root = etree.fromstring(document)
    for element in root.iter(f"{Q12}item"):
        _check_canvas_item(element, exported[element.get("ident", "")])
    groups_found = [s for s in root.iter(f"{Q12}section") if s.get("ident") != "root_section"]
    assert len(groups_found) == sum(q.is_variant for q in bank.questions)
    for group in groups_found:
        assert group.findtext(f".//{Q12}selection_number") == "1"
        assert len(group.findall(f"{Q12}item")) == 3


def _check_canvas_item(element: Any, item: Item) -> None:
    question = item.question
    labels = {
        label.get("ident"): plain(re.sub(r"</?div>", "", label.findtext(f".//{Q12}mattext")))
        for label in element.iter(f"{Q12}response_label")
    }
    assert list(labels.values()) == [o.text for o in question.options]
    scoring = [c for c in element.iter(f"{Q12}respcondition") if c.find(f"{Q12}setvar") is not None]
    [right] = scoring
    key = right.findtext(f"{Q12}conditionvar/{Q12}varequal")
    assert labels[key] == question.answer.text and right.findtext(f"{Q12}setvar") == "100"
    feedback = {
        f.get("ident"): plain(re.sub(r"</?div>", "", f.findtext(f".//{Q12}mattext")))
        for f in element.iter(f"{Q12}itemfeedback")
    }
    for ident, option in zip(labels, question.options):
        assert feedback[f"{ident}_fb"] == feedback_text(question, option.key)
    assert solution_steps(feedback["general_fb"]) == list(question.solution)
    shown = element.findtext(f"{Q12}presentation/{Q12}material/{Q12}mattext")
    assert plain(shown).startswith(f"<div>{question.stem}")


def test_export_bank_writes_every_format_with_a_fixed_number_of_variants(
    bank: Bank, tmp_path: Path
) -> None:
    for fmt in FORMATS:
        out = export_bank(bank, fmt, tmp_path / fmt / "bank", variants=2)
        assert out.stat().st_size > 10_000, fmt
    gift = (tmp_path / "gift" / "bank").read_text(encoding="utf-8")
    assert gift == export_gift(bank, 2) and "::delete-twice-v2::" in gift
    assert "::delete-twice-v3::" not in gift
    assert (tmp_path / "moodle" / "bank").read_bytes() == export_moodle(bank, 2)
    with zipfile.ZipFile(tmp_path / "qti" / "bank") as package:
        assert len(package.namelist()) == len(items(bank, 2)) + 2


def test_export_bank_refuses_an_unknown_format_or_no_variants(bank: Bank, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown export format 'csv': choose one of gift, moodle"):
        export_bank(bank, "csv", tmp_path / "bank.csv")
    with pytest.raises(ValueError, match="at least one variant"):
        export_bank(bank, "gift", tmp_path / "bank.gift", variants=0)
    assert not list(tmp_path.iterdir())


def test_plain_questions_export_as_they_are(bank: Bank) -> None:
    question: Question = bank.get("global-next-id")
    assert not question.is_variant
    [item] = items(Bank(questions=(question,)))
    assert item.question is question and item.title == "global-next-id"
