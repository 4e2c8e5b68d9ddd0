"""The FastAPI app: chat APIs, feedback and requests for a person, health, metrics, the MCP
server and the chat page; heavy objects built once in the lifespan."""

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.auth import KeyRing
from api.deps import RateLimitDep
from api.errors import REQUEST_ID_HEADER, install_error_handlers
from api.json_logging import configure_logging
from api.local_operator import LocalOperator
from api.mcp_server import McpRoute, build_mcp_server, http_sessions, http_tool_call
from api.metrics import Metrics
from api.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from api.rate_limit import TokenBucketLimiter
from api.routes import (
    analytics,
    chat,
    completions,
    escalations,
    feedback,
    health,
    ingest,
    metrics,
    search,
)
from assistant.settings import Settings
from assistant.wiring import Components, build_components

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    *,
    components_factory: Callable[[Settings], Components] | None = None,
    local_token: str | None = None,
) -> FastAPI:
    """The app over `settings`' store. `local_token` is the credential `assistant serve` gives
    the command line on its machine (api/local_operator.py); without one, no caller is the
    local operator."""
    settings = settings or Settings()
    factory = components_factory or build_components
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.components = factory(settings)
        app.state.answer_slots = CapacityLimiter(settings.answer_concurrency)
        if app.state.components.answerer.cache:
            app.state.metrics.watch_answer_cache(app.state.components.answerer.cache)
        try:
            async with http_sessions(
                mcp_server, max_body_bytes=settings.max_body_bytes
            ) as sessions:
                app.state.mcp_sessions = sessions
                yield
        finally:
            app.state.components.close()

    app = FastAPI(
        title="Customer-education assistant",
        version="0.1.0",
        description="Cited answers from courses, KB articles, transcripts and forum threads. "
        "Authenticate with `Authorization: Bearer KEY`; errors are JSON "
        '`{"error": {"code", "message", "request_id"}}`.',
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN, which an offline install cannot
        # reach and the Content-Security-Policy forbids: /openapi.json is the reference.
        docs_url=None,
        redoc_url=None,
    )
    app.state.keyring = KeyRing.parse(
        settings.api_keys, file=settings.api_keys_file, anonymous=settings.allow_anonymous
    )
    app.state.local_operator = LocalOperator(local_token) if local_token else None
    app.state.rate_limiter = TokenBucketLimiter(settings.rate_limit_per_minute)
    app.state.metrics = Metrics()
    # Keys the chat completions' session ids (api/routes/completions.py): only the server
    # can tell the id of a conversation, so knowing the messages is not enough to join it.
    app.state.session_secret = secrets.token_bytes(32)
    app.state.ingest_gate = ingest.IngestGate(
        settings.ingest_root,
        data_dir=None if settings.qdrant_url else settings.data_dir,
        min_free_mb=settings.min_free_mb,
    )

    for router in (
        chat.router,
        completions.router,
        feedback.router,
        escalations.router,
        search.router,
        ingest.router,
    ):
        app.include_router(router, dependencies=[RateLimitDep])
    app.include_router(analytics.router, dependencies=[RateLimitDep])
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Model Context Protocol (streamable HTTP) for agents: see api/mcp_server.py.
    mcp_server = build_mcp_server(http_tool_call)
    app.router.routes.append(McpRoute())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """Browsers ask for /favicon.ico whatever the page links: the SVG icon serves both."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        """The embeddable widget: `<script src="https://HOST/widget.js" defer></script>`."""
        return FileResponse(STATIC / "widget.js", media_type="text/javascript")

    install_error_handlers(app)
    # Added innermost first: the request id and log wrap everything, CORS and security headers
    # reach the 413s, and the body limit runs before any route parses a body.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware, frame_origins=origins)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
