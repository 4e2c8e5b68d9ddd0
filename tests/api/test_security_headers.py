"""Headers that keep the pages safe in a browser: Content-Security-Policy (own scripts and
styles only, framed by the configured sites only) and `nosniff`; no page loads anything from
another site (Swagger UI's CDN among them)."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.app import STATIC, create_app
from assistant.embedders.fake import FakeEmbedder
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.api.conftest import serve


def _policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return dict(d.strip().partition(" ")[::2] for d in directives)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/static/gaps.html", None),
        ("GET", "/static/chat.js", None),
        ("POST", "/v1/chat", {"message": "How do I reset my password?"}),
        ("POST", "/v1/chat", {"message": ""}),  # a 422
        ("GET", "/nowhere", None),
    ],
)
def test_every_response_has_the_policy_and_nosniff(
    base_url: str, method: str, path: str, body: Any
) -> None:
    response = httpx.request(method, f"{base_url}{path}", json=body, timeout=30)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = _policy(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["img-src"] == "'self' blob:"  # no inline scripts or styles, no eval
    assert "unsafe" not in response.headers["content-security-policy"]
    # Without configured origins only the assistant's own pages may frame the chat page.
    assert policy["frame-ancestors"] == "'self'"


def test_a_body_over_the_limit_gets_the_headers_too(base_url: str) -> None:
    response = httpx.post(f"{base_url}/v1/chat", content=b"x" * (64 * 1024 + 1), timeout=30)
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


def _app(tmp_path: Path, cors_origins: str) -> Any:
    settings = Settings(data_dir=tmp_path / "data", cors_origins=cors_origins)
    return create_app(
        settings, components_factory=lambda s: build_components(s, embedder=FakeEmbedder())
    )


@pytest.mark.parametrize(
    ("origins", "ancestors"),
    [
        (
            "https://help.example.com, http://localhost:3000",
            "'self' https://help.example.com http://localhost:3000",
        ),
        ("*", "*"),
    ],
)
def test_the_configured_origins_may_frame_the_chat_page(
    tmp_path: Path, origins: str, ancestors: str
) -> None:
    """The sites that embed widget.js are the ones allowed to call the API from a browser:
    `ASSISTANT_CORS_ORIGINS` names both."""
    with serve(_app(tmp_path, origins)) as url:
        assert _policy(httpx.get(f"{url}/", timeout=30))["frame-ancestors"] == ancestors


@pytest.mark.parametrize(
    "origin",
    ["https://a.example; script-src *", "help.example.com", "https://a.example/path", "'self'"],
)
def test_an_origin_that_is_not_one_is_refused_at_start(tmp_path: Path, origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(data_dir=tmp_path, cors_origins=f"https://ok.example, {origin}")


def test_swagger_ui_and_redoc_are_off_and_the_spec_is_served(base_url: str) -> None:
    """Both load their scripts from a CDN: offline they showed a blank page."""
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert httpx.get(f"{base_url}{path}", timeout=30).status_code == 404
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30)
    assert spec.status_code == 200 and "/v1/chat" in spec.json()["paths"]


@pytest.mark.parametrize("page", ["index.html", "gaps.html"])
def test_the_pages_load_only_their_own_files_and_no_inline_code(page: str) -> None:
    html = (STATIC / page).read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # inline scripts
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)  # inline styles and handlers
