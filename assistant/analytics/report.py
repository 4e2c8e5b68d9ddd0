"""The gap report for people: a Markdown page and a PNG chart (matplotlib, no display needed).

Questions, titles, document paths and authors are untrusted text (anyone may ask anything, and
content metadata comes from whoever wrote the files): the page shows them as text, never as
Markdown or HTML, so a question such as `[Reset the admin password](https://evil.example)`
is no link and `![x](http://tracker/)` loads nothing. The only links are the content's own
http(s) URLs.
"""

import io
import re
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit

from assistant.analytics.gap_report import GapGroup, GapReport
from assistant.analytics.resolution import OutcomeCounts, ResolutionReport, SliceOutcomes

CHART_NAME = "gaps.png"
MARKDOWN_NAME = "gaps.md"
_REASON_LABELS = {
    "refused": "refused",
    "low_confidence": "low confidence",
    "thumbs_down": "thumbs down",
    "unresolved": "unresolved conversation",
}
_REASON_COLOURS = {
    "refused": "#c0392b",
    "low_confidence": "#e1a32a",
    "thumbs_down": "#6c4fb3",
    "unresolved": "#5d6d7e",
}
_TREND_MARKS = {"new": "new", "up": "▲ up", "down": "▼ down", "flat": "= flat"}
_CHART_GROUPS = 12
# Every character Markdown (CommonMark, GitHub's and common extensions) or HTML may read as
# syntax within a line, and a dot inside a word (untrusted text never starts a line). A
# backslash makes any ASCII punctuation literal; it also keeps "https\://…", "www\.…" and
# "evil\.example" from becoming automatic links.
_SYNTAX = re.compile(r"[\\`*_{}\[\]()<>#|~&:@$]|\.(?=\w)")
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"  # kept as they are in a link; "(", ")", spaces are encoded
# Controls, and the bidirectional overrides that show text in another order than it is read.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def write_report(report: GapReport, folder: Path) -> tuple[Path, Path]:
    """Writes `gaps.md` and `gaps.png` into `folder` (created if needed); returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / CHART_NAME
    chart.write_bytes(chart_png(report))
    markdown = folder / MARKDOWN_NAME
    markdown.write_text(to_markdown(report, chart=CHART_NAME), encoding="utf-8")
    return markdown, chart


def to_markdown(report: GapReport, *, chart: str | None = None) -> str:
    """The report as Markdown; `chart` is the image's path relative to the page, if any."""
    lines = [
        "# Knowledge gaps",
        "",
        f"Questions asked from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} "
        f"UTC: **{report.questions}**, answered **{report.answered}** "
        f"({report.answer_rate:.0%}), refused **{report.refused}**, low confidence "
        f"(below {report.low_confidence_below:.2f}) **{report.low_confidence}**, thumbs down "
        f"**{report.thumbs_down}**, only in an unresolved conversation **{report.unresolved}**.",
        "",
    ]
    if chart:
        lines += [f"![Gap groups by number of questions]({chart})", ""]
    if report.resolution is not None:
        lines += resolution_markdown(report.resolution)
    lines += ["## What to write or fix", ""]
    if not report.groups:
        lines += [
            "No refused, low-confidence, thumbs-down or unresolved questions in this period.",
            "",
        ]
    else:
        lines += [
            "| # | questions people could not get answered | count | trend | why | to do |",
            "|---|---|---|---|---|---|",
        ]
        for n, group in enumerate(report.groups, start=1):
            lines.append(
                f"| {n} | {_text(group.label)} | {group.count} | {_trend(group)} | "
                f"{_reasons(group)} | {_suggestion(group)} |"
            )
        lines.append("")
        for n, group in enumerate(report.groups, start=1):
            lines += _group_section(n, group)
    lines += ["## Answer rate by content kind", ""]
    if report.answer_rate_by_kind:
        lines += ["| kind | questions | answered | rate |", "|---|---|---|---|"]
        lines += [
            f"| {_text(k.kind)} | {k.questions} | {k.answered} | {k.answer_rate:.0%} |"
            for k in report.answer_rate_by_kind
        ]
    else:
        lines.append("No questions in this period.")
    lines += ["", "## Most cited documents", ""]
    if report.most_cited:
        lines += ["| document | kind | answers citing it |", "|---|---|---|"]
        lines += [
            f"| {_text(d.title)} ({_code(d.document, cell=True)}) | {_text(d.source_type)} | "
            f"{d.citations} |"
            for d in report.most_cited
        ]
    else:
        lines.append("No answer cited anything in this period.")
    if report.top_contributors:
        lines += [
            "",
            "## Top community contributors",
            "",
            "| author | answers citing their posts |",
        ]
        lines += ["|---|---|"] + [
            f"| {_text(c.author)} | {c.answers} |" for c in report.top_contributors
        ]
    lines += ["", f"## Never cited documents ({len(report.never_cited)})", ""]
    lines += [f"- {_code(d)}" for d in report.never_cited] or ["Every indexed document was cited."]
    lines += [
        "",
        "Questions are stored redacted (e-mail addresses, phone and card numbers). Turn a group "
        "into eval cases with `assistant gaps --export DIR`.",
        "",
    ]
    return "\n".join(lines)


def resolution_markdown(report: ResolutionReport) -> list[str]:
    """The resolution section: the rates, then tables by day, content kind, page and mode."""
    lines = [
        "## Resolution",
        "",
        f"Conversations started in the period and counted: **{report.conversations}** "
        f"(ended after {report.window_minutes:g} minutes without news, or escalated; "
        f"{report.open} still open). {_outcomes(report)}",
        "",
    ]
    if not report.conversations:
        return lines
    header = "| {} | conversations | resolved | confirmed | assumed | escalated | unresolved |"
    rule = "|---|---|---|---|---|---|---|"
    days = [d for d in report.by_day if d.conversations]
    lines += ["### Over time", "", header.format("day (UTC)"), rule]
    lines += [f"| {d.day.isoformat()} | {_row(d)} |" for d in days]
    lines.append("")
    for title, column, slices, empty in (
        ("By content kind", "kind of the last answer's top source", report.by_kind, "none cited"),
        ("By page", "page", report.by_page, "no page sent"),
        ("By mode", "mode", report.by_mode, "none"),
    ):
        lines += [f"### {title}", "", header.format(column), rule]
        lines += [f"| {_slice_value(s, empty)} | {_row(s)} |" for s in slices]
        lines.append("")
    if report.more_pages:
        lines += [f"{report.more_pages} more pages are not listed.", ""]
    return lines


def _outcomes(counts: OutcomeCounts) -> str:
    return (
        f"Resolved **{counts.resolved}** ({counts.resolution_rate:.0%}: confirmed "
        f"{counts.resolved_confirmed}, assumed {counts.resolved_assumed}), escalated "
        f"**{counts.escalated}** ({counts.escalation_rate:.0%}), unresolved "
        f"**{counts.unresolved}**."
    )


def _row(counts: OutcomeCounts) -> str:
    return (
        f"{counts.conversations} | {counts.resolved} ({counts.resolution_rate:.0%}) | "
        f"{counts.resolved_confirmed} | {counts.resolved_assumed} | {counts.escalated} "
        f"({counts.escalation_rate:.0%}) | {counts.unresolved}"
    )


def _slice_value(part: SliceOutcomes, empty: str) -> str:
    return _code(part.value, cell=True) if part.value is not None else f"({empty})"


def _group_section(n: int, group: GapGroup) -> list[str]:
    lines = [f"### {n}. {_text(group.label)}", ""]
    lines.append(
        f"{_questions(group.count)} ({_reasons(group)}), {group.previous_count} in the period "
        f"before ({_trend(group)}); mostly {_code(group.audience)} callers in "
        f"{_code(group.mode)} mode. Shared words: "
        f"{', '.join(_text(t) for t in group.terms) or 'none'}. Group id {_code(group.id)}."
    )
    lines.append("")
    near = group.nearest
    if group.action == "write":
        where = f" (closest: {_code(near.document)}, similarity {near.similarity})" if near else ""
        lines.append(f"**No content: write it**{where}.")
    elif near:
        how = "cited by these weak answers" if near.found_by == "cited" else "closest content"
        lines.append(f"**Fix** {_link(near.title, near.url)} ({_code(near.document)}, {how}).")
    lines += ["", "Examples:", ""]
    lines += [
        f"- {_text(e.question)} ({', '.join(_text(r) for r in e.reasons)})" for e in group.examples
    ]
    lines.append("")
    return lines


def chart_png(report: GapReport) -> bytes:
    """A horizontal bar per group (largest on top), split by the questions' main reason."""
    # A bare Figure renders with the Agg canvas: no pyplot state, no display needed.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    groups = report.groups[:_CHART_GROUPS]
    figure = Figure(figsize=(9, 1.6 + 0.45 * max(len(groups), 1)), dpi=110, layout="constrained")
    axes = figure.subplots()
    labels = [_short(g.label) for g in groups][::-1]
    left = [0.0] * len(groups)
    for reason, colour in _REASON_COLOURS.items():
        counts = [float(g.reasons.get(reason, 0)) for g in groups][::-1]
        if not any(counts):
            continue
        axes.barh(labels, counts, left=left, color=colour, label=_REASON_LABELS[reason])
        left = [a + b for a, b in zip(left, counts, strict=True)]
    if not groups:
        axes.text(0.5, 0.5, "No gaps in this period", ha="center", va="center")
        axes.set_yticks([])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("questions (a question may have several reasons)")
    axes.set_title(
        f"Knowledge gaps {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}: "
        f"{report.questions} questions, {report.answer_rate:.0%} answered",
        fontsize=10,
    )
    axes.spines[["top", "right"]].set_visible(False)
    if groups:
        figure.legend(loc="outside lower center", ncols=3, frameon=False, fontsize=8)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Questions are user text: a character the chart font lacks is drawn as a box.
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _questions(count: int) -> str:
    return f"{count} question" if count == 1 else f"{count} questions"


def _reasons(group: GapGroup) -> str:
    return ", ".join(f"{n} {_text(_REASON_LABELS.get(r, r))}" for r, n in group.reasons.items())


def _suggestion(group: GapGroup) -> str:
    near = group.nearest
    if group.action == "write" or near is None:
        return "no content: write it"
    return f"fix {_code(near.document, cell=True)} ({_text(near.title)})"


def _trend(group: GapGroup) -> str:
    return _TREND_MARKS[group.trend]


def visible(text: str) -> str:
    """Untrusted text on one line, controls and bidirectional overrides made spaces: what it
    says and nothing else, in a terminal or a Markdown line."""
    return " ".join(_INVISIBLE.sub(" ", text).split())


def _text(text: str) -> str:
    """Untrusted text shown as itself in Markdown, on one line: in a table cell, list item,
    heading or sentence."""
    return _SYNTAX.sub(lambda m: "\\" + m.group(), visible(text))


def _code(text: str, *, cell: bool = False) -> str:
    """Untrusted text as inline code (a path, a mode): fenced by more backticks than it holds
    in a row, so it cannot close the span early. In a table `cell`, "|" is escaped too (GitHub
    splits cells before it reads code spans)."""
    text = visible(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    code = f"{fence}{padded}{fence}"
    return code.replace("|", "\\|") if cell else code


def _link(label: str, url: str | None) -> str:
    """`label` linked to `url` when that is an http(s) URL (anything else, such as
    `javascript:`, is left out), its characters that could end the link percent-encoded."""
    shown = _text(label)
    if not url:
        return shown
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return shown
    return f"[{shown}]({quote(url.strip(), safe=_URL_SAFE)})"


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
