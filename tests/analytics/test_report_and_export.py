"""The gap report as Markdown with a PNG chart, and its groups as eval cases that the eval
suite's own loader reads."""

import html
import json
from pathlib import Path

import matplotlib.image
import pytest
from markdown_it import MarkdownIt

from assistant.analytics.export import export_cases
from assistant.analytics.gap_report import GapReport
from assistant.analytics.report import write_report
from evals.cases import load_cases
from tests.analytics.conftest import PAYROLL, RATED_DOWN


def test_markdown_and_chart(report: GapReport, tmp_path: Path) -> None:
    markdown, chart = write_report(report, tmp_path / "out")
    page = markdown.read_text()
    assert "![Gap groups by number of questions](gaps.png)" in page
    shown = MarkdownIt("commonmark").enable("table").render(page)
    for group in report.groups:
        assert html.escape(group.label, quote=False) in shown  # as text, escaped for Markdown
    assert "**No content: write it**" in page and "**Fix**" in page
    assert "## Never cited documents" in page and "`kb/internal-refunds.md`" in page
    image = matplotlib.image.imread(chart)
    assert image.shape[0] > 100 and image.shape[1] > 500


def test_groups_become_eval_cases(report: GapReport, tmp_path: Path) -> None:
    files = export_cases(report, tmp_path / "cases")
    assert len(files) == len(report.groups)
    assert "reference_answer" in (tmp_path / "cases" / "README.md").read_text()
    cases = {c.turns[0].question: c for c in load_cases(tmp_path / "cases")}
    assert set(cases) == {q for g in report.groups for q in g.questions}
    rated = cases[RATED_DOWN]
    assert rated.turns[0].reference_documents == ("kb/reset-password.md",)
    assert (rated.audience, rated.mode, rated.expect) == ("internal", "agent", "answer")
    payroll = cases[PAYROLL[0]]
    assert payroll.expect == "answer" and payroll.turns[0].reference_answer is None
    (document,) = payroll.turns[0].reference_documents
    assert document.startswith("kb/") and "payroll" in document
    row = json.loads(next(f for f in files if payroll.id[:14] in f.name).read_text().split("\n")[0])
    assert row["gap"]["todo"].startswith("TODO: write kb/")


def test_export_of_one_group_by_id_prefix(report: GapReport, tmp_path: Path) -> None:
    group = report.groups[0]
    (written,) = export_cases(report, tmp_path, group_ids=[group.id[:6]])
    assert written.name == f"gap-{group.id}.jsonl"
    with pytest.raises(ValueError, match="No gap group has the id nope"):
        export_cases(report, tmp_path, group_ids=["nope"])
