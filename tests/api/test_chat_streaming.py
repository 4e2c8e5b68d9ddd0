"""POST /v1/chat streams an LLM's answer as it is written, over a real HTTP server, with the
LLM played by a scripted fake OpenAI-compatible server."""

from tests.fakes.fake_openai_server import FakeOpenAIServer
from tests.sse import chat_events, shown_after_last_retraction

QUESTION = "How do I reset my password?"
SUPPORTED = "Open the sign-in page and click Forgot password [1]."


def test_the_llms_text_streams_before_the_answer_is_done(
    llm_url: str, fake_llm: FakeOpenAIServer
) -> None:
    sentence = "The reset link expires after 30 minutes [1]."
    fake_llm.reply(f"{SUPPORTED} {sentence}", delta_chars=4)
    events = chat_events(llm_url, {"message": QUESTION})
    names = [name for name, _ in events]
    assert names[-2:] == ["citations", "done"]
    assert names.count("delta") >= 2  # sentence by sentence, as each one's citation arrived
    assert "retraction" not in names
    done = events[-1][1]
    assert not done["refused"] and done["warnings"] == []
    assert shown_after_last_retraction(events) == done["answer"]
    assert "Forgot password" in done["answer"]
    assert [c["document"] for c in done["citations"]] == [
        c["document"] for c in events[-2][1]["citations"]
    ]
    assert fake_llm.requests[-1].body["stream"] is True


def test_text_that_fails_the_check_is_retracted_and_replaced(
    llm_url: str, fake_llm: FakeOpenAIServer
) -> None:
    # Each sentence is shown as soon as it cites; neither is supported by any source, so the
    # repair leaves nothing and the extractive answer replaces them.
    fake_llm.reply(
        "Send your password to support by e-mail [1]. They will change it for you [1].",
        delta_chars=4,
    )
    events = chat_events(llm_url, {"message": QUESTION})
    names = [name for name, _ in events]
    assert names.index("delta") < names.index("retraction") < names.index("done")
    done = events[-1][1]
    assert shown_after_last_retraction(events) == done["answer"]
    assert "Send your password" not in done["answer"]
    assert any("extractive" in warning for warning in done["warnings"])
