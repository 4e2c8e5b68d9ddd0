"""The MCP SDK's own client, for tests: tool calls over streamable HTTP (with an API key) or to
an `assistant mcp` process it spawns over stdio, and the result as plain data."""

import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, Tool

ROOT = Path(__file__).resolve().parents[1]
Call = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class HttpTarget:
    url: str  # the server's base URL
    key: str | None = None
    mode: str = "auto"  # "legacy": the initialize handshake (protocol 2025-11-25)


def http_target(base_url: str, key: str | None = None, *, mode: str = "auto") -> HttpTarget:
    """The server's /mcp over streamable HTTP, sending `key` as a Bearer token. `mode` "auto"
    negotiates the newest protocol; "legacy" speaks the initialize handshake most clients use
    today."""
    return HttpTarget(base_url, key, mode)


@asynccontextmanager
async def connect(target: HttpTarget | StdioServerParameters) -> AsyncIterator[Client]:
    """A connected client; over HTTP with an HTTP client of its own, closed after (the SDK
    leaves a client it was given open)."""
    if isinstance(target, StdioServerParameters):
        async with Client(target, read_timeout_seconds=300) as client:
            yield client
        return
    headers = {"Authorization": f"Bearer {target.key}"} if target.key else {}
    async with create_mcp_http_client(headers=headers) as http:
        transport = streamable_http_client(f"{target.url}/mcp", http_client=http)
        async with Client(transport, read_timeout_seconds=300, mode=target.mode) as client:
            yield client


def stdio_target(env: Mapping[str, str]) -> StdioServerParameters:
    """`python -m assistant mcp` from this checkout, with `env` over a minimal environment."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "assistant", "mcp"],
        env={"HOME": os.environ.get("HOME", "/tmp"), **env},
        cwd=ROOT,
    )


Target = HttpTarget | StdioServerParameters


def call_tools(target: Target, calls: list[Call]) -> list[CallToolResult]:
    """Makes `calls` in order over one connection to `target`."""

    async def run() -> list[CallToolResult]:
        async with connect(target) as client:
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    return anyio.run(run)


def list_tools(target: Target) -> list[Tool]:
    async def run() -> list[Tool]:
        async with connect(target) as client:
            return (await client.list_tools()).tools

    return anyio.run(run)


def data(result: CallToolResult) -> Any:
    """The structured result of a call, or `{"error": text}` when the tool failed."""
    if result.is_error:
        return {"error": " ".join(getattr(block, "text", "") for block in result.content)}
    return result.structured_content
