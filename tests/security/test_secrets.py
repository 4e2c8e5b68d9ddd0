"""Secrets stay secret: a real `assistant serve` process writes neither API keys, the LLM key nor
question text to its output, on success, refusal and failure paths; and API keys are compared
against every known key, so how long a lookup takes says nothing about which key matched."""

import hmac
import os
from pathlib import Path

import httpx
import pytest

from api.auth import AuthError, KeyRing
from tests.api.conftest import free_port, serve_process
from tests.corpus import write_corpus

SECRETS = ("emp-s3cret-key", "partner-s3cret-key", "llm-s3cret-key", "wrong-s3cret-key")
QUESTION_WORD = "Zanzibarquestion"


def test_a_served_process_logs_no_keys_and_no_questions(tmp_path: Path) -> None:
    content = tmp_path / "content"
    write_corpus(content / "corpus")
    dead_llm = f"http://127.0.0.1:{free_port()}/v1"  # the LLM endpoint is down: errors get logged
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "ASSISTANT_API_KEYS": f"{SECRETS[0]}=internal,{SECRETS[1]}=partner",
        "ASSISTANT_INGEST_ROOT": str(content),
        "LLM_BASE_URL": dead_llm,
        "LLM_MODEL": "any",
        "LLM_API_KEY": SECRETS[2],
        "LLM_TIMEOUT_SECONDS": "2",
        "HF_HUB_OFFLINE": "1",
    }
    log = tmp_path / "server.log"
    with serve_process(env, log) as url:
        internal = {"Authorization": f"Bearer {SECRETS[0]}"}
        partner = {"Authorization": f"Bearer {SECRETS[1]}"}
        ingested = httpx.post(
            f"{url}/v1/ingest", json={"paths": ["corpus"]}, headers=internal, timeout=120
        )
        assert ingested.status_code == 200, ingested.text
        question = f"How do I reset my password {QUESTION_WORD}?"
        replies = [
            httpx.post(f"{url}/v1/chat", json={"message": question}, headers=internal, timeout=60),
            httpx.post(
                f"{url}/v1/chat",
                json={"message": question, "stream": True},
                headers=partner,
                timeout=60,
            ),
            httpx.get(f"{url}/v1/search", params={"q": question}, headers=partner, timeout=60),
            httpx.post(
                f"{url}/v1/chat",
                json={"message": question},
                headers={"Authorization": f"Bearer {SECRETS[3]}"},
                timeout=60,
            ),
            httpx.post(f"{url}/v1/ingest", json={"paths": [QUESTION_WORD]}, headers=partner),
            httpx.post(f"{url}/v1/feedback", json={"session_id": QUESTION_WORD, "rating": "up"}),
        ]
        assert [r.status_code for r in replies] == [200, 200, 200, 401, 403, 404]
        assert replies[0].json()["warnings"], "the dead LLM endpoint should have been reported"
    output = log.read_text()
    assert '"status": 200' in output  # the access log was written
    for secret in (*SECRETS, QUESTION_WORD):
        assert secret not in output, f"{secret} in the server output"


@pytest.mark.parametrize("which", ["first", "last", "unknown"])
def test_a_key_is_compared_with_every_known_key_in_constant_time(
    which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [f"key-{n}" for n in range(20)]
    ring = KeyRing.parse(",".join(f"{k}=public" for k in keys))
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    key = {"first": keys[0], "last": keys[-1], "unknown": "nope"}[which]
    if which == "unknown":
        with pytest.raises(AuthError):
            ring.caller(f"Bearer {key}")
    else:
        assert ring.caller(f"Bearer {key}").key_id is not None
    assert len(compared) == len(keys)  # no early exit on a match
    assert all(len(a) == len(b) == 64 for a, b in compared)  # digests, not the keys themselves
