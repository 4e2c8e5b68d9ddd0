"""Golden cases: the JSONL rows `assistant eval` asks and scores (format in evals/README.md).

A row is one question, or a conversation (`turns`) asked in one session. The loader takes a
`.jsonl` file or a folder of them (e.g. evals/golden/, or what `assistant gaps --export DIR`
writes) and says which file, line and field is wrong when a row does not fit.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUDIENCES = ("public", "partner", "internal")
MODES = ("customer", "agent", "internal")
# "small_talk": a friendly reply with no sources ("hi", "thanks!"), neither an answer nor a refusal.
EXPECTATIONS = ("answer", "refuse", "small_talk")
CONTENT_KINDS = ("kb", "course", "transcript", "thread")


class CaseError(ValueError):
    """A golden row that does not fit the format; the message names the file and line."""


@dataclass(frozen=True)
class Turn:
    """One question of a case, with what a good answer to it looks like."""

    question: str
    reference_answer: str | None = None  # None: answer-text metrics are not scored
    reference_documents: tuple[str, ...] = ()
    kind: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    turns: tuple[Turn, ...]
    audience: str = "public"
    mode: str = "customer"
    kind: str = ""
    expect: str = "answer"
    must_not_contain: tuple[str, ...] = ()  # leak canaries for the customer-visible text
    source: str = field(default="", compare=False)  # "file:line", for messages


def load_cases(path: Path) -> list[Case]:
    """Cases from a `.jsonl` file, or from every `*.jsonl` in a folder (sorted by name)."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise CaseError(f"{path}: no *.jsonl files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise CaseError(f"{path}: no such file or folder")
    cases: list[Case] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                cases.append(parse_case(line, source=f"{file}:{number}"))
    seen: dict[str, str] = {}
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.source}: id {case.id!r} is already used at {seen[case.id]}")
        seen[case.id] = case.source
    return cases


def parse_case(line: str, *, source: str = "<row>") -> Case:
    """One JSONL row → Case; raises CaseError naming `source` and the field."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{source}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise CaseError(f"{source}: a row must be a JSON object")

    def fail(message: str) -> CaseError:
        return CaseError(f"{source}: {message}")

    case_id = row.get("id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise fail("`id` must be a non-empty string")
    audience = _choice(row, "audience", AUDIENCES, "public", fail)
    mode = _choice(row, "mode", MODES, "customer", fail)
    expect = _choice(row, "expect", EXPECTATIONS, "answer", fail)
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise fail("`kind` must be a string")
    if "question" in row and "turns" in row:
        raise fail("give either `question` or `turns`, not both")
    if "turns" in row:
        raw_turns = row["turns"]
        if not isinstance(raw_turns, list) or not raw_turns:
            raise fail("`turns` must be a non-empty list of objects")
        turns = tuple(_turn(t, kind, f"turns[{i}]", fail) for i, t in enumerate(raw_turns))
    elif "question" in row:
        turns = (_turn(row, kind, "", fail),)
    else:
        raise fail("a row needs `question` (one question) or `turns` (a conversation)")
    if expect == "answer" and not any(t.reference_documents for t in turns):
        raise fail("a case that expects an answer needs `reference_documents`")
    canaries = row.get("must_not_contain", [])
    if not isinstance(canaries, list) or not all(isinstance(c, str) and c for c in canaries):
        raise fail("`must_not_contain` must be a list of non-empty strings")
    return Case(
        id=case_id,
        turns=turns,
        audience=audience,
        mode=mode,
        kind=kind,
        expect=expect,
        must_not_contain=tuple(canaries),
        source=source,
    )


def _turn(raw: Any, case_kind: str, where: str, fail: Any) -> Turn:
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise fail(f"`{where}` must be an object")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise fail(f"`{prefix}question` must be a non-empty string")
    reference = raw.get("reference_answer")
    if reference is not None and not isinstance(reference, str):
        raise fail(f"`{prefix}reference_answer` must be a string")
    documents = raw.get("reference_documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) and d for d in documents):
        raise fail(f"`{prefix}reference_documents` must be a list of document ids")
    kind = raw.get("kind", case_kind) if where else case_kind
    if not isinstance(kind, str):
        raise fail(f"`{prefix}kind` must be a string")
    return Turn(
        question=question,
        reference_answer=reference or None,
        reference_documents=tuple(documents),
        kind=kind,
    )


def _choice(
    row: dict[str, Any], name: str, allowed: tuple[str, ...], default: str, fail: Any
) -> str:
    value = row.get(name, default)
    if value not in allowed:
        raise fail(f"`{name}` must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)
