"""Gap groups → eval cases in the golden JSONL format (evals/README.md), so a gap that gets
fixed becomes a regression test.

One file per group, `gap-<id>.jsonl`, one case per distinct question, expecting an answer
from the content to fix (or, for "write it" groups, from the document to be written: a
suggested path to rename once it exists). `reference_answer` is left empty: the questions
came from customers, the answer is for the writer to add. A README.md in the folder says so.
"""

import json
import re
from collections.abc import Sequence
from pathlib import Path

from assistant.analytics.gap_report import GapGroup, GapReport

_NOTE = """# Eval cases from the knowledge-gap report

Written by `assistant gaps --export`. Each `gap-<id>.jsonl` holds the questions of one gap group
as golden cases (format in evals/README.md) that expect an answer:

- `reference_documents` is the content to fix, or for a "write it" group a suggested path for
  the document to write (marked `TODO` in the row's `gap.todo`): rename it to the real document
  once it exists.
- `reference_answer` is empty (TODO): the questions came from customers; add what a good answer
  says, or leave it empty to score retrieval and refusal only.

Until the content is written or fixed these cases fail; once it is, they keep it fixed. Run them
against your content folder (the one you ingest):

    assistant eval --dataset path/to/content --cases THIS_FOLDER
"""


def export_cases(report: GapReport, folder: Path, *, group_ids: Sequence[str] = ()) -> list[Path]:
    """Writes the groups (all, or those whose id starts with one of `group_ids`) as JSONL
    files into `folder`; returns the files written.

    Raises:
        ValueError: a requested group id matches no group of the report.
    """
    groups = report.groups
    if group_ids:
        unknown = [g for g in group_ids if not any(group.id.startswith(g) for group in groups)]
        if unknown:
            known = ", ".join(g.id for g in groups) or "none in this period"
            raise ValueError(f"No gap group has the id {', '.join(unknown)}; groups: {known}.")
        groups = [g for g in groups if any(g.id.startswith(i) for i in group_ids)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(_NOTE, encoding="utf-8")
    written = []
    for group in groups:
        path = folder / f"gap-{group.id}.jsonl"
        rows = [json.dumps(row, ensure_ascii=False) for row in cases_for(group)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        written.append(path)
    return written


def cases_for(group: GapGroup) -> list[dict[str, object]]:
    """One golden row per distinct question of the group."""
    near = group.nearest
    if group.action == "fix" and near is not None:
        document, kind = near.document, near.source_type
        todo = f"fix {near.document} so it answers these questions"
    else:
        document, kind = suggested_document(group), "kb"
        todo = f"write {document} (a suggested name: rename it to the real document)"
    # Agent and internal questions are asked by employees; their cases keep that audience.
    audience = group.audience if group.mode != "customer" else "public"
    return [
        {
            "id": f"gap-{group.id}-{n:02d}",
            "question": question,
            "reference_answer": "",
            "reference_documents": [document],
            "audience": audience,
            "mode": group.mode,
            "kind": kind,
            "expect": "answer",
            "gap": {
                "group": group.id,
                "label": group.label,
                "reasons": group.reasons,
                "todo": f"TODO: {todo}; add a reference_answer",
            },
        }
        for n, question in enumerate(group.questions, start=1)
    ]


def suggested_document(group: GapGroup) -> str:
    """`kb/<the group's main words>.md`, a name for the article that would close the gap."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", t).strip("-") for t in group.terms[:3])
    return f"kb/{slug or 'gap-' + group.id}.md"
