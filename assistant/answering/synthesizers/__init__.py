"""The synthesizer seam: a question and retrieved chunks in, a cited answer draft out."""

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.types import Draft, ScoredChunk, StreamEvent


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
