"""Store faults as users meet them: `assistant ingest` and `ask` against an unreachable Qdrant
server, a full disk and a read-only disk end with exit 1 and a message that says what to do,
and never leave an index that differs from a clean one.

The disks are real: small tmpfs file systems mounted for the test (root only; without the right
to mount, those tests are skipped and say so), filled with a filler file. What we simulate:
"full" is a tmpfs with a few MB left, not a failing device.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import free_port
from tests.ingest.test_crash_safety import assert_complete, read_index, write_corpus

DISK_MB = 256  # the engine maps a 32 MB write-ahead log and more: room for it


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ASSISTANT_EMBEDDER": "fake", "HF_HUB_OFFLINE": "1", **env},
        timeout=300,
    )


def assert_clear_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_an_unreachable_qdrant_server_is_exit_1_with_the_fix(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    corpus = write_corpus(tmp_path / "corpus", version=1)
    env = {"QDRANT_URL": url, "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    for args in (("ingest", str(corpus)), ("ask", "How do I export invoices?", "--json")):
        assert_clear_failure(
            run(*args, env=env), f"Cannot reach the Qdrant server at {url}", "QDRANT_URL"
        )


def test_a_data_folder_that_is_a_file_is_exit_1_with_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a folder")
    corpus = write_corpus(tmp_path / "corpus", version=1)
    result = run("ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(data)})
    assert_clear_failure(result, "Cannot open the embedded Qdrant store")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh DISK_MB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, *, leave_mb: int) -> Path:
    filler = disk / "filler"
    free_mb = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize // 2**20
    with filler.open("wb") as out:
        for _ in range(free_mb - leave_mb):
            out.write(b"\xff" * 2**20)
    return filler


def test_a_full_disk_stops_the_ingest_before_it_writes_anything(tmp_path: Path, disk: Path) -> None:
    corpus = tmp_path / "corpus"
    data = disk / "data"
    env = {"ASSISTANT_DATA_DIR": str(data), "ASSISTANT_MIN_FREE_MB": "100"}
    write_corpus(corpus, version=1)
    assert run("ingest", str(corpus), env=env).returncode == 0
    before = read_index(data)

    filler = fill(disk, leave_mb=8)
    write_corpus(corpus, version=2)
    result = run("ingest", str(corpus), env=env)
    assert_clear_failure(result, "MB free", str(data), "ASSISTANT_MIN_FREE_MB")
    filler.unlink()  # opening the store to read it needs room too
    assert read_index(data) == before  # nothing of the refused run is visible

    assert run("ingest", str(corpus), env=env).returncode == 0
    assert (
        run("ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(tmp_path / "clean")}).returncode
        == 0
    )
    assert read_index(data) == read_index(tmp_path / "clean")


@pytest.mark.slow
def test_a_disk_that_fills_up_mid_run_is_repaired_by_the_next_run(
    tmp_path: Path, disk: Path
) -> None:
    """With the free-space check off, the engine hits the full disk mid-run and the process
    dies (SIGBUS: it writes through memory maps), which is why the check exists. Once there is
    room again, the next run ends with exactly the clean index."""
    corpus = tmp_path / "corpus"
    write_corpus(corpus, version=1)
    data = disk / "data"
    filler = fill(disk, leave_mb=6)
    crashed = run(
        "ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(data), "ASSISTANT_MIN_FREE_MB": "0"}
    )
    assert crashed.returncode != 0

    filler.unlink()
    rerun = run("ingest", str(corpus), "--json", env={"ASSISTANT_DATA_DIR": str(data)})
    assert rerun.returncode == 0, rerun.stderr
    assert (
        run("ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(tmp_path / "clean")}).returncode
        == 0
    )
    recovered, clean = read_index(data), read_index(tmp_path / "clean")
    assert_complete(recovered)
    assert recovered == clean


def test_a_read_only_disk_is_exit_1_with_the_fix(tmp_path: Path, disk: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, version=1)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    result = run("ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(disk / "data")})
    assert_clear_failure(result, "Read-only file system")
