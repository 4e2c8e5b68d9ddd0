"""`assistant eval`: arguments, the run, the reports and the exit code.

Kept free of heavy imports at module level: `assistant --help` must stay fast.
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.embedders import Embedder
    from assistant.settings import Settings
    from evals.datasets import Dataset

EVALS = Path(__file__).resolve().parent
BASELINE = EVALS / "baseline.json"
THRESHOLDS = EVALS / "thresholds.json"

DESCRIPTION = """\
Runs the assistant on every golden case and scores it with Ragas: context precision and
recall on document ids, semantic similarity (MiniLM) and ROUGE-L against the reference answer,
plus refusal accuracy, leak checks and citation accuracy. With LLM_BASE_URL and LLM_MODEL set,
an LLM judge adds faithfulness, answer relevancy and LLM context precision.

The content is indexed into a temporary data dir (./data is never touched). Writes
report.json, report.md and chart.png to --out, with the difference from the baseline; exits 1
when a metric is below its threshold (evals/thresholds.json), so CI can gate on it."""

EPILOG = """\
examples:
  assistant eval                                   corpora/ with the golden set in evals/golden/
  assistant eval --dataset ../shared/datasets/samsung-tv   a docs/ + questions.jsonl folder
  assistant eval --dataset my-content/ --cases my-cases/   your content, your golden JSONL
  assistant eval --cases evals/golden --cases gaps-export/ add exported knowledge-gap cases
  assistant eval --sample 2                        2 cases per kind and file: a quick check
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        help="content folder to index (default: corpora/); a folder with docs/ and "
        "questions.jsonl brings its own questions",
    )
    parser.add_argument(
        "--cases",
        type=Path,
        action="append",
        metavar="FILE_OR_DIR",
        help="golden JSONL file or folder of *.jsonl (repeatable; default for corpora/: "
        "evals/golden/)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("eval-report"), help="report folder (default: eval-report)"
    )
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="baseline to compare with")
    parser.add_argument(
        "--thresholds", type=Path, default=THRESHOLDS, help="minimum per metric (the gate)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="ask only the first N cases of each kind in each case file (quick checks; the CI "
        "gate uses 2)",
    )
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help="also save this run's means in the baseline file (replacing its run of the same "
        "dataset and sample size)",
    )


def run(args: argparse.Namespace, settings: object) -> int:
    """Runs the suite; 0 when every metric meets its threshold, 1 when one does not."""
    from assistant.settings import Settings
    from evals.cases import CaseError
    from evals.datasets import load_dataset, sample

    assert isinstance(settings, Settings)
    try:
        dataset = load_dataset(args.dataset, case_paths=args.cases)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.sample:
        dataset = sample(dataset, per_kind=args.sample)
    report = evaluate(
        dataset,
        settings,
        out=args.out,
        sample_per_kind=args.sample,
        baseline=args.baseline,
        thresholds=args.thresholds,
        write_baseline=args.write_baseline,
        progress=lambda m: print(m, file=sys.stderr),
    )
    print((args.out / "report.md").read_text(encoding="utf-8").split("\n## By content kind")[0])
    print(f"wrote {args.out}/report.json, report.md and chart.png")
    if args.write_baseline:
        print(f"wrote baseline {args.baseline}")
    if report["below_thresholds"]:
        print("\nbelow the thresholds:", file=sys.stderr)
        for failure in report["below_thresholds"]:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def evaluate(
    dataset: "Dataset",
    settings: "Settings",
    *,
    out: Path,
    sample_per_kind: int | None = None,
    baseline: Path | None = BASELINE,
    thresholds: Path | None = THRESHOLDS,
    write_baseline: bool = False,
    embedder: "Embedder | None" = None,
    progress: "Callable[[str], None] | None" = None,
) -> dict[str, Any]:
    """Runs `dataset`, writes the reports to `out` (and the baseline when asked); the report."""
    import json

    from evals.report import build_report, read_json, summarize, with_run, write_reports
    from evals.runner import run_eval

    evaluation = run_eval(dataset, settings, embedder=embedder, progress=progress)
    report = build_report(
        evaluation.records,
        dataset=dataset.name,
        sample=sample_per_kind,
        baseline=read_json(baseline),
        thresholds=read_json(thresholds),
        extra={
            "judge_model": evaluation.judge_model,
            "chunks_indexed": evaluation.chunks_indexed,
            "seconds": round(evaluation.seconds, 1),
        },
    )
    write_reports(report, out)
    if write_baseline and baseline is not None:
        summary = summarize(evaluation.records, dataset=dataset.name, sample=sample_per_kind)
        updated = with_run(read_json(baseline), summary)
        baseline.write_text(json.dumps(updated, indent=2) + "\n", encoding="utf-8")
    return report
