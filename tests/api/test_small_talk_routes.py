"""Small talk over every route: a friendly reply without citations, as JSON, as Server-Sent
Events and as an OpenAI chat completion, against the running server."""

import httpx
from openai import OpenAI

from tests.sse import chat_events


def test_chat_replies_to_a_greeting_without_sources(base_url: str) -> None:
    answer = httpx.post(f"{base_url}/v1/chat", json={"message": "hi"}, timeout=30).json()
    assert answer["refused"] is False
    assert answer["citations"] == []
    assert answer["session_id"]
    assert "Welcome everyone" not in answer["answer"]


def test_streamed_small_talk_ends_with_no_citations(base_url: str) -> None:
    events = chat_events(base_url, {"message": "thanks!"})
    names = [name for name, _ in events]
    assert names[-2:] == ["citations", "done"]
    done = events[-1][1]
    assert events[-2][1] == {"citations": []}
    assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
    assert done["refused"] is False and done["session_id"]


def test_completions_thank_you_after_an_answer_is_small_talk(base_url: str) -> None:
    client = OpenAI(base_url=f"{base_url}/v1", api_key="public-key", max_retries=0, timeout=60)
    completion = client.chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": "How do I reset my password?"},
            {"role": "assistant", "content": "Open the sign-in page and click Forgot password."},
            {"role": "user", "content": "thanks for that!"},
        ],
    )
    content = completion.choices[0].message.content or ""
    extra = completion.model_extra or {}
    assert extra["citations"] == [] and extra["refused"] is False
    assert "Sources:" not in content
    assert "Forgot password" not in content
