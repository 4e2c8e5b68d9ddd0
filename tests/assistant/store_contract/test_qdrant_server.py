"""QdrantServerStore against servers: what only a networked store can get wrong."""

import http.server
import socket
import threading

import pytest

from assistant.settings import Settings
from assistant.stores import StoreError
from assistant.stores.qdrant_server import QdrantServerStore
from assistant.wiring import build_store


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_a_store_error_naming_qdrant_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(StoreError, match="QDRANT_URL") as raised:
        QdrantServerStore(url=url, collection="c", dimension=8, timeout=2)
    assert url in str(raised.value)


class _Refuses(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": {"error": "Must provide an API key"}}')

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_rejected_api_key_is_a_store_error_naming_qdrant_api_key() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with (
            pytest.warns(UserWarning, match="insecure connection"),
            pytest.raises(StoreError, match="QDRANT_API_KEY"),
        ):
            QdrantServerStore(url=url, api_key="wrong", collection="c", dimension=8, timeout=2)
    finally:
        server.shutdown()
        server.server_close()


def test_qdrant_url_selects_the_server_store(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("QDRANT_URL", url)
    with pytest.raises(StoreError, match=f"Cannot reach the Qdrant server at {url}"):
        build_store(Settings(_env_file=None), dimension=8)  # type: ignore[call-arg]
