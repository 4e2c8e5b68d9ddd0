"""The LLM judge path, against the fake OpenAI-compatible server (a real HTTP server that replies
from a script): Ragas' prompts reach the endpoint and the scripted verdicts become our scores."""

import asyncio
import json
from collections.abc import Iterator

import pytest

from assistant.embedders import Embedder
from assistant.settings import Settings
from evals.judge import JUDGE_CONTEXTS, JudgeScorer
from tests.evals.records import INVOICE_TEXT, RESET_TEXT, chunk, record
from tests.fakes.fake_openai_server import FakeOpenAIServer


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def judge_for(server: FakeOpenAIServer, embedder: Embedder) -> JudgeScorer:
    settings = Settings(_env_file=None, LLM_BASE_URL=server.base_url, LLM_MODEL="judge-model")  # type: ignore[call-arg]
    return JudgeScorer.from_settings(settings, embedder=embedder)


def test_judge_scores_come_from_the_endpoints_verdicts(
    server: FakeOpenAIServer, real_embedder: Embedder
) -> None:
    reset, invoice = chunk("kb/reset.md", RESET_TEXT), chunk("kb/invoice.md", INVOICE_TEXT)
    turn = record(
        "Reset links expire after 30 minutes [1]. They also unlock payroll [1].",
        cited=[reset],
        retrieved=[reset, invoice],
    )
    statements = ["Reset links expire after 30 minutes.", "Reset links unlock payroll."]
    # Faithfulness: statements, then one verdict per statement (1 of 2 supported).
    server.reply(json.dumps({"statements": statements}))
    server.reply(
        json.dumps(
            {
                "statements": [
                    {"statement": statements[0], "reason": "stated", "verdict": 1},
                    {"statement": statements[1], "reason": "not stated", "verdict": 0},
                ]
            }
        )
    )
    # Answer relevancy: one generated question per round (1 round here).
    server.reply(json.dumps({"question": "how long do reset links last?", "noncommittal": 0}))
    # LLM context precision: one verdict per context, in rank order: useful, then not.
    server.reply(json.dumps({"reason": "answers it", "verdict": 1}))
    server.reply(json.dumps({"reason": "unrelated", "verdict": 0}))

    judge = judge_for(server, real_embedder)
    judge.relevancy.strictness = 1
    scores = asyncio.run(judge.score(turn))

    assert scores["faithfulness"] == pytest.approx(0.5)
    # The generated question is the asked question: cosine 1.
    assert scores["answer_relevancy"] == pytest.approx(1.0, abs=1e-4)
    assert scores["llm_context_precision"] == pytest.approx(1.0, abs=1e-6)
    assert len(server.requests) == 5
    assert all(r.body["model"] == "judge-model" for r in server.requests)
    # The answer reaches the judge as prose, without citation markers.
    assert "after 30 minutes. They also unlock payroll." in server.requests[0].prompt
    assert INVOICE_TEXT in server.requests[4].prompt  # the second context was judged last
    assert JUDGE_CONTEXTS >= 2


def test_refused_and_refusal_cases_are_not_sent_to_the_judge(
    server: FakeOpenAIServer, real_embedder: Embedder
) -> None:
    reset = chunk("kb/reset.md", RESET_TEXT)
    refused = record("I couldn't find this.", cited=[], retrieved=[reset], refused=True)
    out_of_scope = record(
        "Reset links expire after 30 minutes [1].",
        cited=[reset],
        expect="refuse",
        reference_documents=(),
    )
    judge = judge_for(server, real_embedder)
    for turn in (refused, out_of_scope):
        scores = asyncio.run(judge.score(turn))
        assert set(scores.values()) == {None}
    assert server.requests == []
