"""`assistant gaps`: the knowledge-gap report on the terminal, as JSON, as Markdown with a
chart, and as eval cases. assistant/cli.py adds it to the `assistant` command."""

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.analytics.options import GapSettings
from assistant.settings import Settings

if TYPE_CHECKING:  # the report pulls in numpy, scipy and the retriever: loaded when run
    from assistant.analytics.gaps import GapReport

DEFAULT_SINCE = "30d"
EXAMPLES = """\
examples:
  assistant gaps                          the last 30 days, as a table
  assistant gaps --since 7d --json        the last week as JSON (the same as GET /v1/analytics/gaps)
  assistant gaps --out reports/           write reports/gaps.md and reports/gaps.png
  assistant gaps --export evals/gaps/     every group as eval cases (assistant eval runs them)
  assistant gaps --export evals/gaps/ --group 59fc2f  one group only (ids are in the report)

A gap is a question that was refused, answered with low confidence, or rated thumbs down.
Similar gaps are grouped; each group says which content to fix or that none exists yet.
Trends compare with the period of the same length just before --since.
The embedded store belongs to one process: while `assistant serve` runs on the same
ASSISTANT_DATA_DIR, ask the server instead: GET /v1/analytics/gaps with an internal key.
"""


def add_gaps_command(commands: Any) -> None:
    """Adds `gaps` to the `assistant` subcommands (`commands` is argparse's subparsers)."""
    gaps = commands.add_parser(
        "gaps",
        help="knowledge-gap report: what customers asked that the content did not answer",
        description="Groups refused, low-confidence and thumbs-down questions from the "
        "question log, with the content to fix or write for each group, the most and never "
        "cited documents, and the answer rate by content kind.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gaps.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        metavar="DATE",
        help="start of the period: 2026-11-01, an ISO date-time, or a span back from now "
        f"such as 12h, 30d, 2w (default {DEFAULT_SINCE})",
    )
    gaps.add_argument(
        "--until", metavar="DATE", help="end of the period, same forms (default: now)"
    )
    gaps.add_argument("--json", action="store_true", help="print the report as one JSON object")
    gaps.add_argument(
        "--out", type=Path, metavar="DIR", help="write gaps.md and gaps.png (a chart) into DIR"
    )
    gaps.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="write the groups as eval cases (gap-<id>.jsonl, the golden format) into DIR",
    )
    gaps.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="ID",
        help="with --export: only this group (an id or its first characters); repeatable",
    )
    defaults = GapSettings()
    gaps.add_argument(
        "--low-confidence",
        type=float,
        default=None,
        metavar="X",
        help="answered questions below this confidence are gaps "
        "(default: the refusal threshold + 0.1)",
    )
    gaps.add_argument(
        "--similarity",
        type=float,
        default=defaults.min_similarity,
        metavar="X",
        help="how alike (cosine, 0-1) questions must be to share a group "
        f"(default {defaults.min_similarity}; higher gives more, smaller groups)",
    )
    gaps.add_argument(
        "--limit",
        type=int,
        default=defaults.max_groups,
        metavar="N",
        help=f"at most N groups, largest first (default {defaults.max_groups})",
    )


def run_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.analytics.export import export_cases
    from assistant.analytics.gaps import GapAnalyzer, parse_since
    from assistant.analytics.report import write_report
    from assistant.wiring import build_components

    try:
        since = parse_since(args.since)
        until = parse_since(args.until) if args.until else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if until is not None and until <= since:
        print("error: --until must be later than --since.", file=sys.stderr)
        return 2
    if args.group and not args.export:
        print("error: --group selects groups to export; add --export DIR.", file=sys.stderr)
        return 2
    components = build_components(settings)
    try:
        if components.question_log is None:  # build_components always makes one
            raise RuntimeError("the question log is not configured")
        analyzer = GapAnalyzer(
            components.question_log,
            components.retriever,
            settings=gap_settings(
                settings,
                low_confidence=args.low_confidence,
                similarity=args.similarity,
                limit=args.limit,
            ),
        )
        documents = [m.document for m in components.store.manifests().values()]
        report = analyzer.report(since=since, until=until, documents=documents)
    finally:
        components.close()

    if args.export:
        try:
            files = export_cases(report, args.export, group_ids=args.group)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(files)} eval case files to {args.export}", file=sys.stderr)
    if args.out:
        markdown, chart = write_report(report, args.out)
        print(f"wrote {markdown} and {chart}", file=sys.stderr)
    if args.json:
        print(report.model_dump_json(indent=2))
    elif not (args.export or args.out):
        print(summary_text(report))
    return 0


def gap_settings(
    settings: Settings,
    *,
    low_confidence: float | None = None,
    similarity: float | None = None,
    limit: int | None = None,
) -> GapSettings:
    """The report's knobs: the defaults, the low-confidence line just above the refusal
    threshold, and any the caller gave."""
    defaults = GapSettings()
    return GapSettings(
        low_confidence_below=low_confidence
        if low_confidence is not None
        else round(settings.refusal_threshold + 0.1, 3),
        min_similarity=similarity if similarity is not None else defaults.min_similarity,
        write_below=defaults.write_below,
        max_groups=limit if limit is not None else defaults.max_groups,
    )


def summary_text(report: "GapReport") -> str:
    """A terminal-sized view: totals, then one line per group. Questions, titles and names
    show as text: an escape sequence in a logged question never reaches the terminal."""
    from assistant.analytics.report import visible

    lines = [
        f"{report.questions} questions {_day(report.since)} to {_day(report.until)}: "
        f"{report.answered} answered ({report.answer_rate:.0%}), {report.refused} refused, "
        f"{report.low_confidence} low confidence, {report.thumbs_down} thumbs down",
        "",
    ]
    if not report.groups:
        lines.append("No gaps in this period.")
    for group in report.groups:
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in group.reasons.items())
        lines.append(
            f"{group.count:>4}  {group.trend:<4}  [{group.id}] {visible(group.label)}\n"
            f"        {reasons}; {visible(group.suggestion)}"
        )
    if report.never_cited:
        lines += ["", f"never cited: {len(report.never_cited)} documents (see --json or --out)"]
    if report.top_contributors:
        credits = ", ".join(f"{visible(c.author)} ({c.answers})" for c in report.top_contributors)
        lines += ["", f"top community contributors (answers citing their posts): {credits}"]
    return "\n".join(lines)


def _day(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"
