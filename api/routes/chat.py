"""POST /v1/chat: a cited answer as JSON, or as Server-Sent Events."""

import json
import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import AnswererDep, CallerDep, MetricsDep
from api.errors import error_responses
from api.text import SafeText
from assistant.types import Answer, Mode

router = APIRouter(prefix="/v1", tags=["chat"])

MAX_MESSAGE_CHARS = 4000


class ChatRequest(BaseModel):
    message: SafeText = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=r"\S")
    session_id: SafeText | None = Field(default=None, max_length=128)
    mode: Mode = Mode.CUSTOMER
    stream: bool = False
    product_version: SafeText | None = Field(default=None, max_length=64)
    context: dict[SafeText, SafeText] | None = Field(default=None, max_length=16)


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
    accept: Annotated[str | None, Header()] = None,
) -> Answer | StreamingResponse:
    """The caller's key decides what may be read; `mode` only shapes the answer. So `internal`
    mode from a public caller is not refused (no 403): it reads what that caller may read,
    public content, and a partner key in `agent` mode gets partner findings in
    `internal_notes`."""
    answer = await run_in_threadpool(
        answerer.ask,
        body.message,
        audience=caller.audience,
        mode=body.mode,
        session_id=body.session_id,
    )
    metrics.observe_answer(answer, mode=body.mode)
    if body.stream or "text/event-stream" in (accept or ""):
        return StreamingResponse(_events(answer), media_type="text/event-stream")
    return answer


def _events(answer: Answer) -> Iterator[str]:
    """`delta` events with the text in word-sized pieces, then `citations`, then `done`."""
    for piece in re.findall(r"\S+\s*|\s+", answer.answer):
        yield _event("delta", {"text": piece})
    yield _event("citations", {"citations": [c.model_dump() for c in answer.citations]})
    yield _event("done", answer.model_dump())


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
