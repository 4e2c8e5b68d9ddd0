"""Follow-up questions into standalone queries by an LLM (when LLM_BASE_URL is set).

llama-index's condense-question prompt over the last few turns. The LLM sees questions and
answers, so it resolves "how long is it valid?" better than the word-carrying method in
assistant/conversation/condense.py, which remains the fallback whenever the endpoint fails, is
slow, or returns something that is not a question.
"""

import logging

import openai
from llama_index.core.chat_engine.condense_question import DEFAULT_TEMPLATE

from assistant.conversation.condense import condense
from assistant.records.sessions import Turn

log = logging.getLogger(__name__)

MAX_TURNS = 4  # the last few turns carry the topic; older ones only add noise and tokens
MAX_ANSWER_CHARS = 400
MAX_QUERY_CHARS = 400


class LLMCondenser:
    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self.client = client
        self.model = model

    def __call__(self, question: str, history: list[Turn]) -> str:
        """The follow-up as a standalone question; a first question passes unchanged."""
        if not history:
            return question
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": self.prompt(question, history)}],
                temperature=0,
                max_tokens=100,
            )
            text = response.choices[0].message.content if response.choices else None
        except (openai.OpenAIError, ValueError) as exc:
            log.warning("LLM condensation failed (%s); carrying the topic forward instead", exc)
            return condense(question, history)
        standalone = " ".join((text or "").split()).strip("\"' ")
        if not standalone or len(standalone) > MAX_QUERY_CHARS:
            log.warning("LLM condensation gave no usable question; carrying the topic forward")
            return condense(question, history)
        return standalone

    @staticmethod
    def prompt(question: str, history: list[Turn]) -> str:
        lines = []
        for turn in history[-MAX_TURNS:]:
            answer = " ".join(turn.answer.split())[:MAX_ANSWER_CHARS]
            lines += [f"Human: {turn.question}", f"Assistant: {answer}"]
        return DEFAULT_TEMPLATE.format(chat_history="\n".join(lines), question=question)
