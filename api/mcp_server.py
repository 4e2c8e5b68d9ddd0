"""The Model Context Protocol server: `search`, `answer` and `get_document` tools for agents,
served over streamable HTTP at `/mcp` by `assistant serve` and over stdio by `assistant mcp`.

A tool call takes the code path of the HTTP API: the caller (audience and tenant) comes from an
API key exactly as on `/v1/chat`, each call spends a token of the same rate limit, runs in an
answer slot, and `answer` is `/v1/chat`'s answer (question log and metrics included).
"""

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from anyio import CapacityLimiter
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.auth import AuthError, Caller, KeyRing
from api.deps import client_address, rate_limit_bucket
from api.metrics import Metrics
from api.rate_limit import RateLimited, TokenBucketLimiter
from api.routes.chat import MAX_MESSAGE_CHARS, ChatRequest, answer_chat
from api.routes.search import SearchHit, search_chunks
from assistant.retrieval.document_reader import DocumentText, read_document
from assistant.settings import Settings
from assistant.stores import StoreError
from assistant.types import Answer, Mode
from assistant.wiring import Components

INSTRUCTIONS = (
    "Cited answers from the product's help content: knowledge-base articles, course lessons, "
    "webinar transcripts and community threads. Use `answer` for a ready answer to a user's "
    "question (every sentence cites a source; `refused` means the content does not cover it: "
    "do not guess then), `search` to find sources yourself, and `get_document` to read a whole "
    "source that a hit or citation names."
)
SNIPPET_CHARS = 500
MAX_DOCUMENT_CHARS = 100_000


@dataclass(frozen=True)
class ToolCall:
    """Who calls a tool, and the objects that serve the call."""

    caller: Caller
    bucket: str  # the rate-limit bucket the call spends from
    components: Components
    slots: CapacityLimiter
    metrics: Metrics
    limiter: TokenBucketLimiter


class Source(BaseModel):
    rank: int
    title: str = Field(description="The document's title and the heading path of the chunk.")
    url: str | None = Field(description="Opens the heading, lesson, video second or forum post.")
    kind: str = Field(description="kb, course, transcript or thread.")
    snippet: str
    document: str = Field(description="The document's path: pass it to get_document.")
    audience: str
    score: float
    reviewed: bool = True
    start_seconds: float | None = None
    product_version: str | None = None
    author: str | None = None


class SearchResult(BaseModel):
    query: str
    hits: list[Source]


def build_mcp_server(resolve: Callable[[Context], ToolCall]) -> MCPServer:
    """The server with its three tools; `resolve` says who calls and what serves the call."""
    server = MCPServer(
        "ledger-assistant",
        title="Customer-education assistant",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        # MCPServer configures the root logger; INFO would log every tool call on stderr.
        log_level="WARNING",
    )

    @server.tool(
        name="search",
        description="Search the help content (knowledge-base articles, course lessons, webinar "
        "transcripts, community threads) and get the best-matching passages, best first, each "
        "with its title, URL (a deep link to the heading, lesson, video second or forum post), "
        "kind, a snippet and its `document` path for get_document. Use it to look sources up "
        "yourself; use `answer` for a ready, cited answer.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    async def search(
        ctx: Context,
        query: Annotated[
            str,
            Field(min_length=1, max_length=1000, description="What to look for, in plain words."),
        ],
        k: Annotated[int, Field(ge=1, le=50, description="How many passages to return.")] = 8,
    ) -> SearchResult:
        call = _start(resolve, ctx)
        with _tool_errors():
            found = await search_chunks(
                query, k, call.caller, components=call.components, slots=call.slots
            )
        return SearchResult(query=found.query, hits=[_source(hit) for hit in found.hits])

    @server.tool(
        name="answer",
        description="Answer a user's how-to question from the help content: a short answer "
        "in which every sentence cites its source as [n], with the citations (title, URL, "
        "kind, snippet), the same Answer object as POST /v1/chat. When the content does not "
        "cover the question, `refused` is true and nothing is cited: say so rather than "
        "guess. Pass the `session_id` of an earlier answer to ask a follow-up in that "
        "conversation. Modes: customer (public sources; the default), agent (a "
        "customer-ready answer and `ticket_text`, plus `internal_notes` kept apart when your "
        "key may read internal content), internal (everything your key may read).",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, open_world_hint=False
        ),
    )
    async def answer(
        ctx: Context,
        question: Annotated[
            str,
            Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The user's question."),
        ],
        session_id: Annotated[
            str | None,
            Field(max_length=128, description="Continue the conversation of an earlier answer."),
        ] = None,
        mode: Annotated[Mode, Field(description="customer, agent or internal.")] = Mode.CUSTOMER,
        product_version: Annotated[
            str | None,
            Field(
                max_length=64,
                description="The product version the user runs, e.g. 4.1: its content first.",
            ),
        ] = None,
        page: Annotated[
            str | None,
            Field(
                max_length=2000,
                description="The product page the user is on, e.g. /billing/invoices: content "
                "made for it ranks higher.",
            ),
        ] = None,
    ) -> Answer:
        call = _start(resolve, ctx)
        try:
            body = ChatRequest(
                message=question,
                session_id=session_id,
                mode=mode,
                product_version=product_version,
                context={"page": page} if page else None,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ToolError(problems) from None
        with _tool_errors():
            return await answer_chat(
                body,
                call.caller,
                answerer=call.components.answerer,
                slots=call.slots,
                metrics=call.metrics,
            )

    @server.tool(
        name="get_document",
        description="Read a whole source (article, lesson, transcript or thread): its text "
        "section by section, with headings, and its metadata (title, URL, kind, updated_at, "
        "product_version, reviewed, tags, each section's link). Name it by `document` (the "
        "path of a search hit or citation, e.g. kb/reset-password.md) or by `url` (a "
        "citation's URL). Only documents you may read are found.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    async def get_document(
        ctx: Context,
        document: Annotated[
            str | None,
            Field(max_length=1000, description="The document's path (or doc_id)."),
        ] = None,
        url: Annotated[
            str | None, Field(max_length=2000, description="A citation's or hit's URL.")
        ] = None,
        max_chars: Annotated[
            int, Field(ge=100, le=MAX_DOCUMENT_CHARS, description="Cut the text after this.")
        ] = 20_000,
    ) -> DocumentText:
        call = _start(resolve, ctx)
        if (document is None) == (url is None):
            raise ToolError("Give either `document` (a path) or `url`, not both or neither.")
        with _tool_errors():
            found = await anyio.to_thread.run_sync(
                lambda: read_document(
                    call.components.store,
                    audiences=call.caller.audience.visible(),
                    tenant=call.caller.tenant,
                    document=document,
                    url=url,
                    max_chars=max_chars,
                ),
                limiter=call.slots,
            )
        if found is None:
            raise ToolError(
                f"No document with that {'path' if document else 'URL'} that you may read. Use "
                "the `document` of a search hit or citation, or its URL."
            )
        return found

    return server


def _start(resolve: Callable[[Context], ToolCall], ctx: Context) -> ToolCall:
    """Who calls, once they have spent a token of their rate limit."""
    call = resolve(ctx)
    try:
        call.limiter.take(call.bucket)
    except RateLimited as exc:
        raise ToolError(
            f"Too many requests: at most {exc.per_minute} a minute. "
            f"Try again in {exc.retry_after} s."
        ) from None
    return call


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise ToolError(f"The content store is unavailable: {exc}") from None


def _source(hit: SearchHit) -> Source:
    text = " ".join(hit.text.split())
    meta = hit.metadata
    return Source(
        rank=hit.rank,
        title=hit.title,
        url=hit.url,
        kind=hit.source_type,
        snippet=text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…",
        document=hit.document,
        audience=hit.audience,
        score=hit.score,
        reviewed=bool(meta.get("reviewed", True)),
        start_seconds=meta.get("start_seconds"),
        product_version=meta.get("product_version"),
        author=meta.get("author"),
    )


# --- streamable HTTP at /mcp ------------------------------------------------------------------


def http_tool_call(ctx: Context) -> ToolCall:
    """The caller `McpEndpoint` put on the request, and the app's objects."""
    request = ctx.request_context.request
    assert isinstance(request, Request), "an HTTP tool call without its HTTP request"
    state = request.app.state
    caller: Caller = request.state.caller
    return ToolCall(
        caller=caller,
        bucket=rate_limit_bucket(caller, client_address(request.scope)),
        components=state.components,
        slots=state.answer_slots,
        metrics=state.metrics,
        limiter=state.rate_limiter,
    )


@contextlib.asynccontextmanager
async def http_sessions(server: MCPServer, *, max_body_bytes: int) -> AsyncIterator[Any]:
    """The SDK's streamable HTTP handler, running for the app's lifetime. Stateless, with JSON
    responses: each POST stands alone (the caller is resolved per request), nothing is held
    between requests, and any number of server processes can share the clients."""
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        max_request_body_size=max_body_bytes,
        # Hosts are not pinned: the API serves any host name it is reached by, and an
        # anonymous caller (all a rebound browser page can be) reads public content only.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    sessions: StreamableHTTPSessionManager = server.session_manager
    async with sessions.run():
        yield sessions


class McpEndpoint:
    """`/mcp`: the caller from `Authorization: Bearer KEY` as on `/v1/chat` (a refused key is
    a JSON 401 and spends a token of the address's rate limit), then the SDK's handler."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        state = request.app.state
        keyring: KeyRing = state.keyring
        try:
            caller = keyring.caller(request.headers.get("authorization"))
        except AuthError:
            limiter: TokenBucketLimiter = state.rate_limiter
            limiter.take(rate_limit_bucket(None, client_address(scope)))
            raise  # the app's error handlers answer in JSON, as for every route
        request.state.caller = caller
        request.state.key_id = caller.key_id  # for the access log
        await state.mcp_sessions.handle_request(scope, receive, send)


class McpRoute(Route):
    """The `/mcp` route; it names itself in the scope as FastAPI's routes do, so the access log
    and the metrics count it as `/mcp`."""

    def __init__(self) -> None:
        super().__init__("/mcp", McpEndpoint(), include_in_schema=False)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


# --- stdio: `assistant mcp` -------------------------------------------------------------------


def run_stdio(settings: Settings, *, api_key: str | None) -> int:
    """Serves the tools over stdin/stdout as the caller whose key is `api_key` (public without
    one). Returns the exit code: 2 for a key the keys do not know."""
    from assistant.wiring import build_components

    keyring = KeyRing.parse(
        settings.api_keys, file=settings.api_keys_file, anonymous=settings.allow_anonymous
    )
    try:
        caller = keyring.caller(f"Bearer {api_key}" if api_key else None)
    except AuthError as exc:
        print(
            f"error: {exc.message} The key comes from ASSISTANT_API_KEYS or "
            "ASSISTANT_API_KEYS_FILE, as for the HTTP API.",
            file=sys.stderr,
        )
        return 2
    # Nothing but protocol messages may reach stdout: whatever loading the model prints goes
    # to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        components = build_components(settings)

    async def serve() -> None:
        call = ToolCall(
            caller=caller,
            bucket=rate_limit_bucket(caller, "stdio"),
            components=components,
            slots=CapacityLimiter(settings.answer_concurrency),
            metrics=Metrics(),
            limiter=TokenBucketLimiter(settings.rate_limit_per_minute),
        )
        await build_mcp_server(lambda ctx: call).run_stdio_async()

    try:
        anyio.run(serve)
    finally:
        components.close()
    return 0
