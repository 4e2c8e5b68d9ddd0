"""Crash safety: `assistant ingest` killed with SIGKILL at random moments, then run again, ends
with exactly the index a clean ingest builds: no lost, duplicated or half-written documents.

Each kill lands a seeded random time after the process has opened the store, within how long a
clean ingest of the corpus takes. Half the trials start from an empty data folder, and their
first kill comes while the store is still being created; the other half start from the index
of an older version of the corpus, so the killed runs replace, add and delete documents. The
FakeEmbedder (ASSISTANT_EMBEDDER=fake) keeps each run to seconds.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import qdrant_edge as qe

from assistant.embedders.fake import FakeEmbedder
from assistant.settings import Settings
from assistant.stores import DocumentManifest
from assistant.stores.edge import EdgeStore, shard_config
from assistant.stores.payload import CHUNK, INDEXED_KEYWORDS

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="watches the ingest process in /proc (Linux)"
)

FILES = 60
KILLS_PER_TRIAL = 2
# Creating a store (the shard, then its payload indexes) takes about 0.1 s.
CREATION_SECONDS = 0.15
TIMEOUT = 300
_VOCABULARY = (
    "invoice customer payment reminder account bank feed currency tax report export import "
    "receipt expense approval refund webhook signature retry token password security role "
    "permission team lead branding logo template schedule recurring overdue fee balance "
    "ledger journal reconcile transaction statement mobile scan upload audit archive"
)
_WORDS = _VOCABULARY.split()


def write_corpus(folder: Path, *, version: int) -> int:
    """Writes `FILES` Markdown articles (version 2: some changed, some gone, a few new) into an
    emptied `folder`, the same bytes every time. Returns the number of documents."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    numbers = list(range(FILES))
    if version == 2:
        numbers = [i for i in numbers if i % 10 != 3] + list(range(FILES, FILES + 4))
    for i in numbers:
        edition = 2 if version == 2 and i % 6 == 0 else 1
        (folder / f"article-{i:03d}.md").write_text(_article(i, edition), encoding="utf-8")
    return len(numbers)


def _article(number: int, edition: int) -> str:
    rng = random.Random(number * 100 + edition)
    audience = ("public", "partner", "internal")[number % 3]
    parts = [
        f"---\ntitle: Article {number}\naudience: {audience}\n"
        f"url: https://help.example.com/articles/{number}\n---\n# Article {number}\n"
    ]
    for section in range(rng.randint(6, 14)):
        parts.append(f"## Topic {section} {rng.choice(_WORDS)}")
        if rng.random() < 0.3:
            steps = rng.randint(3, 6)
            parts.extend(f"{s + 1}. {_sentence(rng, 8, 16)}" for s in range(steps))
        for _ in range(rng.randint(1, 2)):
            parts.append(" ".join(_sentence(rng, 6, 16) for _ in range(rng.randint(2, 5))))
    return "\n\n".join(parts) + "\n"


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(shortest, longest))]
    return " ".join(words).capitalize() + "."


def _command(corpus: Path) -> list[str]:
    return [sys.executable, "-m", "assistant", "ingest", str(corpus), "--json"]


def _env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
    }


def ingest(corpus: Path, data: Path) -> dict[str, Any]:
    """Runs an ingest to completion; returns its JSON summary."""
    done = subprocess.run(
        _command(corpus), capture_output=True, text=True, env=_env(data), timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def ingest_killed(corpus: Path, data: Path, *, delay: float) -> bool:
    """Starts an ingest, SIGKILLs it `delay` seconds after it opened the store.

    Returns whether it was still running when killed.
    """
    edge = str(Settings(data_dir=data).edge_path)
    process = subprocess.Popen(
        _command(corpus),
        env=_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None and not _has_open(process.pid, edge):
            assert time.monotonic() < deadline, "the ingest never opened its store"
            time.sleep(0.005)
        time.sleep(delay)
        running = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT)
    if not running:
        assert process.returncode == 0, f"the ingest failed on its own ({process.returncode})"
    return running


def _has_open(pid: int, prefix: str) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        names = os.listdir(fds)
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(fds / name).startswith(prefix):
                return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class Index:
    payload_indexes: frozenset[str]
    manifests: frozenset[DocumentManifest]
    chunk_texts: dict[str, str]  # node id → text
    chunks_per_document: dict[str, int]  # doc id → chunks found


def read_index(data: Path) -> Index:
    store = EdgeStore(Settings(data_dir=data).edge_path, dimension=FakeEmbedder().dimension)
    try:
        payload_indexes = frozenset(store.client.info().payload_schema or {})
        manifests = frozenset(store.manifests().values())
        chunks = _chunks(store)
        assert store.count() == len(chunks)
    finally:
        store.close()
    return Index(
        payload_indexes=payload_indexes,
        manifests=manifests,
        chunk_texts={str(p["node_id"]): str(p["text"]) for p in chunks},
        chunks_per_document=dict(Counter(str(p["doc_id"]) for p in chunks)),
    )


def _chunks(store: EdgeStore) -> list[dict[str, Any]]:
    only_chunks = qe.Filter(must=[qe.FieldCondition(key="kind", match=qe.MatchValue(CHUNK))])
    payloads: list[dict[str, Any]] = []
    offset = None
    while True:
        records, offset = store.client.scroll(
            qe.ScrollRequest(
                offset=offset,
                limit=1000,
                filter=only_chunks,
                with_payload=["node_id", "doc_id", "text"],
            )
        )
        payloads.extend(r.payload or {} for r in records)
        if offset is None:
            return payloads


def assert_complete(index: Index) -> None:
    """Every chunk has its document's manifest, and every manifest counts its chunks."""
    expected = {m.doc_id: m.chunk_count for m in index.manifests}
    assert index.chunks_per_document == expected


@pytest.mark.parametrize(
    "trials",
    [pytest.param(2, id="2-trials"), pytest.param(12, id="12-trials", marks=pytest.mark.slow)],
)
def test_a_killed_ingest_recovers_to_the_clean_index(tmp_path: Path, trials: int) -> None:
    corpus = tmp_path / "corpus"
    documents = write_corpus(corpus, version=2)
    clean = ingest(corpus, tmp_path / "clean")
    assert clean["added"] == documents and clean["failed"] == []
    reference = read_index(tmp_path / "clean")
    assert_complete(reference)
    assert len(reference.manifests) == documents
    assert reference.payload_indexes == set(INDEXED_KEYWORDS)
    assert len(reference.chunk_texts) == clean["chunks_written"]

    rng = random.Random(20261123)
    killed_while_running = 0
    for trial in range(trials):
        data = tmp_path / f"data-{trial}"
        fresh = trial % 2 == 0
        if not fresh:
            write_corpus(corpus, version=1)
            ingest(corpus, data)
            write_corpus(corpus, version=2)
        for kill in range(KILLS_PER_TRIAL):
            within = CREATION_SECONDS if fresh and kill == 0 else clean["seconds"] * 0.7
            delay = rng.uniform(0, within)
            killed_while_running += ingest_killed(corpus, data, delay=delay)

        final = ingest(corpus, data)
        context = f"trial {trial} ({killed_while_running} kills landed mid-run so far)"
        assert final["failed"] == [], context
        assert final["added"] + final["updated"] + final["unchanged"] == documents, context
        recovered = read_index(data)
        assert_complete(recovered)
        assert recovered.payload_indexes == reference.payload_indexes, context
        assert recovered.manifests == reference.manifests, context
        assert recovered.chunk_texts == reference.chunk_texts, context

        again = ingest(corpus, data)
        assert (again["unchanged"], again["added"], again["updated"], again["deleted"]) == (
            documents,
            0,
            0,
            0,
        ), context
        assert again["chunks_written"] == 0, context


def test_a_store_whose_creator_died_before_its_indexes_gets_them_on_open(tmp_path: Path) -> None:
    """What a kill between creating the shard and its payload indexes leaves behind."""
    path = tmp_path / "edge"
    path.mkdir()
    shard = qe.EdgeShard.create(str(path), shard_config(8))
    shard.update(qe.UpdateOperation.create_field_index("audience", qe.PayloadSchemaType.Keyword))
    shard.close()
    store = EdgeStore(path, dimension=8)
    try:
        assert set(store.client.info().payload_schema or {}) == set(INDEXED_KEYWORDS)
    finally:
        store.close()
