"""Refuse to ingest into a nearly full disk.

The embedded Qdrant engine writes through memory-mapped files: when the disk fills up in the
middle of a run, the kernel kills the process with SIGBUS instead of returning an error we could
report. (The next run repairs the index, see pipeline.py, but the user sees only a crash.) So an
ingest checks for room first and stops with a message naming the folder and the fix.
"""

import shutil
from pathlib import Path

from assistant.stores import StoreError


def check_free_space(folder: Path, *, min_free_mb: int) -> None:
    """Raises StoreError when the disk holding `folder` has less than `min_free_mb` free."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free_mb = shutil.disk_usage(existing).free // 2**20
    if free_mb < min_free_mb:
        raise StoreError(
            f"Only {free_mb} MB free on the disk of {folder}; ingesting needs at least "
            f"{min_free_mb} MB (ASSISTANT_MIN_FREE_MB). Free some space, or point "
            "ASSISTANT_DATA_DIR at a disk with room, then run the ingest again."
        )
