"""EdgeStore-only behaviour; what every store must do lives in test_store_contract.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.stores import StoreError
from assistant.stores.edge import EdgeStore


def test_a_store_open_elsewhere_gets_a_clear_error(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from assistant.stores.edge import EdgeStore; "
            f"store = EdgeStore({str(tmp_path / 's')!r}, dimension=8); print('open', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="open in another process"):
            EdgeStore(tmp_path / "s", dimension=8)
    finally:
        holder.kill()
        holder.communicate()
