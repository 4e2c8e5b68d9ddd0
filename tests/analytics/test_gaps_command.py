"""`assistant gaps` on the data folder of the gap tests, through the command's entry point."""

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.settings import Settings
from evals.cases import load_cases
from tests.analytics.conftest import PAYROLL


def test_json_markdown_and_export_in_one_run(
    gap_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(gap_settings.data_dir))
    if gap_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", gap_settings.database_url)
    code = main(
        ["gaps", "--since", "7d", "--json", "--out", str(tmp_path / "report"),
         "--export", str(tmp_path / "cases")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    payroll = next(g for g in report["groups"] if PAYROLL[0] in g["questions"])
    assert payroll["action"] == "write" and payroll["trend"] == "up"
    assert "wrote" in err and (tmp_path / "report" / "gaps.md").is_file()
    assert (tmp_path / "report" / "gaps.png").read_bytes().startswith(b"\x89PNG")
    assert len(load_cases(tmp_path / "cases")) == sum(len(g["questions"]) for g in report["groups"])

    assert main(["gaps", "--since", "7d"]) == 0
    table = capsys.readouterr().out
    assert f"[{payroll['id']}] {payroll['label']}" in table and "no content: write it" in table


def test_usage_errors_exit_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", "--since", "last tuesday"]) == 2
    assert "30d" in capsys.readouterr().err
    assert main(["gaps", "--group", "abc"]) == 2
    assert "--export" in capsys.readouterr().err
    assert main(["gaps", "--since", "2026-11-02", "--until", "2026-11-01"]) == 2
    assert "later" in capsys.readouterr().err


def test_resolution_alone_and_in_the_report(
    gap_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--resolution` reads the app database alone; the full report has it as a section. The
    gap questions were asked as eight conversations, each ended after a tiny window."""
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(gap_settings.data_dir))
    if gap_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", gap_settings.database_url)
    assert main(["analytics", "--resolution", "--since", "7d", "--window", "0.001", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["conversations"], report["open"], report["escalated"]) == (8, 0, 0)
    assert report["unresolved"] >= 6 and report["resolved_assumed"] >= 1  # refusals, rated down
    assert {s["value"] for s in report["by_mode"]} == {"customer", "agent"}

    assert main(["gaps", "--since", "7d", "--window", "0.001"]) == 0
    table = capsys.readouterr().out
    assert "8 conversations: " in table and "unresolved" in table and "kind kb: " in table


def test_resolution_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analytics", "--window", "0"]) == 2
    assert "--window" in capsys.readouterr().err
    assert main(["analytics", "--resolution", "--out", "reports"]) == 2
    assert "--resolution" in capsys.readouterr().err
