"""Aggregates an evaluation run and writes report.json, report.md and chart.png.

The summary holds the mean of every metric overall and per content kind; the report adds the
difference from a committed baseline and the metrics below the committed thresholds.
"""

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.metrics import OFFLINE_METRICS, mean_or_none
from evals.records import TurnRecord

JUDGE_METRICS = ("faithfulness", "answer_relevancy", "llm_context_precision")
METRIC_NOTES = {
    "refusal_accuracy": (
        "answered when it should, refused when it should, small talk replied to (every turn)"
    ),
    "leak_free": "no citation beyond the caller's audience, no canary in the visible text",
    "context_precision": "Ragas IDBasedContextPrecision: retrieved documents that are references",
    "context_recall": "Ragas IDBasedContextRecall: reference documents that were retrieved",
    "semantic_similarity": "Ragas SemanticSimilarity (MiniLM) to the reference; 0 if refused",
    "rouge_l": "Ragas RougeScore (ROUGE-L F1) to the reference answer; 0 if refused",
    "citation_supported": "every sentence is supported by the sources it cites",
    "reference_cited": "a reference document is among the citations",
    "citation_accuracy": "both of the above",
    "ticket_complete": "agent mode: ticket text links every citation",
    "faithfulness": "Ragas Faithfulness (LLM judge)",
    "answer_relevancy": "Ragas AnswerRelevancy / ResponseRelevancy (LLM judge)",
    "llm_context_precision": "Ragas ContextPrecisionWithReference (LLM judge)",
}


def summarize(
    records: list[TurnRecord], *, dataset: str, sample: int | None = None
) -> dict[str, Any]:
    """Means per metric, overall and per kind (metrics that never applied are left out)."""
    names = [m for m in (*OFFLINE_METRICS, *JUDGE_METRICS) if any(m in r.scores for r in records)]
    by_kind: dict[str, list[TurnRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)

    def means(group: list[TurnRecord]) -> dict[str, float]:
        values = {m: mean_or_none([r.scores.get(m) for r in group]) for m in names}
        return {m: round(v, 4) for m, v in values.items() if v is not None}

    return {
        "dataset": dataset,
        "sample_per_kind": sample,
        "cases": len({r.case.id for r in records}),
        "turns": len(records),
        "metrics": means(records),
        "by_kind": {kind: means(group) for kind, group in sorted(by_kind.items())},
        "turns_by_kind": {kind: len(group) for kind, group in sorted(by_kind.items())},
    }


def baseline_run(summary: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any] | None:
    """The baseline file's run of the same dataset and sample size, if it has one: another
    dataset's or sample's numbers say nothing about this run."""
    runs = (baseline or {}).get("runs", [])
    same = ("dataset", "sample_per_kind")
    return next((r for r in runs if all(r.get(k) == summary[k] for k in same)), None)


def with_run(baseline: dict[str, Any] | None, summary: dict[str, Any]) -> dict[str, Any]:
    """The baseline file with `summary` replacing its run of the same dataset and sample."""
    old = baseline_run(summary, baseline)
    runs = [r for r in (baseline or {}).get("runs", []) if r is not old]
    return {"runs": [*runs, summary]}


def difference(summary: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any] | None:
    """Current minus the matching baseline run for every metric both have; None without one."""
    baseline = baseline_run(summary, baseline)
    if baseline is None:
        return None

    def minus(now: dict[str, float], then: dict[str, float]) -> dict[str, float]:
        return {m: round(v - then[m], 4) for m, v in now.items() if m in then}

    return {
        "metrics": minus(summary["metrics"], baseline.get("metrics", {})),
        "by_kind": {
            kind: minus(values, baseline.get("by_kind", {}).get(kind, {}))
            for kind, values in summary["by_kind"].items()
        },
    }


def below_thresholds(summary: dict[str, Any], thresholds: dict[str, Any] | None) -> list[str]:
    """One line per metric under its committed minimum (or missing from the run)."""
    if not thresholds or thresholds.get("dataset") != summary["dataset"]:
        return []
    failures = []
    for metric, minimum in thresholds.get("min", {}).items():
        value = summary["metrics"].get(metric)
        if value is None:
            failures.append(f"{metric}: not scored in this run (threshold {minimum})")
        elif value < minimum:
            failures.append(f"{metric}: {value:.3f} is below the threshold {minimum}")
    return failures


def read_json(path: Path | None) -> dict[str, Any] | None:
    """A baseline or thresholds file; None when there is none."""
    if path is None or not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def build_report(
    records: list[TurnRecord],
    *,
    dataset: str,
    sample: int | None = None,
    baseline: dict[str, Any] | None,
    thresholds: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    summary = summarize(records, dataset=dataset, sample=sample)
    return {
        **summary,
        **(extra or {}),
        "baseline_difference": difference(summary, baseline),
        "thresholds": (thresholds or {}).get("min", {})
        if thresholds and thresholds.get("dataset") == dataset
        else {},
        "below_thresholds": below_thresholds(summary, thresholds),
        "results": [r.to_dict() for r in records],
    }


def write_reports(report: dict[str, Any], out: Path) -> list[Path]:
    """report.json, report.md and chart.png in `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "chart.png"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    write_chart(report, paths[2])
    return paths


def markdown(report: dict[str, Any]) -> str:
    delta = report.get("baseline_difference") or {}
    thresholds = report.get("thresholds", {})
    model = report.get("judge_model")
    judge = f"LLM judge: {model}." if model else "offline metrics only."
    lines = [
        f"# Evaluation: {report['dataset']}",
        "",
        f"{report['cases']} cases, {report['turns']} turns asked; {judge}",
        "",
        "| metric | value | vs baseline | threshold | |",
        "|---|---|---|---|---|",
    ]
    for metric, value in report["metrics"].items():
        change = delta.get("metrics", {}).get(metric)
        minimum = thresholds.get(metric)
        status = "" if minimum is None else ("ok" if value >= minimum else "**below**")
        lines.append(
            f"| {metric} | {value:.3f} | {_signed(change)} | "
            f"{'' if minimum is None else minimum} | {status} |"
        )
    lines += ["", "## By content kind", ""]
    metrics = list(report["metrics"])
    lines.append("| kind | turns | " + " | ".join(metrics) + " |")
    lines.append("|---|---|" + "---|" * len(metrics))
    for kind, values in report["by_kind"].items():
        changes = delta.get("by_kind", {}).get(kind, {})
        cells = [_cell(values.get(m), changes.get(m)) for m in metrics]
        lines.append(f"| {kind} | {report['turns_by_kind'][kind]} | " + " | ".join(cells) + " |")
    if report["below_thresholds"]:
        lines += ["", "## Below the thresholds", ""]
        lines += [f"- {failure}" for failure in report["below_thresholds"]]
    misses = [r for r in report["results"] if r["scores"].get("refusal_accuracy") == 0.0]
    if misses:
        lines += ["", "## Answer-or-refuse mistakes", ""]
        for r in misses:
            did = "refused" if r["refused"] else "answered"
            expected = f"expected {r['expect']}, {did}"
            lines.append(f"- `{r['id']}` ({r['kind']}, {expected}): {r['question']}")
    lines += ["", "## Metrics", ""]
    lines += [f"- `{m}`: {METRIC_NOTES[m]}" for m in metrics if m in METRIC_NOTES]
    return "\n".join(lines) + "\n"


def write_chart(report: dict[str, Any], path: Path) -> None:
    """A heat map: one row per content kind, one column per metric, the mean in each cell."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt
    import numpy as np

    kinds = list(report["by_kind"])
    metrics = list(report["metrics"])
    grid = np.array(
        [[report["by_kind"][k].get(m, np.nan) for m in metrics] for k in kinds], dtype=float
    )
    figure, axes = plt.subplots(figsize=(0.8 * len(metrics) + 3, 0.5 * len(kinds) + 2.2))
    image = axes.imshow(
        np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto"
    )
    axes.set_xticks(range(len(metrics)), labels=metrics, rotation=40, ha="right")
    axes.set_yticks(range(len(kinds)), labels=kinds)
    for row, col in np.ndindex(grid.shape):
        if not np.isnan(grid[row, col]):
            axes.text(col, row, f"{grid[row, col]:.2f}", ha="center", va="center", fontsize=8)
    axes.set_title(f"{report['dataset']}: metric by content kind")
    figure.colorbar(image, ax=axes, fraction=0.03)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.3f}"


def _cell(value: float | None, change: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if not change else f"{value:.2f} ({change:+.2f})"
