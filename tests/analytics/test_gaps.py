"""The gap report over a real question log, real MiniLM embeddings and the real Qdrant engine:
groups by meaning, what to fix or write, trends, citations and answer rates."""

import datetime as dt

import pytest

from assistant.analytics.gap_report import GapGroup, GapReport
from assistant.analytics.gaps import GapAnalyzer, parse_since, trend
from assistant.wiring import Components
from tests.analytics.conftest import ANSWERED, PAYROLL, PII, RATED_DOWN, TIME_TRACKING


def _group_of(report: GapReport, question: str) -> GapGroup:
    matches = [g for g in report.groups if question in g.questions]
    assert len(matches) == 1, f"{question!r} is in {len(matches)} groups"
    return matches[0]


def test_questions_asking_the_same_thing_share_a_group(report: GapReport) -> None:
    payroll = _group_of(report, PAYROLL[0])
    time_tracking = _group_of(report, TIME_TRACKING[0])
    assert sorted(payroll.questions) == sorted(PAYROLL)
    assert sorted(time_tracking.questions) == sorted(TIME_TRACKING)
    assert payroll.label in PAYROLL and payroll.count == 3
    assert {"payroll"} <= set(payroll.terms)
    assert payroll.examples and all(e.reasons == ["refused"] for e in payroll.examples)


def test_missing_topics_say_write_it(report: GapReport) -> None:
    for question in (PAYROLL[0], TIME_TRACKING[0]):
        group = _group_of(report, question)
        assert group.action == "write" and group.suggestion == "no content: write it"
        assert group.reasons == {"refused": group.count}


def test_thumbs_down_on_an_answer_points_at_the_content_to_fix(report: GapReport) -> None:
    rated = _group_of(report, RATED_DOWN)
    assert rated.reasons == {"thumbs_down": 1}
    assert rated.action == "fix" and rated.nearest is not None
    assert rated.nearest.document == "kb/reset-password.md"
    assert rated.nearest.found_by == "cited"
    assert rated.suggestion.startswith("fix kb/reset-password.md")
    assert (rated.audience, rated.mode) == ("internal", "agent")


def test_good_answers_are_not_gaps(report: GapReport) -> None:
    assert all(ANSWERED not in g.questions for g in report.groups)


def test_trend_compares_with_the_period_before(report: GapReport) -> None:
    payroll = _group_of(report, PAYROLL[0])
    assert (payroll.count, payroll.previous_count, payroll.trend) == (3, 1, "up")
    assert _group_of(report, TIME_TRACKING[0]).trend == "new"


def test_totals_citations_and_answer_rate_by_kind(report: GapReport) -> None:
    assert report.questions == len(PAYROLL) + len(TIME_TRACKING) + 3
    assert report.answered == 2 and report.refused == report.questions - 2
    assert report.thumbs_down == 1
    cited = {d.document: d.citations for d in report.most_cited}
    assert cited["kb/reset-password.md"] == 1
    assert "courses/essentials/lessons/02-taxes.md" in cited
    assert {"kb/first-invoice.md", "kb/internal-refunds.md"} <= set(report.never_cited)
    assert not set(cited) & set(report.never_cited)
    assert sum(k.questions for k in report.answer_rate_by_kind) == report.questions
    assert sum(k.answered for k in report.answer_rate_by_kind) == report.answered


def test_questions_are_shown_redacted(report: GapReport) -> None:
    assert "jane@example.com" not in report.model_dump_json()
    assert any("[email]" in q for g in report.groups for q in g.questions)
    assert PII not in report.model_dump_json()


def test_an_empty_period_has_no_groups(components: Components) -> None:
    assert components.question_log is not None
    since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    report = GapAnalyzer(components.question_log, components.retriever).report(
        since=since, until=since + dt.timedelta(days=1), documents=["kb/a.md"]
    )
    assert (report.questions, report.groups, report.answer_rate) == (0, [], 0.0)
    assert report.never_cited == ["kb/a.md"]


def test_trend_rules() -> None:
    assert [trend(3, 0), trend(0, 0), trend(5, 2), trend(1, 4), trend(10, 9)] == [
        "new",
        "flat",
        "up",
        "down",
        "flat",
    ]


def test_parse_since_forms_and_errors() -> None:
    now = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    assert parse_since("2w", now=now) == now - dt.timedelta(weeks=2)
    assert parse_since("12h", now=now) == now - dt.timedelta(hours=12)
    assert parse_since("2026-11-01") == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert parse_since("2026-11-01T08:00:00+01:00").hour == 8
    with pytest.raises(ValueError, match=r"30d"):
        parse_since("last tuesday")
