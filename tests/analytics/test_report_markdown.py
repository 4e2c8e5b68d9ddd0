"""The Markdown gap report shows untrusted text (questions, titles, paths, authors, pages) as text:
rendered by a real Markdown renderer, no link, image or HTML comes from it."""

import datetime as dt
import html
import re

from markdown_it import MarkdownIt

from assistant.analytics.gap_report import (
    Contributor,
    DocumentUse,
    GapExample,
    GapGroup,
    GapReport,
    KindRate,
    NearestContent,
)
from assistant.analytics.report import to_markdown
from assistant.analytics.resolution import (
    DayOutcomes,
    Outcome,
    ResolutionReport,
    SliceOutcomes,
    counts,
)
from assistant.cli.analytics import summary_text

PHISHING = "[Click here to reset the admin password](https://evil.example/reset)"
BEACON = "![beacon](http://tracker.example/track.png)"
HTML_TITLE = '<img src=x onerror="alert(document.cookie)">Refunds'
QUESTIONS = [
    PHISHING,
    BEACON,
    "<script>alert(1)</script> how do I export?",
    "see <https://evil.example/auto> or www.evil.example or evil.example/x",
    "**urgent** _please_ `code` | pipe ~~gone~~ &amp; # heading?",
    "bidi \u202eevil\u202c and an\nembedded newline\n# not a heading",
    "clear the screen \x1b[2J\x1b]0;owned\x07 then ask",
]
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _example(question: str) -> GapExample:
    return GapExample(
        question=question,
        query=question,
        asked_at=NOW,
        reasons=["refused"],
        confidence=0.1,
        audience="public",
        mode="customer",
    )


def _group(label: str, nearest: NearestContent, action: str = "fix") -> GapGroup:
    return GapGroup(
        id="0123456789",
        label=label,
        terms=["<b>", "[x](https://evil.example)"],
        count=len(QUESTIONS),
        previous_count=0,
        trend="new",
        reasons={"refused": len(QUESTIONS)},
        action=action,  # type: ignore[arg-type]
        suggestion=f"fix {nearest.document} ({nearest.title})",
        nearest=nearest,
        audience="public`<b>",
        mode="customer",
        examples=[_example(q) for q in QUESTIONS],
        questions=QUESTIONS,
    )


def hostile_report() -> GapReport:
    cited = NearestContent(
        document="kb/`evil`|<img src=x onerror=alert(1)>.md",
        title=HTML_TITLE,
        source_type="kb",
        url="javascript:alert(1)",
        found_by="cited",
    )
    searched = NearestContent(
        document="kb/refunds.md",
        title="Refunds](https://evil.example) [x",
        source_type="kb",
        url='https://help.example.com/refunds (1)"onmouseover=alert(1)',
        found_by="search",
        similarity=0.4,
    )
    return GapReport(
        since=NOW - dt.timedelta(days=30),
        until=NOW,
        generated_at=NOW,
        low_confidence_below=0.52,
        questions=10,
        answered=4,
        refused=6,
        low_confidence=0,
        thumbs_down=0,
        answer_rate=0.4,
        groups=[
            _group(PHISHING, cited),
            _group(BEACON, searched),
            _group(HTML_TITLE, searched, "write"),
        ],
        most_cited=[
            DocumentUse(document="kb/`x`.md", title=HTML_TITLE, source_type="kb<i>", citations=3)
        ],
        never_cited=["kb/<img src=x onerror=alert(1)>.md", "kb/``a``.md"],
        answer_rate_by_kind=[KindRate(kind="kb<i>", questions=4, answered=4, answer_rate=1.0)],
        top_contributors=[Contributor(author="[mallory](https://evil.example)", answers=2)],
    )


RENDERERS = {
    "commonmark": MarkdownIt("commonmark").enable("table").enable("strikethrough"),
    "html on": MarkdownIt("commonmark", {"html": True}).enable("table"),
}


def test_untrusted_text_makes_no_link_image_or_html() -> None:
    page = to_markdown(hostile_report(), chart="gaps.png")
    for name, renderer in RENDERERS.items():
        shown = renderer.render(page)
        images = re.findall(r"<img [^>]*>", shown)
        assert images == ['<img src="gaps.png" alt="Gap groups by number of questions" />'], name
        links = re.findall(r'<a href="([^"]*)"', shown)
        assert links == ["https://help.example.com/refunds%20%281%29%22onmouseover=alert%281%29"]
        made = ("<script", "<b>", "<i>", "<strong>urgent", "<em>please", "<del>gone", "<h1>not")
        for tag in (*made, "<code>code", "<code>evil"):
            assert tag not in shown, (name, tag)
        assert "\u202e" not in shown
        # The text is all there, as text.
        text = html.unescape(re.sub(r"<[^>]+>", "", shown))
        for question in QUESTIONS[:4]:
            assert question in text, (name, question)
        assert HTML_TITLE in text and "[mallory](https://evil.example)" in text


def test_table_cells_stay_whole() -> None:
    """A "|" in a question, title or path does not add a column to a table row."""
    shown = RENDERERS["commonmark"].render(to_markdown(hostile_report()))
    tables = shown.split("</table>")[:-1]
    cells = [
        {row.count("<td") for row in re.findall(r"<tr>.*?</tr>", table, flags=re.S)} - {0}
        for table in tables
    ]
    assert cells == [{6}, {4}, {3}, {2}]  # groups, kinds, most cited, contributors


def test_only_http_urls_are_linked() -> None:
    page = to_markdown(hostile_report())
    assert "javascript:" not in page.replace("javascript\\:", "")
    assert "](javascript" not in page


def test_the_terminal_summary_shows_questions_as_text() -> None:
    """`assistant gaps` prints labels, suggestions and names: an escape sequence or a bidi
    override in a logged question never reaches the terminal."""
    report = hostile_report()
    first = report.groups[0].model_copy(update={"label": QUESTIONS[-1]})
    shown = summary_text(report.model_copy(update={"groups": [first, *report.groups[1:]]}))
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)
    assert "clear the screen" in shown and "then ask" in shown


def _with_hostile_pages() -> GapReport:
    """The hostile report with a resolution section whose pages (client text) attack too."""
    tally = counts([Outcome.RESOLVED_ASSUMED, Outcome.ESCALATED]).model_dump()
    pages = [PHISHING, "/billing|x|y", QUESTIONS[-1]]
    resolution = ResolutionReport(
        **tally,
        since=NOW - dt.timedelta(days=1),
        until=NOW,
        generated_at=NOW,
        window_minutes=30,
        open=0,
        by_day=[DayOutcomes(day=NOW.date(), **tally)],
        by_kind=[SliceOutcomes(value="kb", **tally)],
        by_page=[SliceOutcomes(value=page, **tally) for page in pages],
        by_mode=[SliceOutcomes(value=None, **tally)],
    )
    return hostile_report().model_copy(update={"resolution": resolution})


def test_pages_in_the_resolution_section_are_text_in_whole_cells() -> None:
    report = _with_hostile_pages()
    page = to_markdown(report)
    assert "## Resolution" in page and "Resolved **1** (50%" in page
    shown = RENDERERS["commonmark"].render(page)
    assert len(re.findall(r'<a href="', shown)) == 1  # the content's own URL only
    resolution = shown.split("<h2>Resolution</h2>")[1].split("<h2>")[0]
    tables = resolution.split("</table>")[:-1]
    assert [len(re.findall(r"<tr>", t)) for t in tables] == [2, 2, 4, 2]  # header + rows
    assert {row.count("<td") for t in tables for row in re.findall(r"<tr>.*?</tr>", t, re.S)} == {
        0,
        7,
    }
    shown = summary_text(report)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)
    assert "page [Click here" in shown and "escalated" in shown
