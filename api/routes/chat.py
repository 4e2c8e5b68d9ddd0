"""POST /v1/chat: a cited answer as JSON, or as Server-Sent Events."""

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from api.auth import Caller
from api.deps import AnswererDep, AnswerSlotsDep, CallerDep, MetricsDep, run_in_slot
from api.errors import error_responses
from api.metrics import Metrics
from api.text import QuestionText, SafeText, safe_text
from assistant.answering.answerer import Answerer, final_answer
from assistant.stores import StoreError
from assistant.types import Answer, AnswerEvent, Mode, Retraction, TextDelta

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["chat"])

MAX_MESSAGE_CHARS = 4000
# The widget sends the host page's path cut to 500 characters; browsers' URLs stay within 2,048.
MAX_PAGE_CHARS = 2048
MAX_CONTEXT_KEY_CHARS = 64

ContextKey = Annotated[
    str, StringConstraints(max_length=MAX_CONTEXT_KEY_CHARS), AfterValidator(safe_text)
]
ContextValue = Annotated[
    str, StringConstraints(max_length=MAX_PAGE_CHARS), AfterValidator(safe_text)
]


class ChatRequest(BaseModel):
    message: QuestionText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    session_id: SafeText | None = Field(default=None, max_length=128)
    mode: Mode = Mode.CUSTOMER
    stream: bool = False
    product_version: SafeText | None = Field(
        default=None,
        max_length=64,
        description="The product version the user runs, e.g. `4.1`: content for it first; "
        "other versions only when none matches (the answer's warnings say so).",
    )
    context: dict[ContextKey, ContextValue] | None = Field(
        default=None,
        max_length=16,
        description='Where the user is in the product, e.g. `{"page": "/billing/invoices"}`:'
        " content whose `pages` metadata covers that page ranks higher.",
    )

    @property
    def page(self) -> str | None:
        return (self.context or {}).get("page") or None


@router.post(
    "/chat",
    response_model=Answer,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **error_responses(401, 413, 422, 429, 500, 503),
    },
    summary="Ask a question; get a cited answer (JSON, or SSE when streaming)",
)
async def chat(
    body: ChatRequest,
    answerer: AnswererDep,
    caller: CallerDep,
    metrics: MetricsDep,
    slots: AnswerSlotsDep,
    accept: Annotated[str | None, Header()] = None,
) -> Answer | StreamingResponse:
    """The caller's key decides what may be read (its audience, and its tenant's content
    beside the shared content); `mode` only shapes the answer. So `internal`
    mode from a public caller is not refused (no 403): it reads what that caller may read,
    public content, and a partner key in `agent` mode gets partner findings in
    `internal_notes`.

    Streaming sends an LLM's text as it is written; a `retraction` event (`{"reason"}`) means
    "discard what was shown: the whole answer follows" (its citations failed the check, or
    the evidence proved too weak)."""
    if body.stream or "text/event-stream" in (accept or ""):
        events = _events(body, caller, answerer)
        # The first event is computed before the response starts, so a store that is down
        # still gets a JSON error with the right status rather than a broken stream.
        first = await run_in_slot(slots, next, events)
        return StreamingResponse(
            _sse(itertools.chain([first], events), metrics, body.mode),
            media_type="text/event-stream",
        )
    return await answer_chat(body, caller, answerer=answerer, slots=slots, metrics=metrics)


async def answer_chat(
    body: ChatRequest,
    caller: Caller,
    *,
    answerer: Answerer,
    slots: CapacityLimiter,
    metrics: Metrics,
) -> Answer:
    """The whole Answer to `body` for `caller`, computed in an answer slot and counted in the
    metrics: `/v1/chat` as JSON, and the MCP `answer` tool."""
    answer = await run_in_slot(slots, final_answer, _events(body, caller, answerer))
    metrics.observe_answer(answer, mode=body.mode)
    return answer


def _events(body: ChatRequest, caller: Caller, answerer: Answerer) -> Iterator[AnswerEvent]:
    return answerer.stream(
        body.message,
        audience=caller.audience,
        mode=body.mode,
        session_id=body.session_id,
        product_version=body.product_version,
        page=body.page,
        tenant=caller.tenant,
        owner=caller.session_owner(),  # another caller's session_id starts a new conversation
    )


def _sse(events: Iterator[AnswerEvent], metrics: Metrics, mode: Mode) -> Iterator[str]:
    """`delta` events as the text is written (`retraction` withdraws them), then `citations`,
    then `done` with the Answer. A failure midway ends the stream with an `error` event."""
    try:
        for event in events:
            if isinstance(event, TextDelta):
                yield _event("delta", {"text": event.text})
            elif isinstance(event, Retraction):
                yield _event("retraction", {"reason": event.reason})
            else:
                answer = event.answer
                metrics.observe_answer(answer, mode=mode)
                citations = [c.model_dump() for c in answer.citations]
                yield _event("citations", {"citations": citations})
                yield _event("done", answer.model_dump())
    except StoreError as exc:
        log.warning("stream ended by a store error: %s", exc)
        yield _event("error", {"error": {"code": "store_unavailable", "message": str(exc)}})


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
