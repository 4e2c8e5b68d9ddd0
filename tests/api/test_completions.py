"""POST /v1/chat/completions driven by the real `openai` client against the running server."""

import json

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.fake_openai_server import FakeOpenAIServer

QUESTION = "How do I reset my password?"


def client(base_url: str, key: str = "public-key") -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=60)


def test_a_completion_is_the_cited_answer_with_full_source_urls(base_url: str) -> None:
    completion = client(base_url).chat.completions.create(
        model="whatever-the-client-sends",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": QUESTION},
        ],
    )
    assert completion.model == "whatever-the-client-sends"
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    answer, _, sources = content.partition("\n\nSources:\n")
    assert "[1]" in answer
    assert sources.startswith("[1] Resetting your password: https://help.example.com/articles/")
    extra = completion.model_extra or {}
    assert extra["refused"] is False and extra["confidence"] > 0
    assert extra["citations"][0]["document"] == "kb/reset-password.md"
    assert extra["citations"][0]["url"] in sources
    assert extra["session_id"].startswith("oai-")


def test_streaming_sends_openai_chunks_with_the_same_text(base_url: str) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    whole = client(base_url).chat.completions.create(model="m", messages=messages)
    chunks = list(
        client(base_url).chat.completions.create(model="m", messages=messages, stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].id.startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" and c.model == "m" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks].count("stop") == 1
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"][0]["document"] == "kb/reset-password.md"
    # A retried request is the same conversation state: the same session.
    assert (last.model_extra or {})["session_id"] == (whole.model_extra or {})["session_id"]


def test_the_raw_stream_ends_with_done(base_url: str) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line[6:]) for line in lines[:-1]]
    assert payloads[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]


def _conversation(first: str, reply: str, follow_up: str) -> list[ChatCompletionMessageParam]:
    return [
        {"role": "user", "content": first},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": follow_up},
    ]


def test_follow_ups_are_condensed_from_the_conversation_sent(base_url: str) -> None:
    openai_client = client(base_url)
    first = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": QUESTION}]
    )
    reply = first.choices[0].message.content or ""
    follow_up = openai_client.chat.completions.create(
        model="m",
        messages=_conversation(QUESTION, reply, "How long is the link valid for it?"),
    )
    extra = follow_up.model_extra or {}
    assert extra["query"].startswith(QUESTION)
    assert extra["citations"][0]["document"] == "kb/reset-password.md"
    assert "30 minutes" in (follow_up.choices[0].message.content or "")


def test_conversations_that_share_a_follow_up_do_not_mix(base_url: str) -> None:
    openai_client = client(base_url)
    follow_up = "And how long does it take?"
    queries = {}
    for first in (QUESTION, "How do I add a tax rate?"):
        completion = openai_client.chat.completions.create(
            model="m",
            messages=_conversation(first, "(earlier answer)", follow_up),
        )
        queries[first] = (completion.model_extra or {})["query"]
    assert queries[QUESTION].startswith(QUESTION)
    assert queries["How do I add a tax rate?"].startswith("How do I add a tax rate?")


def test_the_key_decides_what_the_internal_mode_reads(base_url: str) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "What override code is used for large refunds?"}
    ]
    public = client(base_url).chat.completions.create(
        model="m",
        messages=messages,
        extra_body={"mode": "internal"},
    )
    assert "PELICAN" not in public.model_dump_json()
    employee = client(base_url, "emp-secret").chat.completions.create(
        model="m",
        messages=messages,
        extra_body={"mode": "internal"},
    )
    assert (employee.model_extra or {})["citations"][0]["document"] == "kb/internal-refunds.md"


def test_an_unknown_key_is_a_401_the_client_understands(base_url: str) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(base_url, "sk-not-ours").chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}]
        )
    assert "Unknown API key" in str(raised.value)


def test_models_are_listed_for_clients_that_ask(base_url: str) -> None:
    assert [m.id for m in client(base_url).models.list()] == ["assistant"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": []},
        {"model": "m", "messages": "hi"},
        {"messages": [{"role": "user", "content": "hi"}]},
        {"model": "", "messages": [{"role": "user", "content": "hi"}]},
        {"model": "m", "messages": [{"role": "assistant", "content": "hi"}]},
        {"model": "m", "messages": [{"role": "user", "content": "   "}]},
        {"model": "m", "messages": [{"role": "user", "content": None}]},
        {"model": "m", "messages": [{"role": "user", "content": "x" * 4001}]},
        {"model": "m", "messages": [{"role": "wizard", "content": "hi"}]},
        {"model": "m", "messages": [{"role": "user"}]},
        {"model": "m", "messages": [{"role": "user", "content": 42}]},
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ],
        },
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "mode": "admin"},
    ],
)
def test_bad_completion_requests_are_422(base_url: str, body: object) -> None:
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_text_parts_and_unknown_options_are_accepted(base_url: str) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        "temperature": 0.2,
        "max_tokens": 300,
        "stream_options": {"include_usage": True},
    }
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200
    assert response.json()["citations"][0]["document"] == "kb/reset-password.md"


def test_the_configured_condenser_reads_the_conversation_sent(
    llm_url: str, fake_llm: FakeOpenAIServer
) -> None:
    """One answer path: with an LLM configured, the messages sent are condensed by it (with
    the assistant's replies), as a /v1/chat session's turns are; the query is its question."""
    fake_llm.reply("How long is a password reset link valid?")  # the condensed question
    fake_llm.reply("The reset link is valid for 30 minutes [1].")  # the answer
    completion = client(llm_url).chat.completions.create(
        model="m",
        messages=_conversation(QUESTION, "Open the sign-in page.", "how long is it valid?"),
    )
    assert (completion.model_extra or {})["query"] == "How long is a password reset link valid?"
    condensing = fake_llm.requests[0].prompt
    assert "Assistant: Open the sign-in page." in condensing
    assert "how long is it valid?" in condensing
