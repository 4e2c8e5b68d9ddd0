"""The gap report for people: a Markdown page and a PNG chart (matplotlib, no display needed)."""

import io
import warnings
from pathlib import Path

from assistant.analytics.gaps import GapGroup, GapReport

CHART_NAME = "gaps.png"
MARKDOWN_NAME = "gaps.md"
_REASON_LABELS = {
    "refused": "refused",
    "low_confidence": "low confidence",
    "thumbs_down": "thumbs down",
}
_REASON_COLOURS = {"refused": "#c0392b", "low_confidence": "#e1a32a", "thumbs_down": "#6c4fb3"}
_TREND_MARKS = {"new": "new", "up": "▲ up", "down": "▼ down", "flat": "= flat"}
_CHART_GROUPS = 12


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
        f"**{report.thumbs_down}**.",
        "",
    ]
    if chart:
        lines += [f"![Gap groups by number of questions]({chart})", ""]
    lines += ["## What to write or fix", ""]
    if not report.groups:
        lines += ["No refused, low-confidence or thumbs-down questions in this period.", ""]
    else:
        lines += [
            "| # | questions people could not get answered | count | trend | why | to do |",
            "|---|---|---|---|---|---|",
        ]
        for n, group in enumerate(report.groups, start=1):
            lines.append(
                f"| {n} | {_cell(group.label)} | {group.count} | {_trend(group)} | "
                f"{_reasons(group)} | {_cell(group.suggestion)} |"
            )
        lines.append("")
        for n, group in enumerate(report.groups, start=1):
            lines += _group_section(n, group)
    lines += ["## Answer rate by content kind", ""]
    if report.answer_rate_by_kind:
        lines += ["| kind | questions | answered | rate |", "|---|---|---|---|"]
        lines += [
            f"| {k.kind} | {k.questions} | {k.answered} | {k.answer_rate:.0%} |"
            for k in report.answer_rate_by_kind
        ]
    else:
        lines.append("No questions in this period.")
    lines += ["", "## Most cited documents", ""]
    if report.most_cited:
        lines += ["| document | kind | answers citing it |", "|---|---|---|"]
        lines += [
            f"| {_cell(d.title)} (`{d.document}`) | {d.source_type} | {d.citations} |"
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
            f"| {_cell(c.author)} | {c.answers} |" for c in report.top_contributors
        ]
    lines += ["", f"## Never cited documents ({len(report.never_cited)})", ""]
    lines += [f"- `{d}`" for d in report.never_cited] or ["Every indexed document was cited."]
    lines += [
        "",
        "Questions are stored redacted (e-mail addresses, phone and card numbers). Turn a group "
        "into eval cases with `assistant gaps --export DIR`.",
        "",
    ]
    return "\n".join(lines)


def _group_section(n: int, group: GapGroup) -> list[str]:
    lines = [f"### {n}. {_cell(group.label)}", ""]
    lines.append(
        f"{_questions(group.count)} ({_reasons(group)}), {group.previous_count} in the period "
        f"before ({_trend(group)}); mostly `{group.audience}` callers in `{group.mode}` mode. "
        f"Shared words: {', '.join(group.terms) or 'none'}. Group id `{group.id}`."
    )
    lines.append("")
    near = group.nearest
    if group.action == "write":
        where = f" (closest: `{near.document}`, similarity {near.similarity})" if near else ""
        lines.append(f"**No content: write it**{where}.")
    elif near:
        how = "cited by these weak answers" if near.found_by == "cited" else "closest content"
        link = f"[{near.title}]({near.url})" if near.url else near.title
        lines.append(f"**Fix** {link} (`{near.document}`, {how}).")
    lines += ["", "Examples:", ""]
    lines += [f"- {_cell(e.question)} ({', '.join(e.reasons)})" for e in group.examples]
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
    return ", ".join(f"{n} {_REASON_LABELS.get(r, r)}" for r, n in group.reasons.items())


def _trend(group: GapGroup) -> str:
    return _TREND_MARKS[group.trend]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
