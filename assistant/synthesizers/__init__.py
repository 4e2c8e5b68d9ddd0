"""The synthesizer seam: a question and retrieved chunks in, a cited answer draft out."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.types import ScoredChunk


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


class Synthesizer(Protocol):
    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft: ...


@runtime_checkable
class StreamingSynthesizer(Synthesizer, Protocol):
    """A synthesizer that can show its answer while writing it (an LLM)."""

    def stream(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Iterator[StreamEvent]: ...
