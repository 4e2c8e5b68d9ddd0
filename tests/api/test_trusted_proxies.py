"""The rate limit's client address comes from `X-Forwarded-For` only when a trusted proxy sent
it: otherwise any local client could rotate the header and get a fresh bucket each time."""

import os
from pathlib import Path

import httpx

from tests.api.conftest import serve_process


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "3",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def statuses(url: str, forwarded_for: list[str]) -> list[int]:
    """Anonymous searches, one per `X-Forwarded-For` value, from this (loopback) client."""
    with httpx.Client(base_url=url, timeout=30) as client:
        return [
            client.get("/v1/search", params={"q": "x"}, headers={"x-forwarded-for": f}).status_code
            for f in forwarded_for
        ]


def test_a_rotated_forwarded_for_does_not_escape_the_rate_limit(tmp_path: Path) -> None:
    rotated = [f"203.0.113.{n}" for n in range(1, 7)]
    with serve_process(server_env(tmp_path), tmp_path / "server.log") as url:
        codes = statuses(url, rotated)
    assert 429 not in codes[:3] and codes[3:] == [429, 429, 429]


def test_a_trusted_proxy_sets_the_client_address(tmp_path: Path) -> None:
    env = server_env(tmp_path, ASSISTANT_TRUSTED_PROXIES="127.0.0.1, ::1")
    with serve_process(env, tmp_path / "server.log") as url:
        # Each client the proxy names has a bucket of its own; one client still runs out.
        assert 429 not in statuses(url, [f"203.0.113.{n}" for n in range(1, 7)])
        assert statuses(url, ["198.51.100.7"] * 4)[3] == 429
