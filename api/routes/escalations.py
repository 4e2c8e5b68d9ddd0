"""POST /v1/escalations: the user wants a person (the chat page's "Contact support"), by the
session id of the conversation."""

import datetime as dt

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CallerDep, ComponentsDep, MetricsDep
from api.errors import error_responses
from api.text import SafeText
from assistant.conversation.handover import handover_reply
from assistant.records.escalations import EscalationSource
from assistant.records.feedback import UnknownSessionError
from assistant.stores import StoreError

router = APIRouter(prefix="/v1", tags=["feedback"])


class EscalationRequest(BaseModel):
    session_id: SafeText = Field(min_length=1, max_length=128)


class EscalationReceipt(BaseModel):
    id: int
    session_id: str
    created_at: dt.datetime
    support_url: str | None = Field(
        description="Where to reach a person on the support team (ASSISTANT_SUPPORT_URL)."
    )
    message: str = Field(description="What to tell the user: how to reach support.")


@router.post(
    "/escalations",
    status_code=201,
    response_model=EscalationReceipt,
    responses=error_responses(401, 404, 413, 422, 429, 500, 503),
    summary="Ask for a person (Contact support)",
)
async def escalate(
    body: EscalationRequest,
    caller: CallerDep,
    components: ComponentsDep,
    metrics: MetricsDep,
) -> EscalationReceipt:
    """Records that the user of the session (the `session_id` of a /v1/chat answer or of a
    chat completion) wants a person: the conversation counts as escalated in the resolution
    report. 404 when no answer has that session id, or when another caller (other key,
    audience or tenant, or no key) started it, as for /v1/feedback."""
    owner = caller.session_owner()
    if not await run_in_threadpool(components.sessions.owns, body.session_id, owner):
        raise UnknownSessionError(body.session_id)  # as if absent: no hint it exists
    if components.escalations is None:
        raise StoreError("Requests for a person are not recorded on this server.")
    saved = await run_in_threadpool(
        components.escalations.add, body.session_id, source=EscalationSource.CONTROL
    )
    metrics.escalations.labels(EscalationSource.CONTROL.value).inc()
    support_url = components.answerer.support_url
    return EscalationReceipt(
        id=saved.id,
        session_id=saved.session_id,
        created_at=saved.created_at,
        support_url=support_url,
        message=handover_reply(support_url=support_url),
    )
