"""POST /v1/chat/completions (and GET /v1/models): OpenAI's chat API over the assistant, so
existing chat clients and SDKs can talk to it.

The last message is the question; the earlier ones are the conversation. Like OpenAI's API
this route is stateless: the client sends the whole conversation each time, and follow-ups
are condensed from it: the messages sent are the conversation the Answerer condenses with
(its condenser, the LLM's when one is configured), as a session's stored turns are on
`/v1/chat`. No stored history is needed, so conversations cannot mix, however many
clients share a key or start with the same question. Each exchange is still recorded as a
session (for review, the gap report and `/v1/feedback`) under an id derived from the caller's
key, `user`, mode and the messages with the server's secret: a retried request lands in the
same session, and nobody who knows a conversation can work out its id.
"""

import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Caller
from api.deps import AnswererDep, AnswerSlotsDep, CallerDep, MetricsDep, run_in_slot
from api.errors import error_responses
from api.routes.chat import MAX_MESSAGE_CHARS
from api.text import SafeText
from assistant.answering.citations import ticket_text
from assistant.records.sessions import Turn
from assistant.text_units import word_pieces
from assistant.types import Answer, Citation, InternalNotes, Mode

router = APIRouter(prefix="/v1", tags=["openai"])

MODEL_ID = "assistant"
# System prompts and earlier replies are only replayed, never searched; they are bounded so
# that no field is unbounded whatever the body limit.
MAX_OTHER_MESSAGE_CHARS = 32_000


class TextPart(BaseModel):
    type: Literal["text"]
    text: SafeText


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls, refusal, ...

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: SafeText | list[TextPart] | None = Field(
        default=None, description="Text, or a list of text parts (images are not supported)."
    )

    @model_validator(mode="after")
    def _within_limit(self) -> "ChatMessage":
        # Every user message is a question of the conversation and is condensed and searched
        # like the last one, so it has the same limit as /v1/chat's `message`.
        limit = MAX_MESSAGE_CHARS if self.role == "user" else MAX_OTHER_MESSAGE_CHARS
        if len(self.text) > limit:
            raise ValueError(
                f"a {self.role} message may be at most {limit} characters "
                f"(this one has {len(self.text)}); send a shorter one"
            )
        return self

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class CompletionRequest(BaseModel):
    """OpenAI's request body; options that steer a language model (temperature, max_tokens,
    tools, ...) are accepted and ignored: answers are extracted and cited, not sampled."""

    model_config = ConfigDict(extra="ignore")

    model: SafeText = Field(min_length=1, max_length=128, description="Echoed in the reply.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1, description="One answer per request.")
    user: SafeText | None = Field(
        default=None, max_length=256, description="Your id for the end user; keeps sessions apart."
    )
    mode: Mode = Field(
        default=Mode.CUSTOMER, description="Extension (send it in `extra_body`): as in /v1/chat."
    )

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> "CompletionRequest":
        question = self.messages[-1]
        if question.role != "user" or not question.text.strip():
            raise ValueError("the last message must be the user's question, with text")
        return self

    @property
    def question(self) -> str:
        return self.messages[-1].text

    @property
    def conversation(self) -> list[Turn]:
        """The exchanges before the question: each user message with the assistant's reply
        that follows it (empty when there is none)."""
        turns: list[Turn] = []
        for message in self.messages[:-1]:
            if message.role == "user" and message.text.strip():
                turns.append(Turn(message.text, message.text, answer="", refused=False))
            elif message.role == "assistant" and turns and not turns[-1].answer:
                turns[-1] = dataclasses.replace(turns[-1], answer=message.text)
        return turns


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int = 0
    message: CompletionMessage
    finish_reason: Literal["stop"] = "stop"


class AnswerExtras(BaseModel):
    """Fields OpenAI's API does not have; SDKs keep them (openai-python: `model_extra`)."""

    citations: list[Citation] = Field(description="The sources the `[n]` markers name.")
    session_id: str = Field(description="Rate this answer with POST /v1/feedback.")
    confidence: float
    refused: bool
    query: str = Field(description="The standalone query that was searched.")
    internal_notes: InternalNotes | None = Field(
        default=None, description="Agent mode: internal-only findings, never for the customer."
    )


class ChatCompletion(AnswerExtras):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "self-hosted"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.get(
    "/models",
    response_model=ModelList,
    responses=error_responses(401, 422, 429, 500),
    summary="Models (OpenAI-compatible)",
)
async def models() -> ModelList:
    """One model; clients that list models before chatting (e.g. Open WebUI) need this."""
    return ModelList(data=[ModelCard(id=MODEL_ID)])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON, or with `stream: true` `chat.completion.chunk` events "
            "ending with `data: [DONE]`; the last chunk carries the extension fields.",
        },
        **error_responses(401, 413, 422, 429, 500, 503),
    },
    summary="Chat completions (OpenAI-compatible, streaming too)",
)
async def chat_completions(
    body: CompletionRequest,
    request: Request,
    answerer: AnswererDep,
    caller: CallerDep,
    metrics: MetricsDep,
    slots: AnswerSlotsDep,
) -> ChatCompletion | StreamingResponse:
    """The reply's content is the cited answer and a "Sources:" list with full URLs; the
    citations also come as data in `citations`. The key decides what may be read; `mode` only
    shapes the answer (no 403 for `internal` from a public key: it reads public content)."""
    answer = await run_in_slot(
        slots,
        answerer.ask,
        body.question,
        conversation=body.conversation,
        audience=caller.audience,
        mode=body.mode,
        session_id=session_id_for(body, caller, secret=request.app.state.session_secret),
        tenant=caller.tenant,
        # The id is the server's (keyed with its secret), so an anonymous caller may start it.
        owner=dataclasses.replace(caller.session_owner(), names_sessions=True),
    )
    metrics.observe_answer(answer, mode=body.mode)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        return StreamingResponse(
            _chunks(answer, completion_id=completion_id, created=created, model=body.model),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[CompletionChoice(message=CompletionMessage(content=reply_text(answer)))],
        **dict(_extras(answer)),
    )


def session_id_for(body: CompletionRequest, caller: Caller, *, secret: bytes) -> str:
    identity = {
        "key": caller.key_id,
        "user": body.user,
        "mode": body.mode.value,
        "messages": [(m.role, m.text) for m in body.messages],
    }
    message = json.dumps(identity, ensure_ascii=False).encode()
    return f"oai-{hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]}"


def reply_text(answer: Answer) -> str:
    """The answer with its sources as full URLs, readable in any chat client."""
    return ticket_text(answer) if answer.citations else answer.answer


def _extras(answer: Answer) -> AnswerExtras:
    return AnswerExtras(
        citations=answer.citations,
        session_id=answer.session_id,
        confidence=answer.confidence,
        refused=answer.refused,
        query=answer.query,
        internal_notes=answer.internal_notes,
    )


def _chunks(answer: Answer, *, completion_id: str, created: int, model: str) -> Iterator[str]:
    """OpenAI's stream: the role, the text in word-sized pieces, a last chunk with
    `finish_reason` (and our extension fields), then `[DONE]`.

    The answer is complete and checked before the first piece: an OpenAI stream has no way to
    take text back, so the retraction `/v1/chat` can send when a check fails has no place here."""
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created}

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        payload = {**head, "model": model, "choices": [choice], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in word_pieces(reply_text(answer)):
        yield chunk({"content": piece})
    yield chunk({}, "stop", **_extras(answer).model_dump(mode="json"))
    yield "data: [DONE]\n\n"
