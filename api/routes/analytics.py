"""GET /v1/analytics/gaps (JSON), .../gaps/report.md, .../gaps/chart.png and
.../gaps/cases.jsonl: the knowledge-gap report and a group's eval cases; GET
/v1/analytics/resolution: whether conversations were resolved. For internal callers without a
tenant only (they show what customers of every tenant asked)."""

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

from api.auth import AuthError, Caller
from api.deps import ComponentsDep, InternalCallerDep
from api.errors import error_responses
from assistant.analytics.export import cases_for
from assistant.analytics.gap_report import GapReport
from assistant.analytics.gaps import GapAnalyzer, parse_since
from assistant.analytics.options import GapSettings
from assistant.analytics.report import chart_png, to_markdown
from assistant.analytics.resolution import ResolutionAnalyzer, ResolutionReport
from assistant.stores import StoreError
from assistant.wiring import Components

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_DEFAULTS = GapSettings()


async def require_every_tenant(caller: InternalCallerDep) -> Caller:
    """The question log is not split by tenant, so a tenant's employees may not read it."""
    if caller.tenant is not None:
        raise AuthError(
            403,
            "forbidden",
            "The gap report covers the questions of every tenant; use an internal key "
            "without a tenant.",
        )
    return caller


EveryTenantCallerDep = Annotated[Caller, Depends(require_every_tenant)]


def _moment(value: str | None) -> str | None:
    if value is not None:
        parse_since(value)  # raises ValueError with the accepted forms: a 422
    return value


Moment = Annotated[str | None, AfterValidator(_moment)]
SinceQuery = Annotated[
    Moment,
    Query(
        max_length=64,
        description="Start: `2026-11-01`, an ISO date-time, or a span back from now "
        "(`12h`, `30d`, `2w`). Default `30d`.",
    ),
]
UntilQuery = Annotated[Moment, Query(max_length=64, description="End, same forms; default now.")]
LowConfidenceQuery = Annotated[
    float | None,
    Query(
        ge=0,
        le=1,
        description="Answered questions below this confidence are gaps; default the refusal "
        "threshold + 0.1.",
    ),
]
SimilarityQuery = Annotated[
    float,
    Query(gt=0, le=1, description="How alike (cosine) questions must be to share a group."),
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="At most this many groups.")]
WindowQuery = Annotated[
    float | None,
    Query(
        gt=0,
        le=7 * 24 * 60,
        description="Minutes without news after which a conversation has ended; default "
        "ASSISTANT_RESOLUTION_WINDOW_MINUTES (30).",
    ),
]


@dataclass(frozen=True)
class GapParams:
    since: dt.datetime
    until: dt.datetime | None
    low_confidence: float | None
    similarity: float
    limit: int
    window: dt.timedelta | None = None


@dataclass(frozen=True)
class Period:
    since: dt.datetime
    until: dt.datetime | None


async def period(since: SinceQuery = None, until: UntilQuery = None) -> Period:
    """The period every report route takes."""
    start = parse_since(since or "30d")
    end = parse_since(until) if until else None
    if end is not None and end <= start:
        raise RequestValidationError(
            [{"loc": ("query", "until"), "msg": "must be later than `since`", "type": "value"}]
        )
    return Period(start, end)


PeriodDep = Annotated[Period, Depends(period)]


async def gap_params(
    when: PeriodDep,
    low_confidence: LowConfidenceQuery = None,
    similarity: SimilarityQuery = _DEFAULTS.min_similarity,
    limit: LimitQuery = _DEFAULTS.max_groups,
    window: WindowQuery = None,
) -> GapParams:
    """The query parameters all four gap report routes take."""
    minutes = dt.timedelta(minutes=window) if window else None
    return GapParams(when.since, when.until, low_confidence, similarity, limit, minutes)


GapParamsDep = Annotated[GapParams, Depends(gap_params)]


@router.get(
    "/gaps",
    response_model=GapReport,
    responses=error_responses(401, 403, 422, 429, 500, 503),
    summary="Knowledge-gap report (internal keys only)",
)
async def gaps(
    components: ComponentsDep,
    _: EveryTenantCallerDep,
    params: GapParamsDep,
) -> GapReport:
    """Refused, low-confidence and thumbs-down questions grouped by meaning, each group with a
    label, count, trend against the period before, examples, and the content to fix or
    "no content: write it"; plus the most and never cited documents and the answer rate by
    content kind. Questions are stored redacted."""
    return await run_in_threadpool(_report, components, params)


@router.get(
    "/gaps/report.md",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "The report as Markdown."},
        **error_responses(401, 403, 422, 429, 500, 503),
    },
    summary="Knowledge-gap report as Markdown (internal keys only)",
)
async def gaps_markdown(
    components: ComponentsDep,
    _: EveryTenantCallerDep,
    params: GapParamsDep,
) -> Response:
    report = await run_in_threadpool(_report, components, params)
    return Response(to_markdown(report), media_type="text/markdown; charset=utf-8")


@router.get(
    "/gaps/chart.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "Gap groups as a bar chart."},
        **error_responses(401, 403, 422, 429, 500, 503),
    },
    summary="Knowledge-gap chart (internal keys only)",
)
async def gaps_chart(
    components: ComponentsDep,
    _: EveryTenantCallerDep,
    params: GapParamsDep,
) -> Response:
    report = await run_in_threadpool(_report, components, params)
    png = await run_in_threadpool(chart_png, report)
    return Response(png, media_type="image/png")


@router.get(
    "/gaps/cases.jsonl",
    response_class=Response,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "The group's questions as golden eval cases, one JSON object a line "
            "(the format of `assistant gaps --export`; see evals/README.md).",
        },
        **error_responses(401, 403, 404, 422, 429, 500, 503),
    },
    summary="A gap group as eval cases (internal keys only)",
)
async def gap_cases(
    components: ComponentsDep,
    _: EveryTenantCallerDep,
    params: GapParamsDep,
    group: Annotated[
        str, Query(min_length=4, max_length=40, pattern=r"^[0-9a-f]+$", description="Group id.")
    ],
) -> Response:
    report = await run_in_threadpool(_report, components, params)
    found = next((g for g in report.groups if g.id.startswith(group)), None)
    if found is None:
        raise HTTPException(404, f"No gap group has the id {group} in this period.")
    rows = [json.dumps(row, ensure_ascii=False) for row in cases_for(found)]
    return Response(
        "\n".join(rows) + "\n",
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="gap-{found.id}.jsonl"'},
    )


@router.get(
    "/resolution",
    response_model=ResolutionReport,
    responses=error_responses(401, 403, 422, 429, 500, 503),
    summary="Resolution report (internal keys only)",
)
async def resolution(
    components: ComponentsDep,
    _: EveryTenantCallerDep,
    when: PeriodDep,
    window: WindowQuery = None,
) -> ResolutionReport:
    """Whether the conversations that started in the period were resolved: resolved
    (confirmed by a thumbs up, or assumed when the conversation ended on an answer nobody
    rated down or escalated), escalated (the user asked for a person: Contact support, or in
    words) or unresolved (it ended on a refusal or a thumbs down); open ones are not counted
    yet. Resolution and escalation rates overall, per day, by content kind, page and mode.
    Reads the app database only: no search, no model."""
    analyzer = _resolution(components, dt.timedelta(minutes=window) if window else None)
    if analyzer is None:
        raise StoreError("The question log is off, so there is no resolution report.")
    return await run_in_threadpool(analyzer.report, since=when.since, until=when.until)


def _resolution(components: Components, window: dt.timedelta | None) -> ResolutionAnalyzer | None:
    """The app's resolution analyzer, with another window if the caller chose one."""
    analyzer = components.resolution
    if analyzer is None or window is None:
        return analyzer
    return ResolutionAnalyzer(
        analyzer.log, analyzer.feedback, analyzer.escalations, window=window, clock=analyzer.clock
    )


def _report(components: Components, params: GapParams) -> GapReport:
    if components.question_log is None:
        raise StoreError("The question log is off, so there is no gap report.")
    threshold = components.answerer.drafter.refusal_threshold
    settings = GapSettings(
        low_confidence_below=params.low_confidence
        if params.low_confidence is not None
        else round(threshold + 0.1, 3),
        min_similarity=params.similarity,
        write_below=_DEFAULTS.write_below,
        max_groups=params.limit,
    )
    analyzer = GapAnalyzer(
        components.question_log,
        components.retriever,
        settings=settings,
        resolution=_resolution(components, params.window),
    )
    documents = [m.document for m in components.store.manifests().values()]
    return analyzer.report(since=params.since, until=params.until, documents=documents)
