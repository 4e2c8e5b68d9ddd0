"""README's benchmark tables come from the result files, and the result files say where they
came from: scripts/results_tables.py on the committed files and on changed copies of them, and
benchmarks/common.py's write_results in a throwaway git repository."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks import common
from scripts import results_tables
from scripts.results_tables import RESULTS, commit_of, main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_tables_match_the_committed_result_files() -> None:
    """Fails when a benchmark was re-run, or a README table edited, without `--write`."""
    assert main(["--check", str(README)]) == 0


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    """The committed result files and README, copied to change."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    readme = tmp_path / "README.md"
    shutil.copy(README, readme)
    return results, readme


def _hit_at_1(text: str) -> dict[str, str]:
    """The retrieval table's hit@1 cell of each row, as README shows it."""
    start = text.index("<!-- results-table: retrieval -->")
    table = text[start : text.index("<!-- /results-table -->", start)]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return {row[0].removeprefix("| "): row[1] for row in rows[1:]}


def test_a_changed_result_makes_readme_stale_until_written(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    results, readme = copies
    path = results / "retrieval.json"
    retrieval = json.loads(path.read_text())
    for run in retrieval["results"].values():
        run["hit@1"] = 0.75  # a tie for the best: nothing bold
    retrieval["results"]["ours"]["hit@1"] = 0.5
    path.write_text(json.dumps(retrieval))

    assert main(["--check", str(readme), "--results", str(results)]) == 1
    assert "retrieval" in capsys.readouterr().err
    assert main(["--write", str(readme), "--results", str(results)]) == 0
    assert main(["--check", str(readme), "--results", str(results)]) == 0
    written = _hit_at_1(readme.read_text())
    assert written == {name: "0.750" for name in retrieval["results"]} | {"ours": "0.500"}

    retrieval["results"]["ours"]["hit@1"] = 0.9
    path.write_text(json.dumps(retrieval))
    assert main(["--write", str(readme), "--results", str(results)]) == 0
    assert _hit_at_1(readme.read_text())["ours"] == "**0.900**"
    # Nothing outside the retrieval table changed.
    before, after = README.read_text().splitlines(), readme.read_text().splitlines()
    changed = [old for old, new in zip(before, after, strict=True) if old != new]
    assert changed and all(line.startswith("| ") for line in changed)
    assert set(changed) <= {line for line in before if line.count(" | ") == 4}


def test_the_commit_is_read_however_a_file_recorded_it() -> None:
    full = "914c1cf73e7472d9df3f4bd0532085f7e3b54bac"
    assert commit_of({"commit": full, "dirty": True}) == (full, True)
    assert commit_of({"commit": full, "dirty": False}) == (full, False)
    assert commit_of({"commit": "3e7d926+dirty"}) == ("3e7d926", True)  # before `dirty`
    assert commit_of({"commit": "cde603e"}) == ("cde603e", False)
    assert commit_of({"commit": "unknown", "dirty": None}) == (None, None)
    assert commit_of({}) == (None, None)  # before commits were recorded


def test_a_missing_or_misshapen_result_file_is_named(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    results, readme = copies
    (results / "load.json").unlink()
    assert main(["load", "--results", str(results)]) == 2
    assert "python -m benchmarks.load" in capsys.readouterr().err
    (results / "answers.json").write_text(json.dumps({"results": {"ours": {}}}))
    assert main(["--check", str(readme), "--results", str(results)]) == 2
    assert "answers" in capsys.readouterr().err


def test_markers_must_pair_and_name_a_table(tmp_path: Path) -> None:
    unclosed = tmp_path / "unclosed.md"
    unclosed.write_text("<!-- results-table: retrieval -->\nold\n")
    assert main(["--check", str(unclosed)]) == 2
    unknown = tmp_path / "unknown.md"
    unknown.write_text("<!-- results-table: speed -->\n<!-- /results-table -->\n")
    assert main(["--write", str(unknown)]) == 2
    nothing = tmp_path / "nothing.md"
    nothing.write_text("# No tables\n")
    assert main(["--check", str(nothing)]) == 2  # a check of nothing must not pass


def test_help_shows_the_markers_and_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "<!-- results-table: retrieval -->" in shown and "--write README.md" in shown
    assert all(name in shown for name in results_tables.TABLES)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_write_results_records_the_commit_a_dirty_tree_and_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    results = repo / "benchmarks" / "results"
    results.mkdir(parents=True)
    (repo / "code.py").write_text("A = 1\n")
    (results / "old.json").write_text("{}")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    monkeypatch.setattr(common, "ROOT", repo)
    monkeypatch.setattr(common, "RESULTS", results)

    def written() -> dict:  # type: ignore[type-arg]
        return json.loads(common.write_results("demo", {"x": 1}, results / "demo.json").read_text())

    clean = written()
    assert clean["commit"] == _git(repo, "rev-parse", "HEAD")
    assert (clean["dirty"], clean["dirty_files"]) == (False, [])
    (results / "old.json").write_text('{"changed": true}')  # a result file: not what is measured
    (repo / "notes.txt").write_text("untracked")
    assert written()["dirty"] is False
    (repo / "code.py").write_text("A = 2\n")
    dirty = written()
    assert (dirty["dirty"], dirty["dirty_files"]) == (True, ["code.py"])

    # The keys readers already used are still there beside the new ones.
    assert dirty["benchmark"] == "demo" and dirty["x"] == 1 and dirty["machine"]
    assert dirty["cores"] >= 1 and len(dirty["load_average"]) == 3
    assert set(common.RECORDED_PACKAGES) == set(dirty["packages"])
    assert dirty["packages"]["numpy"]
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and "model name" in cpuinfo.read_text():
        assert dirty["cpu"] and dirty["cpu"] in cpuinfo.read_text()

    table = results_tables.provenance_table(results)
    assert f"| `demo.json` | {dirty['at'][:10]} | `{dirty['commit'][:7]}` | yes |" in table


def test_outside_git_the_commit_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    monkeypatch.setattr(common, "ROOT", tmp_path)
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    data = json.loads(common.write_results("demo", {}, results / "demo.json").read_text())
    assert (data["commit"], data["dirty"], data["dirty_files"]) == ("unknown", None, None)
    assert commit_of(data) == (None, None)
