"""`assistant eval` from the command line: usage errors come before any model or index."""

from pathlib import Path

import pytest

from assistant.cli import main


def test_a_bad_case_file_exits_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "x", "question": "Hi?", "mode": "admin"}\n', encoding="utf-8")
    assert main(["eval", "--cases", str(cases), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert f"{cases}:1:" in error and "`mode` must be one of" in error
    assert not (tmp_path / "out").exists()


def test_content_without_cases_exits_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--dataset", str(tmp_path)]) == 2
    assert "--cases FILE_OR_FOLDER" in capsys.readouterr().err


def test_help_teaches_the_datasets_and_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["eval", "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    assert "--dataset ../shared/datasets/samsung-tv" in text
    assert "--cases" in text and "--sample" in text and "thresholds" in text
