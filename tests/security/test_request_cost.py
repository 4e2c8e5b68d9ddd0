"""What one request can cost: no body within the limits costs much more CPU than an ordinary
question of the same length, however it is built.

A 3,990-letter word cost 0.48 s on /v1/chat against 0.05 s for a question of real words of
that length (typo candidates quadratic in a word's length, an e-mail pattern quadratic in a
run of letters); earlier messages of /v1/chat/completions had no length limit at all. The
server here runs in this process, so `time.process_time` counts its CPU (and the client's,
the same for every request); each figure is the least of a few runs, with the answer cache
off so that every run computes its answer.
"""

import random
import shutil
import string
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.routes.chat import MAX_MESSAGE_CHARS
from assistant.answering.confidence import EVERYDAY_RANK, word_ranks
from assistant.embedders import Embedder
from assistant.wiring import build_components
from tests.api.conftest import serve
from tests.security.conftest import IsolationIndex

# Hostile bodies may cost this many times an ordinary question of the same length. They cost
# at most 1.1 times as much now, 9.5 times before.
RATIO = 3
SIZE = MAX_MESSAGE_CHARS - 10
PROSE = (
    "My customer says the payment reminder for invoice 1042 never arrived although "
    "automatic reminders are on in Settings, the invoice is overdue by twelve days and "
    "the e-mail address on the contact looks right. Where can I see whether Ledgerly "
    "sent it, how do I resend it by hand, and can I change the reminder schedule so "
    "that the first reminder goes out three days after the due date instead of seven? "
)


def _fit(text: str, size: int = SIZE) -> str:
    return (text * (size // len(text) + 1))[:size]


def _typos() -> str:
    """Typos of frequent words that take every candidate spelling to recognise."""
    ranks = word_ranks()
    frequent = [w for w, rank in ranks.items() if rank < EVERYDAY_RANK and len(w) >= 11]
    return " ".join(w[:-1] for w in frequent if w[:-1] not in ranks and w[:-2] not in ranks)


def _random_words(letters: int) -> str:
    rng = random.Random(letters)
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=letters)) for _ in range(400))


ORDINARY = _fit(PROSE)
HOSTILE = {
    "one long word": _fit(string.ascii_lowercase[::-1] + "qwertyuiop"),
    "one letter repeated": "a" * SIZE,
    "typos of frequent words": _fit(_typos() + " "),
    "digits and dots": _fit("1."),
}
SLOW_HOSTILE = {
    "random 12-letter words": _fit(_random_words(12) + " "),
    "random 40-letter words": _fit(_random_words(40) + " "),
    "address characters": _fit("a.b+c-d_"),
    "at signs": _fit("a@" + "b" * 60),
    "digit groups": _fit("12 34-"),
    "punctuation": _fit("?!.,;"),
    "joined parts": _fit("payroll and "),
    "non-ascii": _fit("ñandú" * 3 + " "),
}


@pytest.fixture(scope="module")
def url(
    isolation_index: IsolationIndex, real_embedder: Embedder, tmp_path_factory: Any
) -> Iterator[str]:
    """corpora/ served with the answer cache off (a copy of the index: the isolation server
    holds the original)."""
    data = tmp_path_factory.mktemp("cost") / "data"
    shutil.copytree(isolation_index.cli_data_dir, data)
    settings = isolation_index.settings.model_copy(
        update={"data_dir": data, "answer_cache_size": 0}
    )
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as served:
        yield served


def _cpu(client: httpx.Client, path: str, body: dict[str, Any], *, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()
        response = client.post(path, json=body)
        times.append(time.process_time() - started)
        assert response.status_code == 200, response.text
    return min(times)


def _chat(message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, **extra}


def _completion(last: str, earlier: str | None = None, *, turns: int = 1) -> dict[str, Any]:
    """A conversation of `turns` earlier user messages (each `earlier`, an answer after each)
    ending with `last`."""
    messages: list[dict[str, str]] = []
    for _ in range(turns if earlier else 0):
        messages += [
            {"role": "user", "content": str(earlier)},
            {"role": "assistant", "content": "See the Reminders article."},
        ]
    return {"model": "assistant", "messages": [*messages, {"role": "user", "content": last}]}


def _assert_bounded(client: httpx.Client, bodies: dict[str, Any], path: str, ordinary: Any) -> None:
    baseline = _cpu(client, path, ordinary)
    costs = {name: _cpu(client, path, body) for name, body in bodies.items()}
    too_costly = {name: round(cpu / baseline, 1) for name, cpu in costs.items()}
    assert max(costs.values()) < RATIO * baseline, f"times an ordinary question: {too_costly}"


def test_no_chat_message_costs_much_more_than_an_ordinary_one(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        bodies = {name: _chat(text) for name, text in HOSTILE.items()}
        _assert_bounded(client, bodies, "/v1/chat", _chat(ORDINARY))


def test_no_conversation_costs_much_more_than_an_ordinary_one(url: str) -> None:
    """Earlier user messages are condensed with the last one: each may be as long as it."""
    turns = 5  # 5 x 4,000 characters and the question: within the 64 KB body limit
    with httpx.Client(base_url=url, timeout=120) as client:
        bodies = {name: _completion(text, text, turns=turns) for name, text in HOSTILE.items()}
        ordinary = _completion(ORDINARY, ORDINARY, turns=turns)
        _assert_bounded(client, bodies, "/v1/chat/completions", ordinary)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["customer", "agent", "internal"])
def test_every_hostile_shape_in_every_mode_and_path_is_bounded(url: str, mode: str) -> None:
    """Every shape, as a question, as a follow-up in a session (two queries answered), as the
    earlier messages of a conversation, streamed or not, with an employee's key (agent mode
    adds internal notes: another answer)."""
    shapes = HOSTILE | SLOW_HOSTILE
    headers = {"Authorization": "Bearer emp-secret"}
    with httpx.Client(base_url=url, timeout=300, headers=headers) as client:
        opening = client.post("/v1/chat", json=_chat("How do I set up payment reminders?"))
        session = opening.json()["session_id"]
        chats = {name: _chat(text, mode=mode) for name, text in shapes.items()}
        _assert_bounded(client, chats, "/v1/chat", _chat(ORDINARY, mode=mode))
        follow_ups = {k: {**body, "session_id": session} for k, body in chats.items()}
        _assert_bounded(
            client, follow_ups, "/v1/chat", _chat(ORDINARY, mode=mode, session_id=session)
        )
        streamed = {k: {**body, "stream": True} for k, body in chats.items()}
        _assert_bounded(client, streamed, "/v1/chat", _chat(ORDINARY, mode=mode, stream=True))
        conversations = {
            name: {**_completion(text, text, turns=5), "mode": mode}
            for name, text in shapes.items()
        }
        ordinary = {**_completion(ORDINARY, ORDINARY, turns=5), "mode": mode}
        _assert_bounded(client, conversations, "/v1/chat/completions", ordinary)
