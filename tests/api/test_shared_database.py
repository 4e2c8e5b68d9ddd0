"""Two real `assistant serve` processes sharing one Postgres app database (DATABASE_URL), as
several API instances behind a load balancer would: a conversation, its ratings, its owner
and the question log are one, whichever instance a request reaches.

The embedded Qdrant store belongs to one process, and no Qdrant server can be installed here,
so each instance serves its own copy of the same ingested index (FakeEmbedder: retrieval
quality does not matter here, the database does).
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.records.feedback import FeedbackStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore
from assistant.settings import Settings
from assistant.wiring import build_embedder, build_store
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.api.conftest import free_port, healthy
from tests.concurrency import at_once
from tests.corpus import write_corpus
from tests.postgres import PostgresCluster

pytestmark = pytest.mark.postgres

KEYS = "emp-a=internal,emp-b=internal,partner-key=partner"
EMPLOYEE = {"Authorization": "Bearer emp-a"}
COLLEAGUE = {"Authorization": "Bearer emp-b"}
PARTNER = {"Authorization": "Bearer partner-key"}


@dataclass(frozen=True)
class Instances:
    a: str
    b: str
    database_url: str


def _ingest(data_dir: Path, corpus: Path) -> None:
    settings = Settings(_env_file=None, data_dir=data_dir, embedder="fake")  # type: ignore[call-arg]
    embedder = build_embedder(settings)
    store = build_store(settings, dimension=embedder.dimension)
    try:
        chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
        IngestJob(store, embedder, chunker).run([corpus])
    finally:
        store.close()


@pytest.fixture(scope="module")
def instances(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster
) -> Iterator[Instances]:
    """Both servers, started at the same moment on an empty Postgres database (each creates
    the tables it finds missing)."""
    root = tmp_path_factory.mktemp("shared-db")
    _ingest(root / "a", write_corpus(root / "corpus"))
    shutil.copytree(root / "a", root / "b")
    database_url = postgres.database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ASSISTANT_EMBEDDER": "fake",
        "ASSISTANT_API_KEYS": KEYS,
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
        "HF_HUB_OFFLINE": "1",
    }
    ports = [free_port(), free_port()]
    servers = []
    for name, port in zip("ab", ports, strict=True):
        with (root / f"{name}.log").open("w") as log:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
                    env={**env, "ASSISTANT_DATA_DIR": str(root / name)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 120
        for name, server, url in zip("ab", servers, urls, strict=True):
            while not healthy(url):
                log = (root / f"{name}.log").read_text()
                assert server.poll() is None, f"server {name} exited: {log}"
                assert time.monotonic() < deadline, f"server {name} did not come up: {log}"
                time.sleep(0.2)
        yield Instances(urls[0], urls[1], database_url)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)


def _chat(url: str, message: str, headers: dict[str, str], **body: str) -> dict:
    reply = httpx.post(
        f"{url}/v1/chat",
        json={"message": message, "mode": "internal", **body},
        headers=headers,
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    answer: dict = reply.json()
    return answer


def test_a_conversation_continues_on_whichever_instance_gets_the_turn(
    instances: Instances,
) -> None:
    first = _chat(instances.a, "How do I reset my password?", EMPLOYEE)
    session_id = first["session_id"]
    # B condenses the follow-up from the turn A stored: its standalone query names the topic.
    second = _chat(instances.b, "how long is the link valid?", EMPLOYEE, session_id=session_id)
    assert second["session_id"] == session_id
    assert "password" in second["query"].lower(), second["query"]
    third = _chat(instances.a, "and on mobile?", EMPLOYEE, session_id=session_id)
    assert third["session_id"] == session_id

    store = SessionStore(instances.database_url)
    try:
        assert [t.question for t in store.history(session_id)] == [
            "How do I reset my password?",
            "how long is the link valid?",
            "and on mobile?",
        ]
        # A rating sent to B belongs to the latest turn, which A answered.
        rated = httpx.post(
            f"{instances.b}/v1/feedback",
            json={"session_id": session_id, "rating": "down"},
            headers=EMPLOYEE,
            timeout=30,
        )
        assert rated.status_code == 201, rated.text
        [feedback] = [
            f for f in FeedbackStore(store.engine).entries() if f.session_id == session_id
        ]
        assert feedback.question == "and on mobile?"
    finally:
        store.close()


def test_turns_sent_to_both_instances_at_once_are_all_kept_in_order(
    instances: Instances,
) -> None:
    session_id = _chat(instances.a, "How do I add a tax rate?", EMPLOYEE)["session_id"]
    questions = {
        url: [f"How do I add tax rate number {n} on {name}?" for n in range(5)]
        for name, url in (("a", instances.a), ("b", instances.b))
    }

    def send(n: int) -> list[str]:
        url = (instances.a, instances.b)[n]
        return [
            _chat(url, q, EMPLOYEE, session_id=session_id)["session_id"] for q in questions[url]
        ]

    assert all(ids == [session_id] * 5 for ids in at_once(send, 2))
    store = SessionStore(instances.database_url)
    try:
        stored = [t.question for t in store.history(session_id, limit=100)]
    finally:
        store.close()
    assert len(stored) == 11 and stored[0] == "How do I add a tax rate?"
    for sent in questions.values():  # each instance's turns, in the order it answered them
        assert [q for q in stored if q in sent] == sent


def test_a_session_belongs_to_its_caller_on_either_instance(instances: Instances) -> None:
    session_id = _chat(instances.a, "How do I export invoices?", EMPLOYEE)["session_id"]
    for other in (COLLEAGUE, PARTNER, {}):
        reply = _chat(instances.b, "and as PDF?", other, session_id=session_id)
        assert reply["session_id"] != session_id
        rating = httpx.post(
            f"{instances.b}/v1/feedback",
            json={"session_id": session_id, "rating": "down"},
            headers=other,
            timeout=30,
        )
        assert rating.status_code == 404
    assert _chat(instances.b, "and as PDF?", EMPLOYEE, session_id=session_id)["session_id"] == (
        session_id
    )


def test_two_callers_naming_one_new_session_on_two_instances_one_gets_it(
    instances: Instances,
) -> None:
    targets = [(instances.a, EMPLOYEE), (instances.b, COLLEAGUE)]
    for _ in range(5):
        session_id = str(uuid.uuid4())  # a client-made id, sent to both at the same moment

        def ask(n: int, session_id: str = session_id) -> dict:
            url, key = targets[n]
            return _chat(url, "How do I add a tax rate?", key, session_id=session_id)

        kept = [reply["session_id"] == session_id for reply in at_once(ask, 2)]
        assert sorted(kept) == [False, True]


def test_both_instances_report_the_questions_asked_on_either(instances: Instances) -> None:
    _chat(instances.a, "How do I run payroll for my employees?", EMPLOYEE)
    _chat(instances.b, "How do I run payroll for my employees?", EMPLOYEE)
    store = SessionStore(instances.database_url)
    try:
        logged = len(QuestionLog(store.engine).entries())
    finally:
        store.close()
    totals = [
        httpx.get(f"{url}/v1/analytics/gaps?since=1d", headers=EMPLOYEE, timeout=120).json()[
            "questions"
        ]
        for url in (instances.a, instances.b)
    ]
    assert totals == [logged, logged]
