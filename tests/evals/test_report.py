"""Aggregation, baseline difference, the threshold gate and the three report files."""

import json
from pathlib import Path

from evals.records import TurnRecord
from evals.report import (
    below_thresholds,
    build_report,
    difference,
    summarize,
    with_run,
    write_reports,
)
from tests.evals.records import INVOICE_TEXT, RESET_TEXT, chunk, record


def scored(scores: dict[str, float | None], *, kind: str) -> TurnRecord:
    turn = record("Reset links expire [1].", cited=[chunk("kb/reset.md", RESET_TEXT)], kind=kind)
    turn.scores = scores
    return turn


def records() -> list[TurnRecord]:
    return [
        scored({"refusal_accuracy": 1.0, "rouge_l": 0.5}, kind="kb"),
        scored({"refusal_accuracy": 0.0, "rouge_l": None}, kind="kb"),
        scored({"refusal_accuracy": 1.0, "rouge_l": 0.2}, kind="thread"),
    ]


def test_means_skip_metrics_that_did_not_apply() -> None:
    summary = summarize(records(), dataset="corpora")
    assert summary["metrics"]["refusal_accuracy"] == round(2 / 3, 4)
    assert summary["metrics"]["rouge_l"] == 0.35
    assert summary["by_kind"]["kb"] == {"refusal_accuracy": 0.5, "rouge_l": 0.5}
    assert summary["turns_by_kind"] == {"kb": 2, "thread": 1}


def test_difference_needs_a_baseline_of_the_same_dataset_and_sample() -> None:
    summary = summarize(records(), dataset="corpora")
    full = {
        "dataset": "corpora",
        "sample_per_kind": None,
        "metrics": {"refusal_accuracy": 0.5, "rouge_l": 0.4},
        "by_kind": {"kb": {"rouge_l": 0.6}},
    }
    sampled = {**full, "sample_per_kind": 2, "metrics": {"rouge_l": 0.0}}
    delta = difference(summary, {"runs": [sampled, full]})
    assert delta is not None
    assert delta["metrics"] == {"refusal_accuracy": round(2 / 3 - 0.5, 4), "rouge_l": -0.05}
    assert delta["by_kind"]["kb"] == {"rouge_l": -0.1}
    assert difference(summary, {"runs": [{**full, "dataset": "samsung-tv"}]}) is None
    assert difference(summary, {"runs": [sampled]}) is None
    assert difference(summary, None) is None


def test_writing_a_baseline_replaces_only_the_run_of_the_same_dataset_and_sample() -> None:
    summary = summarize(records(), dataset="corpora")
    old_full = {"dataset": "corpora", "sample_per_kind": None, "metrics": {"rouge_l": 0.1}}
    sampled = {"dataset": "corpora", "sample_per_kind": 2, "metrics": {"rouge_l": 0.2}}
    assert with_run({"runs": [old_full, sampled]}, summary) == {"runs": [sampled, summary]}
    assert with_run(None, summary) == {"runs": [summary]}


def test_the_gate_lists_metrics_below_or_missing() -> None:
    summary = summarize(records(), dataset="corpora")
    thresholds = {"dataset": "corpora", "min": {"refusal_accuracy": 0.7, "rouge_l": 0.3}}
    assert below_thresholds(summary, thresholds) == [
        "refusal_accuracy: 0.667 is below the threshold 0.7"
    ]
    missing = {"dataset": "corpora", "min": {"faithfulness": 0.5}}
    assert below_thresholds(summary, missing) == [
        "faithfulness: not scored in this run (threshold 0.5)"
    ]
    assert below_thresholds(summary, {**thresholds, "dataset": "other"}) == []


def test_reports_are_written_as_json_markdown_and_png(tmp_path: Path) -> None:
    invoice = scored({"refusal_accuracy": 1.0}, kind="course")
    invoice.answer.answer = INVOICE_TEXT
    report = build_report(
        [*records(), invoice],
        dataset="corpora",
        baseline={
            "runs": [{"dataset": "corpora", "sample_per_kind": None, "metrics": {"rouge_l": 0.5}}]
        },
        thresholds={"dataset": "corpora", "min": {"rouge_l": 0.4}},
    )
    paths = write_reports(report, tmp_path / "out")

    data = json.loads(paths[0].read_text())
    assert data["below_thresholds"] == ["rouge_l: 0.350 is below the threshold 0.4"]
    assert len(data["results"]) == 4 and data["results"][0]["id"] == "t-1"
    text = paths[1].read_text()
    assert "| rouge_l | 0.350 | -0.150 | 0.4 | **below** |" in text
    assert "| course | 1 |" in text
    assert "expected answer, answered" in text  # the refusal mistake is listed
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
