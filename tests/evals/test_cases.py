"""The golden-case format: the loader, its errors, and the committed golden set itself."""

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.cases import CONTENT_KINDS, CaseError, load_cases, parse_case
from evals.datasets import CORPORA, GOLDEN, emanual_cases, load_dataset, sample


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


QUESTION: dict[str, object] = {
    "id": "q-1",
    "question": "How do I reset my password?",
    "reference_answer": "Use Forgot password on the sign-in page.",
    "reference_documents": ["kb/reset-password.md"],
    "audience": "public",
    "mode": "customer",
    "kind": "kb",
    "expect": "answer",
}


def test_a_folder_of_jsonl_files_loads_every_row_in_file_order(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "b.jsonl", [{**QUESTION, "id": "b-1"}])
    write_jsonl(
        tmp_path / "a.jsonl",
        [
            QUESTION,
            {
                "id": "c-1",
                "turns": [
                    {"question": "How do I scan receipts?", "reference_documents": ["kb/s.md"]},
                    {"question": "is there a limit?", "reference_documents": ["kb/p.md"]},
                ],
                "kind": "kb",
            },
        ],
    )
    (tmp_path / "notes.txt").write_text("not a case file")

    cases = load_cases(tmp_path)

    assert [c.id for c in cases] == ["q-1", "c-1", "b-1"]
    conversation = cases[1]
    assert [t.question for t in conversation.turns] == [
        "How do I scan receipts?",
        "is there a limit?",
    ]
    assert conversation.turns[1].reference_answer is None
    assert conversation.turns[1].kind == "kb"  # inherited from the case
    assert conversation.audience == "public" and conversation.expect == "answer"  # defaults


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**QUESTION, "mode": "admin"}, "`mode` must be one of customer, agent, internal"),
        ({**QUESTION, "expect": "maybe"}, "`expect` must be one of answer, refuse"),
        ({k: v for k, v in QUESTION.items() if k != "question"}, "needs `question`"),
        ({**QUESTION, "reference_documents": []}, "needs `reference_documents`"),
        ({**QUESTION, "turns": [{"question": "x"}]}, "either `question` or `turns`"),
        ({**QUESTION, "must_not_contain": "ORCHID"}, "`must_not_contain` must be a list"),
        ({**QUESTION, "id": ""}, "`id` must be a non-empty string"),
    ],
)
def test_a_bad_row_names_its_file_line_and_field(
    tmp_path: Path,
    row: dict[str, object],
    message: str,
) -> None:
    path = write_jsonl(tmp_path / "cases.jsonl", [{**QUESTION, "id": "ok"}, row])
    with pytest.raises(CaseError) as error:
        load_cases(path)
    assert f"{path}:2:" in str(error.value)
    assert message in str(error.value)


def test_duplicate_ids_and_broken_json_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="already used"):
        load_cases(write_jsonl(tmp_path / "a.jsonl", [QUESTION, QUESTION]))
    with pytest.raises(CaseError, match="not valid JSON"):
        parse_case('{"id": "x", ', source="x.jsonl:1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaseError, match=r"no \*\.jsonl files"):
        load_cases(tmp_path / "empty")


def test_the_golden_set_covers_what_the_suite_promises() -> None:
    cases = load_cases(GOLDEN)
    questions = sum(len(c.turns) for c in cases)
    answer_kinds = Counter(t.kind for c in cases if c.expect == "answer" for t in c.turns)
    assert questions >= 60
    assert set(CONTENT_KINDS) <= set(answer_kinds)
    assert any(len(c.turns) > 1 for c in cases)  # conversations
    assert any(c.kind == "out_of_scope" and c.expect == "refuse" for c in cases)
    leaks = [c for c in cases if c.kind == "internal_only"]
    assert leaks and all(
        c.audience == "public" and c.expect == "refuse" and c.must_not_contain for c in leaks
    )
    assert any(c.mode == "agent" for c in cases)
    for case in cases:
        for turn in case.turns:
            for document in turn.reference_documents:
                assert (CORPORA / document).is_file(), f"{case.id}: {document} not in corpora/"
            if case.expect == "answer" and len(case.turns) == 1:
                assert turn.reference_answer, f"{case.id} has no reference answer"


def test_an_emanual_folder_brings_its_questions(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "001-remote.md").write_text("# Remote\n\nPress the power key.\n")
    write_jsonl(
        tmp_path / "questions.jsonl",
        [
            {"id": "tv-1", "question": "How?", "reference_answer": "Press.", "gold_docs": []},
            {
                "id": "tv-2",
                "question": "Power?",
                "reference_answer": "Press power.",
                "gold_docs": ["001-remote.md"],
            },
        ],
    )
    dataset = load_dataset(tmp_path)
    assert dataset.content == (tmp_path / "docs").resolve()
    assert [c.id for c in dataset.cases] == ["tv-1", "tv-2"]
    assert dataset.cases[1].turns[0].reference_documents == ("001-remote.md",)
    assert emanual_cases(tmp_path / "questions.jsonl")[0].turns[0].reference_documents == ()


def test_a_content_folder_without_cases_says_how_to_give_them(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="--cases"):
        load_dataset(tmp_path)


def test_sample_keeps_every_kind_of_every_file() -> None:
    dataset = load_dataset(None)
    small = sample(dataset, per_kind=1)
    groups = {(c.source.rsplit(":", 1)[0], c.kind) for c in dataset.cases}
    assert len(small.cases) == len(groups)
    assert {(c.source.rsplit(":", 1)[0], c.kind) for c in small.cases} == groups


def test_extra_fields_such_as_exported_gap_notes_are_kept_out_of_the_way(tmp_path: Path) -> None:
    row = {**QUESTION, "reference_answer": "", "gap": {"group": "g1", "todo": "TODO: write it"}}
    (case,) = load_cases(write_jsonl(tmp_path / "gap-g1.jsonl", [row]))
    assert case.turns[0].reference_answer is None  # empty: text metrics skip it
    assert case.turns[0].reference_documents == ("kb/reset-password.md",)
