"""The CI quality gate: the offline suite on corpora/ must meet evals/thresholds.json.

The default run asks the `--sample 2` subset (2 cases of each kind in each golden file, every
kind of case included) to stay within the test budget; the whole golden set runs with
`-m slow` and with `assistant eval`.
"""

from pathlib import Path
from typing import Any

import pytest

from assistant.embedders import Embedder
from assistant.settings import Settings
from evals.command import THRESHOLDS, evaluate
from evals.datasets import load_dataset, sample
from evals.report import read_json

GATE_SAMPLE = 2


def run_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder, per_kind: int | None
) -> dict[str, Any]:
    data_dir = tmp_path / "configured-data-dir"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data_dir))
    for name in ("LLM_BASE_URL", "ASSISTANT_LLM_BASE_URL", "QDRANT_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    dataset = load_dataset(None)
    if per_kind:
        dataset = sample(dataset, per_kind=per_kind)
    out = tmp_path / "report"
    report = evaluate(
        dataset,
        Settings(_env_file=None),  # type: ignore[call-arg]
        out=out,
        sample_per_kind=per_kind,
        embedder=embedder,
    )
    assert not data_dir.exists(), "the eval must index into its own temporary data dir"
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "chart.png"}
    return report


def test_offline_suite_on_corpora_meets_the_thresholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder: Embedder
) -> None:
    report = run_gate(tmp_path, monkeypatch, real_embedder, GATE_SAMPLE)
    thresholds = read_json(THRESHOLDS)
    assert thresholds and set(thresholds["min"]) <= set(report["metrics"])
    assert report["below_thresholds"] == [], (tmp_path / "report" / "report.md").read_text()


@pytest.mark.slow
def test_whole_golden_set_meets_the_thresholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder: Embedder
) -> None:
    report = run_gate(tmp_path, monkeypatch, real_embedder, None)
    assert report["below_thresholds"] == [], (tmp_path / "report" / "report.md").read_text()
