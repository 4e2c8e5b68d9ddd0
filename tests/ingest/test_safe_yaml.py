"""YAML alias bombs and other hostile YAML in front matter, sidecars and `course.yaml`: refused
with a reason before anything expands them, the rest of the folder indexed.

The default run uses a bomb of 5 levels (59,049 items once expanded: harmless even to code that
expands it); the slow run ingests the full 9 levels (387 million items, about 16 GB once turned
into a string) in a subprocess capped at 3 GiB of address space, so a regression fails the test
instead of taking the machine's memory.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from ingest.chunker import StructureChunker
from ingest.documents import LoadError
from ingest.pipeline import IngestJob
from ingest.safe_yaml import MAX_YAML_BYTES, MAX_YAML_DEPTH, load_yaml

GOOD = "# Good\n\nExport invoices from the Invoices page.\n"


def alias_bomb(levels: int, *, key: str = "tags") -> str:
    """YAML whose `key` expands to 9**levels strings through nested aliases."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([*lines, f"{key}: *a{levels - 1}"]) + "\n"


def front_matter_bomb(levels: int) -> str:
    return f"---\n{alias_bomb(levels)}---\n# Bomb\n\nText.\n"


def test_plain_metadata_still_loads() -> None:
    text = (
        "title: T\ntags: [a, b]\nupdated_at: 2026-01-02\nnested: {x: [1, {y: 2}]}\nanchor: &x 3\n"
    )
    data = load_yaml(text, where="a.md")
    assert data["tags"] == ["a", "b"] and data["nested"] == {"x": [1, {"y": 2}]}
    assert data["anchor"] == 3  # an anchor nobody refers to is harmless


@pytest.mark.parametrize(
    "text",
    [alias_bomb(3), "base: &b {audience: public}\nother:\n  <<: *b\n", "title: *nowhere\n"],
    ids=["bomb", "merge-key", "undefined"],
)
def test_aliases_are_refused_with_where_and_line(text: str) -> None:
    with pytest.raises(LoadError, match=r"invalid YAML metadata in a\.md: found alias \*\w+: "):
        load_yaml(text, where="a.md")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    assert load_yaml("[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH, where="a.md")
    for depth in (MAX_YAML_DEPTH + 1, 5000):
        with pytest.raises(LoadError, match=f"nested more than {MAX_YAML_DEPTH} levels"):
            load_yaml("[" * depth + "]" * depth, where="a.md")


def test_oversized_metadata_is_refused() -> None:
    with pytest.raises(LoadError, match="larger than 1024 KB"):
        load_yaml("title: " + "x" * MAX_YAML_BYTES, where="a.md")


def write_bombs(root: Path, levels: int) -> None:
    """A bomb in front matter, in a sidecar and in `course.yaml`, beside a good article."""
    (root / "course").mkdir(parents=True)
    (root / "good.md").write_text(GOOD)
    (root / "front.md").write_text(front_matter_bomb(levels))
    (root / "sidecar.md").write_text("# Sidecar\n\nText.\n")
    (root / "sidecar.md.meta.yaml").write_text(alias_bomb(levels))
    (root / "course" / "lesson.md").write_text("# Lesson\n\nText.\n")
    (root / "course" / "course.yaml").write_text(
        alias_bomb(levels, key="description")
        + "modules:\n  - title: M\n    lessons:\n      - file: lesson.md\n"
    )


def test_alias_bombs_in_every_yaml_are_reported_and_the_rest_indexed(
    tmp_path: Path, edge_store: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    write_bombs(tmp_path / "c", levels=5)
    job = IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))
    summary = job.run([tmp_path / "c"])
    reasons = {f.file: f.reason for f in summary.failed}
    assert set(reasons) == {"front.md", "sidecar.md", "course"}
    assert "front.md: found alias *a0: aliases are not allowed" in reasons["front.md"]
    assert "sidecar.md.meta.yaml: found alias *a0" in reasons["sidecar.md"]
    assert "course.yaml: found alias *a0" in reasons["course"]
    assert {m.document for m in edge_store.manifests().values()} == {"good.md"}


@pytest.mark.slow  # a real process with the embedded store; the bomb itself is refused at once
def test_the_full_bomb_is_refused_in_a_memory_capped_process(tmp_path: Path) -> None:
    write_bombs(tmp_path / "c", levels=9)
    assert len((tmp_path / "c" / "front.md").read_bytes()) < 500
    code = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({3 * 2**30}, {3 * 2**30})); "
        f"sys.argv = ['assistant', 'ingest', {str(tmp_path / 'c')!r}, '--json']; "
        "runpy.run_module('assistant', run_name='__main__')"
    )
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.perf_counter() - started < 60
    summary = json.loads(result.stdout)
    assert summary["added"] == 1
    assert {f["file"] for f in summary["failed"]} == {"front.md", "sidecar.md", "course"}
    assert all("found alias *a0" in f["reason"] for f in summary["failed"])
