"""The synthesizer seam: a question and retrieved chunks in, a cited answer draft out."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from assistant.types import ScoredChunk


@dataclass(frozen=True)
class Draft:
    """Answer text whose `[n]` markers index `sources` (1-based), plus how well it is supported.

    `warnings` say what the reader should know about how the draft was made, e.g. that the
    LLM's answer was rejected and this is the extractive one.
    """

    text: str
    sources: list[ScoredChunk]
    support: float
    warnings: list[str] = field(default_factory=list)


class Synthesizer(Protocol):
    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft: ...
