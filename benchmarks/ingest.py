"""Ingest throughput: `IngestJob` (discover → load → chunk → embed → store) on a corpus of at
least 5 MB, beside the bare encoder on the same chunk texts.

The corpus is written to a temporary folder, never into the project: one copy of the Samsung TV
manual's pages, then copies of `corpora/` (all four kinds) until it holds --megabytes MB. From
the second copy on, every Markdown file gets an edition line, so no two documents are the same.

Two raw encoder baselines run a second SentenceTransformer, loaded from the same model folder,
on a seeded sample of the chunk texts (every chunk of --raw-share of the files), batch size 64:
  plain encode()        one `encode()` call; sentence-transformers sorts texts by characters
  token-sorted batches  texts sorted by token count, one batch of 64 per call: the model at its
                        best batching, as the pipeline feeds it; what the rest of the pipeline
                        (parsing, chunking, writing) costs shows against this one
Half the sample runs before the pipeline and half after, so load drift on a shared machine hits
both alike. The sample's texts come from our loaders and chunker and are checked against the
texts the pipeline embedded. tokens/s counts the model's tokens (special tokens included) of
every embedded text; a ratio is pipeline tokens/s over a baseline's (goal: >= 0.9).

Where the pipeline's time goes: inside `embed()`, store writes (delete + add), `put_manifest`
(an upsert and a flush per document), `optimize` (the HNSW build after the run), and the rest
(discover, load, chunk, count tokens).

    .venv/bin/python -m benchmarks.ingest [--megabytes 5] [--raw-share 0.1] [--out FILE]
"""

import argparse
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.schema import BaseNode, MetadataMode

from assistant.embedders.sentence_transformer import (
    SentenceTransformerEmbedder,
    packaged_model_path,
)
from assistant.stores import DocumentManifest
from assistant.stores.edge import EdgeStore
from benchmarks.common import ROOT, SAMSUNG, print_table, write_results
from ingest.discovery import discover
from ingest.loaders import LoadContext
from ingest.pipeline import IngestSummary
from ingest.wiring import build_chunker, build_ingester

BATCH_SIZE = 64  # SentenceTransformerEmbedder's default, used by both sides
SEED = 7


def build_corpus(folder: Path, *, megabytes: float) -> tuple[int, int]:
    """Copies of corpora/ until `megabytes`, plus the Samsung pages: (bytes, files)."""
    shutil.copytree(SAMSUNG / "docs", folder / "samsung-tv")
    # corpora/ keeps its README out with an .assistantignore in its own root only.
    (folder / ".assistantignore").write_text("README.md\n", encoding="utf-8")
    copy = 0
    while _size(folder) < megabytes * 1_000_000:
        target = folder / f"ledgerly-{copy:02d}"
        shutil.copytree(ROOT / "corpora", target)
        if copy:
            for page in target.rglob("*.md"):
                text = page.read_text(encoding="utf-8")
                page.write_text(f"{text}\n\nEdition {copy + 1} of this page.\n", encoding="utf-8")
        copy += 1
    files = [f for f in folder.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files), len(files)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


class TimedEmbedder:
    """The real embedder, with the seconds spent in embed() and every text it embedded."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        # The chunker counts with this: the inner method itself, no wrapper call per count.
        self.count_tokens = inner.count_tokens
        self.seconds = 0.0
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.embed(texts)
        self.seconds += time.perf_counter() - started
        self.texts.extend(texts)
        return vectors


class TimedStore:
    """An EdgeStore with the seconds spent writing chunks, writing manifests, optimizing."""

    def __init__(self, inner: EdgeStore) -> None:
        self.inner = inner
        self.write_seconds = 0.0
        self.manifest_seconds = 0.0
        self.optimize_seconds = 0.0

    def add(
        self, nodes: Sequence[BaseNode], *, passages: Mapping[str, list[list[float]]] | None = None
    ) -> list[str]:
        started = time.perf_counter()
        ids = self.inner.add(nodes, passages=passages)
        self.write_seconds += time.perf_counter() - started
        return ids

    def delete(self, ref_doc_id: str) -> None:
        started = time.perf_counter()
        self.inner.delete(ref_doc_id)
        self.write_seconds += time.perf_counter() - started

    def put_manifest(self, manifest: DocumentManifest) -> None:
        started = time.perf_counter()
        self.inner.put_manifest(manifest)
        self.manifest_seconds += time.perf_counter() - started

    def optimize(self) -> None:
        started = time.perf_counter()
        self.inner.optimize()
        self.optimize_seconds += time.perf_counter() - started

    def manifests(self) -> dict[str, DocumentManifest]:
        return self.inner.manifests()

    def chunk_doc_ids(self) -> set[str]:
        return self.inner.chunk_doc_ids()

    def count(self) -> int:
        return self.inner.count()

    def query(self, query: Any) -> Any:
        return self.inner.query(query)

    def close(self) -> None:
        self.inner.close()


def sample_texts(
    corpus: Path, embedder: SentenceTransformerEmbedder, *, share: float
) -> tuple[list[str], int]:
    """Chunk texts of a seeded `share` of the corpus's files, made by our loaders and chunker:
    (texts, files sampled)."""
    chunker = build_chunker(embedder)
    context = LoadContext(root=corpus, default_audience="public")
    sources = [s for s in discover(corpus) if s.loader is not None]
    picked = random.Random(SEED).sample(sources, max(1, round(len(sources) * share)))
    texts = [
        node.get_content(metadata_mode=MetadataMode.EMBED)
        for source in picked
        for doc in source.loader.load(source.path, context)  # type: ignore[union-attr]
        for node in chunker.chunk(doc)
    ]
    return texts, len(picked)


def encode_seconds(model: Any, texts: list[str]) -> float:
    """One plain encode() call: sentence-transformers sorts the texts by character count."""
    started = time.perf_counter()
    model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True)
    return time.perf_counter() - started


def encode_token_sorted_seconds(model: Any, texts: list[str], tokens: list[int]) -> float:
    """The model at its best batching: batches of texts sorted by their token counts."""
    ordered = [texts[i] for i in sorted(range(len(texts)), key=lambda i: -tokens[i])]
    started = time.perf_counter()
    for start in range(0, len(ordered), BATCH_SIZE):
        model.encode(ordered[start : start + BATCH_SIZE], batch_size=BATCH_SIZE)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument(
        "--raw-share",
        type=float,
        default=0.1,
        help="share of the corpus's files whose chunks each raw baseline embeds (1 = all)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus_bytes, files = build_corpus(corpus, megabytes=args.megabytes)
        print(f"corpus: {corpus_bytes / 1e6:.2f} MB in {files} files")

        embedder = SentenceTransformerEmbedder(batch_size=BATCH_SIZE)
        raw = SentenceTransformer(str(packaged_model_path()), device="cpu")
        warmup = ["How do I send a payment reminder for an overdue invoice?"] * BATCH_SIZE
        embedder.embed(warmup)
        raw.encode(warmup, batch_size=BATCH_SIZE)

        sample, sampled_files = sample_texts(corpus, embedder, share=args.raw_share)
        random.Random(SEED).shuffle(sample)
        tokens = [embedder.count_tokens(t) for t in sample]
        halves = [slice(0, len(sample) // 2), slice(len(sample) // 2, None)]
        plain = encode_seconds(raw, sample[halves[0]])
        token_sorted = encode_token_sorted_seconds(raw, sample[halves[0]], tokens[halves[0]])

        timed_embedder = TimedEmbedder(embedder)
        store = TimedStore(EdgeStore(Path(tmp) / "edge", dimension=embedder.dimension))
        job = build_ingester(embedder=timed_embedder, store=store)
        summary = job.run([corpus], progress=False)
        store.close()

        token_sorted += encode_token_sorted_seconds(raw, sample[halves[1]], tokens[halves[1]])
        plain += encode_seconds(raw, sample[halves[1]])
        missing = Counter(sample) - Counter(timed_embedder.texts)
        if missing:
            raise SystemExit(f"{sum(missing.values())} sampled texts were not embedded alike")

    report(
        summary,
        timed_embedder,
        store,
        baselines={"plain encode()": plain, "token-sorted batches": token_sorted},
        sample=(sampled_files, len(sample), sum(tokens)),
        corpus=(corpus_bytes, files),
        started=started,
        out=args.out,
    )


def report(
    summary: IngestSummary,
    embedder: TimedEmbedder,
    store: TimedStore,
    *,
    baselines: dict[str, float],
    sample: tuple[int, int, int],
    corpus: tuple[int, int],
    started: float,
    out: Path | None,
) -> None:
    sampled_files, sample_chunks, sample_tokens = sample
    corpus_bytes, files = corpus
    raw_rates = {name: sample_tokens / seconds for name, seconds in baselines.items()}
    plain_rate = raw_rates["plain encode()"]
    documents = summary.added + summary.updated
    rows: list[list[Any]] = [
        [
            "pipeline (IngestJob)",
            summary.seconds,
            documents,
            summary.chunks_written,
            summary.tokens_embedded,
            summary.documents_per_second,
            summary.chunks_per_second,
            round(summary.tokens_per_second),
            round(summary.tokens_per_second / plain_rate, 3),
        ]
    ]
    rows += [
        [
            f"raw, {name} ({sampled_files}/{files} files)",
            round(seconds, 3),
            "-",
            sample_chunks,
            sample_tokens,
            "-",
            round(sample_chunks / seconds, 2),
            round(raw_rates[name]),
            round(raw_rates[name] / plain_rate, 3),
        ]
        for name, seconds in baselines.items()
    ]
    print_table(
        ["", "seconds", "docs", "chunks", "tokens", "docs/s", "chunks/s", "tokens/s", "ratio"],
        rows,
    )
    phases = {
        "embed()": embedder.seconds,
        "store delete + add": store.write_seconds,
        "put_manifest (upsert + flush, per document)": store.manifest_seconds,
        "optimize (HNSW build, once)": store.optimize_seconds,
        "discover, load, chunk, count tokens": summary.seconds
        - embedder.seconds
        - store.write_seconds
        - store.manifest_seconds
        - store.optimize_seconds,
    }
    print()
    print_table(
        ["pipeline phase", "seconds", "share"],
        [[name, round(s, 2), round(s / summary.seconds, 3)] for name, s in phases.items()],
    )
    without_flushes = summary.tokens_embedded / (summary.seconds - store.manifest_seconds)
    ratios = {
        f"pipeline / raw {name}": summary.tokens_per_second / rate
        for name, rate in raw_rates.items()
    }
    ratios |= {
        f"pipeline without manifest flushes (estimate) / raw {name}": without_flushes / rate
        for name, rate in raw_rates.items()
    }
    print()
    print_table(["ratio", "value"], [[name, round(r, 3)] for name, r in ratios.items()])
    total = time.perf_counter() - started
    path = write_results(
        "ingest",
        {
            "corpus_megabytes": round(corpus_bytes / 1e6, 2),
            "corpus_files": files,
            "batch_size": BATCH_SIZE,
            "pipeline": {
                "seconds": summary.seconds,
                "documents": documents,
                "chunks": summary.chunks_written,
                "tokens": summary.tokens_embedded,
                "documents_per_second": summary.documents_per_second,
                "chunks_per_second": summary.chunks_per_second,
                "tokens_per_second": summary.tokens_per_second,
                "failed": len(summary.failed),
            },
            "raw_sample": {
                "files": sampled_files,
                "chunks": sample_chunks,
                "tokens": sample_tokens,
            },
            "raw_tokens_per_second": {name: round(r, 1) for name, r in raw_rates.items()},
            "raw_seconds": {name: round(s, 3) for name, s in baselines.items()},
            "ratios": {name: round(r, 3) for name, r in ratios.items()},
            "pipeline_seconds_by_phase": {name: round(s, 2) for name, s in phases.items()},
            "benchmark_seconds": round(total, 1),
        },
        out,
    )
    print(f"\nwrote {path} ({total:.0f} s in all)")


if __name__ == "__main__":
    main()
