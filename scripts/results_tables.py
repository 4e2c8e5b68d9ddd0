"""README's benchmark tables, rendered from the result files the benchmarks wrote.

Every number in README.md about quality or speed is a measurement, and a measurement lives in
a result file (benchmarks/results/NAME.json, written by `python -m benchmarks.NAME`), not in
prose. The tables README shows are rendered from those files by this script, never typed, and
README marks where each one goes:

    <!-- results-table: retrieval -->
    (the rendered table: replaced by --write, compared by --check)
    <!-- /results-table -->

Each table opens with where its numbers come from: the file, when it ran, the commit and
whether the tree had uncommitted changes, the cores and how busy they were (what
benchmarks/common.py's write_results records; older files record less, and say so). The
`provenance` table lists that for every result file.

    python -m scripts.results_tables                    # every table, with its markers
    python -m scripts.results_tables retrieval load     # only these
    python -m scripts.results_tables --write README.md  # replace the marked tables in place
    python -m scripts.results_tables --check README.md  # exit 1 if a marked table is stale
    python -m scripts.results_tables --list             # the tables and the files they read

After re-running a benchmark: `--write README.md`, then read README's sentences that quote
that benchmark (they name it) against the new file, and commit the result file and README
together. tests/test_results_tables.py runs `--check` on README.md.
"""

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
_OPEN = "<!-- results-table: "
_CLOSE = "<!-- /results-table -->"
_BLOCK = re.compile(
    rf"(?P<open>{_OPEN}(?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close>{_CLOSE})", re.DOTALL
)
_DASH = "–"  # a value the result file does not hold
_DIRTY_SAYS: dict[bool | None, str] = {True: "yes", False: "no", None: _DASH}

Result = dict[str, Any]


class ResultsError(Exception):
    """A result file is missing or not what a table expects, or README's markers are wrong."""


@dataclass(frozen=True)
class Table:
    reads: str  # what it is rendered from, for --list
    render: Callable[[Path], str]


def load(results: Path, name: str) -> Result:
    path = results / f"{name}.json"
    if not path.is_file():
        raise ResultsError(f"no {path}: run `python -m benchmarks.{name}` to write it")
    data: Result = json.loads(path.read_text(encoding="utf-8"))
    return data


def commit_of(result: Result) -> tuple[str | None, bool | None]:
    """The commit a result was measured at and whether the tree had uncommitted changes to
    tracked files: `commit` and `dirty` as write_results records them. Files written before
    the separate flag mark a dirty tree with a "+dirty" suffix on the commit (no suffix: a
    clean one); older files record no commit, and both come back None."""
    commit = result.get("commit")
    if not isinstance(commit, str) or not commit or commit == "unknown":
        return None, None
    if commit.endswith("+dirty"):
        return commit.removesuffix("+dirty"), True
    dirty = result.get("dirty", False)
    return commit, None if dirty is None else bool(dirty)


def cores_of(result: Result) -> int | None:
    """The machine's cores: `cores`, or `cpus` in the files of benchmarks that recorded it
    themselves before write_results did."""
    cores = result.get("cores") or result.get("cpus")
    return int(cores) if cores else None


def provenance(name: str, result: Result) -> str:
    """One sentence: the file, when it ran, at which commit, on how many cores how busy."""
    parts = [f"`benchmarks/results/{name}.json`", f"run {str(result.get('at', '?'))[:10]}"]
    commit, dirty = commit_of(result)
    if commit is None:
        parts.append("commit not recorded")
    else:
        state = ""
        if dirty is None:
            state = ", tree state not recorded"
        elif dirty:
            state = " with uncommitted changes"
        parts.append(f"commit `{commit[:7]}`{state}")
    if cores := cores_of(result):
        load_average = result.get("load_average")
        busy = f", load average {load_average[0]:.1f}" if load_average else ""
        parts.append(f"{cores} cores{busy}")
    return "From " + ", ".join(parts) + "."


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fraction(value: float | None) -> str:
    return _DASH if value is None else f"{value:.3f}"


def percent(value: float | None) -> str:
    return _DASH if value is None else f"{100 * value:.1f}%"


def number(value: float | None, digits: int = 1) -> str:
    return _DASH if value is None else f"{value:,.{digits}f}"


def bold_unique_best(rows: list[list[str]], columns: Sequence[int]) -> list[list[str]]:
    """The highest value of each column in bold when one row alone has it (a tie marks none)."""
    rows = [list(row) for row in rows]
    for column in columns:
        values = [float(row[column]) for row in rows if row[column] != _DASH]
        if values and values.count(best := max(values)) == 1:
            for row in rows:
                if row[column] != _DASH and float(row[column]) == best:
                    row[column] = f"**{row[column]}**"
    return rows


def retrieval(results: Path) -> str:
    result = load(results, "retrieval")
    rows = [
        [name, *(fraction(m[key]) for key in ("hit@1", "hit@5", "hit@10", "mrr@10"))]
        for name, m in result["results"].items()
    ]
    table = markdown(
        ["retriever", "hit@1", "hit@5", "hit@10", "MRR@10"], bold_unique_best(rows, [1, 2, 3, 4])
    )
    return f"{provenance('retrieval', result)} {result['questions']} questions.\n\n{table}"


def answers(results: Path) -> str:
    result = load(results, "answers")
    rows = []
    for name, run in result["results"].items():
        every = run["all"]
        rows.append(
            [
                name,
                percent(every["answer_rate"]),
                percent(every["gold_section_cited"]),
                fraction(every["rouge_l_recall"]),
                fraction(every["rouge_l_precision"]),
                number(every["median_words"], 0),
                fraction(every["semantic_similarity"]),
            ]
        )
    headers = [
        "answer",
        "answered",
        "gold section cited",
        "ROUGE-L recall",
        "ROUGE-L precision",
        "median words",
        "semantic similarity",
    ]
    return (
        f"{provenance('answers', result)} {result['questions']} expert answers, dev and held-out"
        f" thirds together.\n\n{markdown(headers, rows)}"
    )


def conversations(results: Path) -> str:
    result = load(results, "conversations")
    rows = []
    for name, run in result["results"].items():
        rows.append(
            [
                name,
                percent(run["dev"]["ANSWERABLE"]["gold_cited"]),
                percent(run["held-out"]["ANSWERABLE"]["gold_cited"]),
                percent(run["dev"]["UNANSWERABLE"]["refused"]),
                percent(run["held-out"]["UNANSWERABLE"]["refused"]),
                number(run.get("p50_ms")),
            ]
        )
    headers = [
        "conversation",
        "answerable: gold cited (dev)",
        "(held out)",
        "unanswerable: refused (dev)",
        "(held out)",
        "ms a turn, p50",
    ]
    counts = next(iter(result["results"].values()))
    sizes = ", ".join(
        f"{counts[part]['ANSWERABLE']['conversations']} answerable and "
        f"{counts[part]['UNANSWERABLE']['conversations']} unanswerable {label}"
        for part, label in (("dev", "dev"), ("held-out", "held out"))
    )
    return (
        f"{provenance('conversations', result)} Final turns of {sizes}; refusal threshold "
        f"{result['refusal_threshold']}.\n\n{markdown(headers, rows)}"
    )


def load_table(results: Path) -> str:
    result = load(results, "load")
    rows = [
        [
            f"{run['chunks']:,}",
            run["answer_cache"],
            run["load"],
            number(run["rps"]),
            number(run["p50_ms"]),
            number(run["p95_ms"]),
            number(run["p99_ms"]),
            number(run["server_cpu_ms_per_request"]),
            str(run["errors"]),
            number(run.get("other_cpu_cores"), 2),
        ]
        for run in result["results"]
    ]
    headers = [
        "chunks",
        "answer cache",
        "load",
        "answers/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "server CPU ms an answer",
        "errors",
        "other processes' cores",
    ]
    return (
        f"{provenance('load', result)} {result['clients']} clients, {result['route']}, "
        f"{result['duration_s']:.0f} s a row.\n\n{markdown(headers, rows)}"
    )


def provenance_table(results: Path) -> str:
    rows = []
    for path in sorted(results.glob("*.json")):
        result = load(results, path.stem)
        commit, dirty = commit_of(result)
        load_average = result.get("load_average")
        rows.append(
            [
                f"`{path.name}`",
                str(result.get("at", _DASH))[:10],
                _DASH if commit is None else f"`{commit[:7]}`",
                _DIRTY_SAYS[dirty],
                str(result.get("cpu") or _DASH),
                str(cores_of(result) or _DASH),
                " / ".join(f"{x:.2f}" for x in load_average) if load_average else _DASH,
            ]
        )
    headers = [
        "result file",
        "run",
        "commit",
        "uncommitted changes",
        "CPU",
        "cores",
        "load average",
    ]
    return markdown(headers, rows)


TABLES: dict[str, Table] = {
    "retrieval": Table("retrieval.json", retrieval),
    "answers": Table("answers.json", answers),
    "conversations": Table("conversations.json", conversations),
    "load": Table("load.json", load_table),
    "provenance": Table("every *.json: when, where and at which commit", provenance_table),
}


def render(name: str, results: Path = RESULTS) -> str:
    if name not in TABLES:
        raise ResultsError(f"no table {name!r}; the tables are {', '.join(TABLES)}")
    try:
        return TABLES[name].render(results)
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsError(
            f"{name}: a result file is not shaped as expected ({error!r})"
        ) from error


def block(name: str, results: Path = RESULTS) -> str:
    return f"{_OPEN}{name} -->\n{render(name, results)}\n{_CLOSE}"


def refresh(text: str, results: Path = RESULTS) -> tuple[str, list[str]]:
    """`text` with every marked table rendered anew, and the names of those that changed."""
    blocks = list(_BLOCK.finditer(text))
    if not blocks:
        raise ResultsError(f"no table marked with {_OPEN}NAME --> ... {_CLOSE}")
    if text.count(_OPEN) != len(blocks) or text.count(_CLOSE) != len(blocks):
        raise ResultsError(f"every {_OPEN}NAME --> needs its own {_CLOSE} after it")
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        body = render(match["name"], results) + "\n"
        if body != match["body"]:
            changed.append(match["name"])
        return match["open"] + body + match["close"]

    return _BLOCK.sub(replace, text), changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.results_tables",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="tables: " + ", ".join(TABLES),
    )
    parser.add_argument("tables", nargs="*", metavar="TABLE", help="tables to print (default: all)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="FILE", help="re-render FILE's marked tables")
    action.add_argument(
        "--check", type=Path, metavar="FILE", help="exit 1 when a marked table in FILE is stale"
    )
    action.add_argument("--list", action="store_true", help="the tables and what they read")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, metavar="DIR", help="default: benchmarks/results"
    )
    args = parser.parse_args(argv)
    if args.tables and (args.write or args.check or args.list):
        parser.error("name tables only to print them: --write and --check render every marked one")
    try:
        if args.list:
            for name, table in TABLES.items():
                print(f"{name}: {table.reads}")
            return 0
        target = args.write or args.check
        if target is None:
            print("\n\n".join(block(name, args.results) for name in args.tables or TABLES))
            return 0
        text = target.read_text(encoding="utf-8")
        refreshed, changed = refresh(text, args.results)
        if args.check:
            if changed:
                print(f"{target}: stale tables: {', '.join(changed)}; run --write", file=sys.stderr)
                return 1
            return 0
        if changed:
            target.write_text(refreshed, encoding="utf-8")
        print(f"{target}: {', '.join(changed) or 'no tables'} re-rendered")
        return 0
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
