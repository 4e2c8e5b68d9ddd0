"""The FastAPI app: chat API, health and the chat page; heavy objects built once in the lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api.auth import AuthError, KeyRing
from api.routes import chat, health, search
from assistant.settings import Settings
from assistant.stores import StoreError
from assistant.wiring import Components, build_components

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    *,
    components_factory: Callable[[Settings], Components] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    factory = components_factory or build_components

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.components = factory(settings)
        try:
            yield
        finally:
            app.state.components.close()

    app = FastAPI(
        title="Customer-education assistant",
        version="0.1.0",
        description="Cited answers from courses, KB articles, transcripts and forum threads.",
        lifespan=lifespan,
    )
    app.state.keyring = KeyRing.parse(
        settings.api_keys, file=settings.api_keys_file, anonymous=settings.allow_anonymous
    )
    app.include_router(chat.router)
    app.include_router(search.router)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    _install_error_handlers(app)
    return app


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def auth_error(_: Request, exc: AuthError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        )
        return _error(422, "invalid_request", problems or "Invalid request.")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _error(503, "store_unavailable", str(exc))
