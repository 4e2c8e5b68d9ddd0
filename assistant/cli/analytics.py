"""`assistant analytics` (also `assistant gaps`, its first name): the knowledge-gap report and
the resolution report on the terminal, as JSON, as Markdown with a chart, and the gaps as eval
cases. assistant/cli/commands.py adds it to the `assistant` command."""

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.analytics.options import GapSettings
from assistant.settings import Settings

if TYPE_CHECKING:  # the report pulls in numpy, scipy and the retriever: loaded when run
    from assistant.analytics.gap_report import GapReport
    from assistant.analytics.resolution import ResolutionReport

COMMAND = "analytics"
ALIASES = ["gaps"]  # its first name, the one shared/CONTRACT.md gives
DEFAULT_SINCE = "30d"
MAX_WINDOW_MINUTES = 7 * 24 * 60
EXAMPLES = """\
examples:
  assistant analytics                     the last 30 days, as a table (also: assistant gaps)
  assistant analytics --since 7d --json   the last week as JSON (the same as GET /v1/analytics/gaps)
  assistant analytics --resolution        resolution rates only (runs beside `assistant serve`)
  assistant analytics --out reports/      write reports/gaps.md and reports/gaps.png
  assistant analytics --export evals/gaps/  every gap group as eval cases (assistant eval runs them)
  assistant analytics --export evals/gaps/ --group 59fc2f  one group only (ids are in the report)

A gap is a question that was refused, answered with low confidence, rated thumbs down, or
asked in a conversation that ended unresolved. Similar gaps are grouped; each group says which
content to fix or that none exists yet. Trends compare with the period of the same length just
before --since.
A conversation is resolved (confirmed by a thumbs up, or assumed when it ends on an answer
nobody rated down), escalated (someone asked for a person) or unresolved (it ends on a
refusal or a thumbs down); it ends after --window minutes without news.
The embedded store belongs to one process: while `assistant serve` runs on the same
ASSISTANT_DATA_DIR, ask the server instead (GET /v1/analytics/gaps with an internal key), or
use --resolution, which reads the app database only.
"""


def add_gaps_command(commands: Any) -> None:
    """Adds `analytics` (and its first name, `gaps`) to the `assistant` subcommands
    (`commands` is argparse's subparsers)."""
    gaps = commands.add_parser(
        COMMAND,
        aliases=ALIASES,
        help="knowledge gaps and resolution rates: what the content did not answer, and "
        "which conversations it resolved",
        description="Groups refused, low-confidence, thumbs-down and unresolved questions "
        "from the question log, with the content to fix or write for each group, the most and "
        "never cited documents, and the answer rate by content kind; and the resolution and "
        "escalation rates of the conversations, over time, by content kind, page and mode.",
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
    gaps.add_argument(
        "--resolution",
        action="store_true",
        help="only the resolution report: reads the app database alone (no index, no model), "
        "so it runs while `assistant serve` holds the embedded store",
    )
    gaps.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="MINUTES",
        help="a conversation with nothing new for this long has ended "
        "(default: ASSISTANT_RESOLUTION_WINDOW_MINUTES, 30)",
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
    from assistant.analytics.resolution import ResolutionAnalyzer
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
    if args.window is not None and not 0 < args.window <= MAX_WINDOW_MINUTES:
        print(
            f"error: --window is in minutes, more than 0 and at most {MAX_WINDOW_MINUTES} "
            "(a week).",
            file=sys.stderr,
        )
        return 2
    window = dt.timedelta(minutes=args.window or settings.resolution_window_minutes)
    if args.resolution:
        if args.export or args.out:
            print(
                "error: --export and --out write the gap report; drop --resolution.",
                file=sys.stderr,
            )
            return 2
        return _run_resolution(args, settings, since=since, until=until, window=window)
    components = build_components(settings)
    try:
        if components.question_log is None or components.escalations is None:
            raise RuntimeError("the question log is not configured")  # build_components makes it
        analyzer = GapAnalyzer(
            components.question_log,
            components.retriever,
            settings=gap_settings(
                settings,
                low_confidence=args.low_confidence,
                similarity=args.similarity,
                limit=args.limit,
            ),
            resolution=ResolutionAnalyzer(
                components.question_log,
                components.feedback,
                components.escalations,
                window=window,
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


def _run_resolution(
    args: argparse.Namespace,
    settings: Settings,
    *,
    since: dt.datetime,
    until: dt.datetime | None,
    window: dt.timedelta,
) -> int:
    """The resolution report alone, from the app database."""
    from assistant.analytics.resolution import ResolutionAnalyzer
    from assistant.records.escalations import EscalationStore
    from assistant.records.feedback import FeedbackStore
    from assistant.records.question_log import QuestionLog
    from assistant.records.sessions import SessionStore

    sessions = SessionStore(settings.database)
    try:
        engine = sessions.engine
        report = ResolutionAnalyzer(
            QuestionLog(engine),  # no retention: purging is the server's job
            FeedbackStore(engine),
            EscalationStore(engine),
            window=window,
        ).report(since=since, until=until)
    finally:
        sessions.close()
    print(report.model_dump_json(indent=2) if args.json else resolution_text(report))
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
        f"{report.low_confidence} low confidence, {report.thumbs_down} thumbs down, "
        f"{report.unresolved} only in unresolved conversations",
        "",
    ]
    if report.resolution is not None:
        lines += [resolution_text(report.resolution, dates=False), ""]
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


def resolution_text(report: "ResolutionReport", *, dates: bool = True) -> str:
    """The resolution report on a terminal: the rates, then one line per kind, mode and the
    busiest pages (pages are client text: shown as text only)."""
    from assistant.analytics.report import visible

    period = f" {_day(report.since)} to {_day(report.until)}" if dates else ""
    lines = [
        f"{_conversations(report.conversations)}{period}: {report.resolved} resolved "
        f"({report.resolution_rate:.0%}; {report.resolved_confirmed} confirmed, "
        f"{report.resolved_assumed} assumed), {report.escalated} escalated "
        f"({report.escalation_rate:.0%}), {report.unresolved} unresolved, "
        f"{report.open} still open (window {report.window_minutes:g} min)"
    ]
    for title, slices, empty in (
        ("kind", report.by_kind, "none cited"),
        ("mode", report.by_mode, "none"),
        ("page", report.by_page[:10], "no page"),
    ):
        for part in slices:
            value = visible(part.value) if part.value is not None else f"({empty})"
            lines.append(
                f"  {title} {value}: {_conversations(part.conversations)}, "
                f"{part.resolution_rate:.0%} resolved, {part.escalation_rate:.0%} escalated"
            )
    return "\n".join(lines)


def _conversations(count: int) -> str:
    return f"{count} conversation" if count == 1 else f"{count} conversations"


def _day(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"
