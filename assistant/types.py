"""Typed values that flow through the core: audiences, retrieved chunks, citations, answers."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, Field


class Audience(StrEnum):
    PUBLIC = "public"
    PARTNER = "partner"
    INTERNAL = "internal"

    def visible(self) -> list[str]:
        """Audiences whose content this caller may read (applied inside every store query)."""
        order = [Audience.PUBLIC, Audience.PARTNER, Audience.INTERNAL]
        return [a.value for a in order[: order.index(self) + 1]]


class SourceType(StrEnum):
    KB = "kb"
    COURSE = "course"
    TRANSCRIPT = "transcript"
    THREAD = "thread"


class Mode(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    INTERNAL = "internal"


def readable_audiences(audience: Audience, mode: Mode) -> list[str]:
    """Customer-facing modes read public content only, whoever the caller is."""
    if mode in (Mode.CUSTOMER, Mode.AGENT):
        return [Audience.PUBLIC.value]
    return audience.visible()


@dataclass(frozen=True)
class ScoredChunk:
    """One retrieved chunk: its text, its payload metadata and how well it matched."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float
    similarity: float = 0.0  # cosine between question and chunk; comparable across queries
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def document(self) -> str:
        return str(self.metadata.get("document", ""))

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))


class Citation(BaseModel):
    id: int
    title: str
    source_type: str
    url: str | None = None
    document: str
    snippet: str
    audience: str
    reviewed: bool = True
    start_seconds: float | None = None
    author: str | None = Field(default=None, description="Forum posts: who wrote the post.")
    product_version: str | None = Field(
        default=None, description="The product version the source describes, if it says."
    )


class InternalNotes(BaseModel):
    """Agent mode: what internal sources add, kept apart from the customer-ready answer."""

    text: str
    citations: list[Citation]


class Handover(BaseModel):
    """The user asked for a person: how to reach support (the page shows it as a link)."""

    support_url: str | None = Field(
        default=None, description="Where to contact support (ASSISTANT_SUPPORT_URL), if set."
    )


class Answer(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float
    refused: bool
    session_id: str
    query: str = Field(default="", description="The standalone query that was searched.")
    warnings: list[str] = Field(default_factory=list)
    ticket_text: str | None = Field(
        default=None, description="Agent mode: plain text with full URLs, ready for a ticket."
    )
    internal_notes: InternalNotes | None = Field(
        default=None, description="Agent mode: internal-only findings, never for the customer."
    )
    handover: Handover | None = Field(
        default=None,
        description="Set when the message asked for a person: the reply says how to reach "
        "support, and the conversation counts as escalated.",
    )


@dataclass(frozen=True)
class Draft:
    """Answer text whose `[n]` markers index `sources` (1-based), plus how well it is supported.

    `warnings` say what the reader should know about how the draft was made, e.g. that the
    LLM's answer was rejected and this is the extractive one. `fallback`: made by the fallback
    because the LLM could not answer (so not worth keeping in a cache). `repairs`: how the
    LLM's citations were mended before they passed the check (for logs, not for the reader).
    """

    text: str
    sources: list[ScoredChunk]
    support: float
    warnings: list[str] = field(default_factory=list)
    fallback: bool = False
    repairs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TextDelta:
    """More answer text: append it to what is shown."""

    text: str


@dataclass(frozen=True)
class Retraction:
    """Withdraw the text shown so far: the deltas that follow are a different answer."""

    reason: str


@dataclass(frozen=True)
class Done:
    """The final draft. The deltas since the last retraction concatenate to its text."""

    draft: Draft


StreamEvent = TextDelta | Retraction | Done


@dataclass(frozen=True)
class Finished:
    """The last event of `Answerer.stream`: the whole Answer. `fallback`: the LLM could not
    answer, so the fallback (extractive) synthesizer did."""

    answer: Answer
    fallback: bool = False


AnswerEvent = TextDelta | Retraction | Finished
