"""LLM-judged metrics, scored only when an OpenAI-compatible endpoint is configured
(LLM_BASE_URL, LLM_MODEL): Ragas Faithfulness, AnswerRelevancy (the collections name of
ResponseRelevancy) and ContextPrecisionWithReference (LLM context precision).

The judge reads the top retrieved chunks as the contexts. Metrics run one after another, so a
slow or rate-limited endpoint is asked one thing at a time.
"""

from typing import Any

from openai import AsyncOpenAI
from ragas.llms import llm_factory
from ragas.metrics.collections import (
    AnswerRelevancy,
    ContextPrecisionWithReference,
    Faithfulness,
)

from assistant.embedders import Embedder
from assistant.settings import Settings
from evals.metrics import MiniLMRagasEmbeddings, answer_text
from evals.records import TurnRecord

JUDGE_CONTEXTS = 5  # chunks the judge reads per turn: each costs one context-precision call


class JudgeScorer:
    def __init__(self, llm: Any, *, embedder: Embedder, relevancy_questions: int = 3) -> None:
        self.faithfulness = Faithfulness(llm=llm)
        self.relevancy = AnswerRelevancy(
            llm=llm, embeddings=MiniLMRagasEmbeddings(embedder), strictness=relevancy_questions
        )
        self.context_precision = ContextPrecisionWithReference(llm=llm)

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder) -> "JudgeScorer":
        if not settings.llm_base_url or not settings.llm_model:
            raise ValueError("the LLM judge needs LLM_BASE_URL and LLM_MODEL")
        client = AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "not-needed",  # local endpoints take any key
            timeout=settings.llm_timeout_seconds,
            max_retries=1,
        )
        return cls(llm_factory(settings.llm_model, client=client), embedder=embedder)

    async def score(self, record: TurnRecord) -> dict[str, float | None]:
        """Judge metrics for an answered turn that expects an answer; None elsewhere."""
        scores: dict[str, float | None] = {
            "faithfulness": None,
            "answer_relevancy": None,
            "llm_context_precision": None,
        }
        if not record.expects_answer or record.answer.refused or not record.retrieved:
            return scores
        question = record.turn.question
        response = answer_text(record.answer.answer)
        contexts = [c.text for c in record.retrieved[:JUDGE_CONTEXTS]]
        faithful = await self.faithfulness.ascore(
            user_input=question, response=response, retrieved_contexts=contexts
        )
        relevant = await self.relevancy.ascore(user_input=question, response=response)
        scores["faithfulness"] = _number(faithful.value)
        scores["answer_relevancy"] = _number(relevant.value)
        if record.turn.reference_answer:
            precision = await self.context_precision.ascore(
                user_input=question,
                reference=record.turn.reference_answer,
                retrieved_contexts=contexts,
            )
            scores["llm_context_precision"] = _number(precision.value)
        return scores


def _number(value: object) -> float | None:
    """A score as a float; None for the NaN Ragas returns when it found nothing to judge."""
    number = float(value) if isinstance(value, int | float) else float("nan")
    return None if number != number else number
