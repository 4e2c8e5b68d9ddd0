"""Conversation: follow-ups made standalone, small talk and requests for a person.

`Condenser` is the seam for the first: `condense` (conversation/condense.py) carries the earlier
questions' words; `LLMCondenser` (conversation/llm_condense.py) asks an LLM to rewrite."""

from typing import Protocol

from assistant.records.sessions import Turn


class Condenser(Protocol):
    def __call__(self, question: str, history: list[Turn]) -> str:
        """`question` made standalone with the conversation's earlier `history`, within about
        400 characters; the question itself when there is no history."""
        ...
