"""LLM condensation of follow-ups, against a scripted fake OpenAI-compatible server."""

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from assistant.conversation.condense import condense
from assistant.conversation.llm_condense import LLMCondenser
from assistant.embedders.fake import FakeEmbedder
from assistant.records.sessions import Turn
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.fakes.fake_openai_server import FakeOpenAIServer

HISTORY = [
    Turn(
        question="How do I reset my password?",
        standalone="How do I reset my password?",
        answer="Open the sign-in page and click Forgot password [1].",
        refused=False,
    )
]
FOLLOW_UP = "how long is it valid?"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def condenser_for(server: FakeOpenAIServer) -> LLMCondenser:
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=2.0)
    return LLMCondenser(client, "fake-model")


def test_the_llms_standalone_question_is_the_query(server: FakeOpenAIServer) -> None:
    server.reply('  "How long is a password reset link valid?"\n')
    query = condenser_for(server)(FOLLOW_UP, HISTORY)
    assert query == "How long is a password reset link valid?"
    prompt = server.requests[0].prompt
    assert "Human: How do I reset my password?" in prompt
    assert "Assistant: Open the sign-in page" in prompt
    assert FOLLOW_UP in prompt


def test_a_first_question_needs_no_llm_call(server: FakeOpenAIServer) -> None:
    assert condenser_for(server)("How do I reset my password?", []) == (
        "How do I reset my password?"
    )
    assert server.requests == []


@pytest.mark.parametrize("failure", ["error", "empty", "hang"])
def test_a_failing_endpoint_falls_back_to_carrying_the_topic(
    server: FakeOpenAIServer, failure: str
) -> None:
    if failure == "error":
        server.fail(503)
    elif failure == "empty":
        server.reply("   ")
    else:
        server.hang(10)
    assert condenser_for(server)(FOLLOW_UP, HISTORY) == condense(FOLLOW_UP, HISTORY)


def test_wiring_condenses_with_the_llm_only_when_one_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    plain = Settings(_env_file=None, data_dir=tmp_path / "plain")  # type: ignore[call-arg]
    with_llm = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "llm",
        LLM_BASE_URL="http://127.0.0.1:9/v1",  # type: ignore[call-arg]
        LLM_MODEL="fake-model",  # type: ignore[call-arg]
    )
    for settings, expected in ((plain, False), (with_llm, True)):
        components = build_components(settings, embedder=FakeEmbedder())
        try:
            assert isinstance(components.answerer.condenser, LLMCondenser) is expected
        finally:
            components.close()
