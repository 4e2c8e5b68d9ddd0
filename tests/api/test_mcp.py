"""The MCP server through the SDK's own client: over streamable HTTP against a real `assistant
serve` process on loopback, and over stdio against an `assistant mcp` process the client
spawns. The tools read as the caller's key allows, `answer` is `/v1/chat`'s answer, and the
rate limit, size limits and question log apply as on chat.

The test corpus is indexed with FakeEmbedder (the servers run with it too): meaning plays no
part here; tests/security/test_mcp_isolation.py probes isolation with the real model."""

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from assistant import cli
from assistant.embedders.fake import FakeEmbedder
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore
from assistant.settings import Settings
from assistant.wiring import build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.api.conftest import KEYS, serve, serve_process
from tests.corpus import write_corpus
from tests.mcp_tools import ROOT, call_tools, data, http_target, list_tools, stdio_target

INTERNAL_DOCUMENT = "kb/internal-refunds.md"
RESET = "How do I reset my password?"


@dataclass(frozen=True)
class McpServer:
    url: str
    data_dir: Path
    stdio_env: dict[str, str]  # for `assistant mcp` over a copy of the same index


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    root = tmp_path_factory.mktemp("mcp")
    embedder = FakeEmbedder()
    settings = Settings(_env_file=None, data_dir=root / "data")  # type: ignore[call-arg]
    components = build_components(settings, embedder=embedder)
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    try:
        IngestJob(components.store, embedder, chunker).run([write_corpus(root / "corpus")])
    finally:
        components.close()
    # The embedded store belongs to one process: the stdio server gets a copy.
    shutil.copytree(root / "data", root / "stdio-data")
    common = {"ASSISTANT_EMBEDDER": "fake", "ASSISTANT_API_KEYS": KEYS}
    env = {
        **os.environ,
        **common,
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
    }
    with serve_process(env, root / "server.log") as url:
        yield McpServer(
            url,
            root / "data",
            {
                **common,
                "ASSISTANT_DATA_DIR": str(root / "stdio-data"),
                "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
            },
        )


def documents(response: object) -> set[str]:
    if isinstance(response, dict):
        found = {str(response["document"])} if "document" in response else set()
        return found.union(*(documents(v) for v in response.values()))
    if isinstance(response, list):
        return set().union(*(documents(v) for v in response))
    return set()


def test_the_three_tools_say_what_they_do_and_take(mcp_server: McpServer) -> None:
    tools = {tool.name: tool for tool in list_tools(http_target(mcp_server.url))}
    assert set(tools) == {"search", "answer", "get_document"}
    for tool in tools.values():
        assert tool.description and len(tool.description) > 150, tool.name
        assert tool.output_schema, tool.name
        assert "ctx" not in tool.input_schema["properties"]
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["answer"].input_schema["required"] == ["question"]
    assert {"session_id", "mode", "product_version", "page"} <= set(
        tools["answer"].input_schema["properties"]
    )
    assert {"document", "url"} <= set(tools["get_document"].input_schema["properties"])
    assert tools["search"].annotations and tools["search"].annotations.read_only_hint


def test_answer_is_the_chat_answer_and_continues_its_session(mcp_server: McpServer) -> None:
    first, follow_up = call_tools(
        http_target(mcp_server.url, "partner-key"),
        [("answer", {"question": RESET}), ("answer", {"question": "and on mobile?"})],
    )
    answer = data(first)
    chat = httpx.post(
        f"{mcp_server.url}/v1/chat",
        json={"message": RESET},
        headers={"Authorization": "Bearer partner-key"},
        timeout=60,
    ).json()
    for field in ("answer", "citations", "refused", "confidence", "query", "warnings"):
        assert answer[field] == chat[field], field
    assert not answer["refused"] and answer["citations"]
    assert data(follow_up)["session_id"] != answer["session_id"]  # no session_id: a new one

    again = call_tools(
        http_target(mcp_server.url, "partner-key"),
        [("answer", {"question": "and on mobile?", "session_id": answer["session_id"]})],
    )
    assert data(again[0])["session_id"] == answer["session_id"]
    assert "password" in data(again[0])["query"].lower()  # the conversation carried over


def test_the_key_decides_what_every_tool_reads(mcp_server: McpServer) -> None:
    calls = [
        ("search", {"query": "refund override code back office approval", "k": 20}),
        ("answer", {"question": "What is the refund override code?", "mode": "internal"}),
        ("get_document", {"document": INTERNAL_DOCUMENT}),
        ("get_document", {"url": "https://wiki.example.com/support/refunds"}),
    ]
    for mode in ("auto", "legacy"):
        target = http_target(mcp_server.url, "emp-secret", mode=mode)
        employee = [data(r) for r in call_tools(target, calls)]
        assert INTERNAL_DOCUMENT in documents(employee[0]["hits"])
        assert "PELICAN-42" in employee[2]["text"] and employee[2]["audience"] == "internal"
        assert employee[3]["document"] == INTERNAL_DOCUMENT
    for key, mode in [(None, "auto"), ("public-key", "legacy"), ("partner-key", "auto")]:
        target = http_target(mcp_server.url, key, mode=mode)
        replies = [data(r) for r in call_tools(target, calls)]
        assert INTERNAL_DOCUMENT not in documents(replies), key
        assert "PELICAN" not in str(replies), key
        assert {h["audience"] for h in replies[0]["hits"]} <= {"public", "partner"}
        assert "No document" in replies[2]["error"] and "No document" in replies[3]["error"]


def test_a_refused_key_gets_the_json_401_of_every_route(mcp_server: McpServer) -> None:
    reply = httpx.post(
        f"{mcp_server.url}/mcp",
        headers={"Authorization": "Bearer not-a-key"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "unauthorized"

    with pytest.raises(Exception):  # noqa: B017 - the SDK's error type is not ours to pin
        list_tools(http_target(mcp_server.url, "not-a-key"))
    metrics = httpx.get(f"{mcp_server.url}/metrics").text
    assert 'route="/mcp",status="401"' in metrics and 'route="/mcp",status="200"' in metrics


def test_bad_arguments_are_tool_errors_that_say_what_was_wrong(mcp_server: McpServer) -> None:
    results = call_tools(
        http_target(mcp_server.url),
        [
            ("answer", {"question": "x" * 4001}),
            ("answer", {"question": "reset\x00password"}),
            ("answer", {"question": RESET, "mode": "boss"}),
            ("search", {"query": "reset", "k": 0}),
            ("get_document", {}),
            ("get_document", {"document": "kb/reset-password.md", "url": "https://x.example"}),
        ],
    )
    errors = [data(r).get("error", "") for r in results]
    assert all(errors), errors
    assert "4000" in errors[0] and "U+0000" in errors[1] and "either" in errors[4]


def test_answers_over_mcp_are_in_the_question_log(mcp_server: McpServer) -> None:
    question = "How do I send my first invoice to a customer?"
    (result,) = call_tools(
        http_target(mcp_server.url, "public-key"), [("answer", {"question": question})]
    )
    session_id = data(result)["session_id"]
    settings = Settings(_env_file=None, data_dir=mcp_server.data_dir)  # type: ignore[call-arg]
    sessions = SessionStore(settings.database)
    try:
        logged = [q for q in QuestionLog(sessions.engine).entries() if q.session_id == session_id]
    finally:
        sessions.close()
    assert [(q.question, q.audience, q.mode) for q in logged] == [(question, "public", "customer")]


def test_rate_and_body_limits_apply_as_on_chat(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=KEYS, rate_limit_per_minute=2, max_body_bytes=4096
    )
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=FakeEmbedder())
    )
    with serve(app) as url:
        search = ("search", {"query": "reset password"})
        results = call_tools(http_target(url, "public-key"), [search, search, search])
        assert [r.is_error for r in results] == [False, False, True]
        assert "Too many requests: at most 2 a minute" in data(results[2])["error"]
        # Chat spends from the same bucket.
        chat = httpx.post(
            f"{url}/v1/chat",
            json={"message": RESET},
            headers={"Authorization": "Bearer public-key"},
        )
        assert chat.status_code == 429
        big = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 5000}}
        reply = httpx.post(f"{url}/mcp", json=big)
        assert reply.status_code == 413 and reply.json()["error"]["code"] == "payload_too_large"


def test_stdio_serves_the_tools_as_the_key_in_the_environment(mcp_server: McpServer) -> None:
    calls = [
        ("search", {"query": "refund override code back office approval", "k": 20}),
        ("get_document", {"document": INTERNAL_DOCUMENT}),
        ("answer", {"question": RESET}),
    ]
    employee = {**mcp_server.stdio_env, "ASSISTANT_MCP_API_KEY": "emp-secret"}
    replies = [data(r) for r in call_tools(stdio_target(employee), calls)]
    assert INTERNAL_DOCUMENT in documents(replies[0]) and "PELICAN-42" in replies[1]["text"]
    assert not replies[2]["refused"] and replies[2]["citations"]

    public = [data(r) for r in call_tools(stdio_target(mcp_server.stdio_env), calls)]
    assert INTERNAL_DOCUMENT not in documents(public) and "PELICAN" not in str(public)
    assert "No document" in public[1]["error"]
    assert not public[2]["refused"]


def test_stdio_refuses_an_unknown_key_and_says_where_keys_come_from(
    mcp_server: McpServer,
) -> None:
    env = {**os.environ, **mcp_server.stdio_env, "ASSISTANT_MCP_API_KEY": "not-a-key"}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "mcp"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "Unknown API key" in result.stderr and "ASSISTANT_API_KEYS" in result.stderr
    assert result.stdout == ""


def test_mcp_help_says_whose_key_stdio_uses() -> None:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        cli.main(["mcp", "--help"])
    text = " ".join(out.getvalue().split())
    assert "ASSISTANT_MCP_API_KEY" in text and "the caller is public" in text
