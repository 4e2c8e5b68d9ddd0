"""POST /v1/feedback: thumbs up or down (and a comment) on an answer, by its session id."""

import datetime as dt

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CallerDep, ComponentsDep, FeedbackStoreDep, MetricsDep
from api.errors import error_responses
from api.text import SafeText
from assistant.records.feedback import Rating, UnknownSessionError

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackRequest(BaseModel):
    session_id: SafeText = Field(min_length=1, max_length=128)
    rating: Rating
    comment: SafeText | None = Field(default=None, max_length=2000)


class FeedbackReceipt(BaseModel):
    id: int
    session_id: str
    rating: Rating
    created_at: dt.datetime


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackReceipt,
    responses=error_responses(401, 404, 413, 422, 429, 500),
    summary="Rate an answer",
)
async def feedback(
    body: FeedbackRequest,
    store: FeedbackStoreDep,
    metrics: MetricsDep,
    caller: CallerDep,
    components: ComponentsDep,
) -> FeedbackReceipt:
    """Rates the latest answer of the session (the `session_id` of a /v1/chat answer or of a
    chat completion); 404 when no answer has that session id, or when another caller (other
    key, audience or tenant, or no key) started it."""
    owner = caller.session_owner()
    if not await run_in_threadpool(components.sessions.owns, body.session_id, owner):
        raise UnknownSessionError(body.session_id)  # as if absent: no hint it exists
    saved = await run_in_threadpool(
        store.add, body.session_id, body.rating, comment=body.comment or None
    )
    metrics.feedback.labels(saved.rating.value).inc()
    return FeedbackReceipt(
        id=saved.id, session_id=saved.session_id, rating=saved.rating, created_at=saved.created_at
    )
