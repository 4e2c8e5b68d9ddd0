"""POST /v1/ingest: the running server ingests files itself.

The embedded Qdrant store belongs to one process, so while `assistant serve` runs, `assistant
ingest` cannot open it; this route lets the server, which owns the store, do the ingest while it
keeps answering. Internal keys only, and only files inside ASSISTANT_INGEST_ROOT (the route is
off while that is unset): a caller names paths on the server's disk, so the server must decide
which ones it will read. The local operator (`assistant ingest` on the server's machine, with
the token from the server file: api/local_operator.py) names absolute paths anywhere, as that
user could ingest them directly. One ingest runs at a time; a second gets 409.
"""

import threading
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import AuthError
from api.deps import ComponentsDep, InternalCallerDep
from api.errors import error_response, error_responses
from api.text import SafeText
from assistant.types import Audience
from ingest.free_space import check_free_space
from ingest.wiring import build_ingester

router = APIRouter(prefix="/v1", tags=["ingest"])


class IngestGate:
    """Which folder the route may read, the lock that lets one ingest run at a time, and the
    embedded store's folder whose disk must have room (None for a Qdrant server)."""

    def __init__(self, root: Path | None, *, data_dir: Path | None, min_free_mb: int) -> None:
        self.root = root.resolve() if root is not None else None
        self.lock = threading.Lock()
        self.data_dir = data_dir
        self.min_free_mb = min_free_mb

    def check_free_space(self) -> None:
        if self.data_dir is not None:
            check_free_space(self.data_dir, min_free_mb=self.min_free_mb)

    def resolve(self, raw: str) -> Path:
        """`raw` (absolute, or relative to the root) as a path inside the root; AuthError 403
        for anything outside it, symlinks and `..` included."""
        if self.root is None:
            raise AuthError(
                403,
                "forbidden",
                "Ingest over HTTP is off: set ASSISTANT_INGEST_ROOT to the folder it may read "
                "and restart the server.",
            )
        path = (self.root / raw).resolve()
        if not path.is_relative_to(self.root):
            raise AuthError(
                403,
                "forbidden",
                f"{raw!r} is outside the ingest root; only paths inside ASSISTANT_INGEST_ROOT "
                "can be ingested over HTTP.",
            )
        return path


class IngestRequest(BaseModel):
    paths: list[Annotated[SafeText, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1,
        max_length=100,
        description="Files or folders inside ASSISTANT_INGEST_ROOT, absolute or relative to it "
        "(absolute paths anywhere for the local operator). Re-ingesting a folder syncs it, as "
        "`assistant ingest` does.",
    )
    audience: Audience = Field(
        default=Audience.PUBLIC, description="For documents whose metadata names none."
    )
    tenant: SafeText | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[^,\s][^,]*$",
        description="For documents whose metadata names none: only this tenant's keys read "
        "them. Defaults to the key's own tenant; without one, documents are shared.",
    )
    type: Literal["auto", "course", "kb", "transcript", "thread"] = "auto"


class IngestFailure(BaseModel):
    file: str
    reason: str


class IngestResult(BaseModel):
    """The summary `assistant ingest --json` prints."""

    added: int
    updated: int
    unchanged: int
    deleted: int
    failed: list[IngestFailure]
    chunks_written: int
    truncated_chunks: int
    tokens_embedded: int
    seconds: float
    documents_per_second: float
    chunks_per_second: float
    tokens_per_second: float


@router.post(
    "/ingest",
    response_model=IngestResult,
    responses=error_responses(401, 403, 409, 413, 422, 429, 500, 503),
    summary="Ingest files on the server's disk (internal keys only)",
)
async def ingest(
    body: IngestRequest, request: Request, components: ComponentsDep, caller: InternalCallerDep
) -> IngestResult | JSONResponse:
    """Runs the same job as `assistant ingest` inside the server, so answers keep being served
    from the store while it runs and see each document once it is complete. Bad files are
    listed in `failed`, as on the command line. A key with a tenant ingests for that tenant
    only."""
    if caller.tenant and body.tenant not in (None, caller.tenant):
        return error_response(
            request, 403, "forbidden", "This key may only ingest content for its own tenant."
        )
    gate: IngestGate = request.app.state.ingest_gate
    if caller.local:
        # As `assistant ingest` run directly: a path that is not there is a failure in the
        # summary, not a refusal of the whole request.
        if relative := [raw for raw in body.paths if not Path(raw).is_absolute()]:
            return error_response(
                request,
                422,
                "invalid_request",
                f"The local operator names absolute paths; got {', '.join(relative)}.",
            )
        paths = [Path(raw) for raw in body.paths]
    else:
        paths = [gate.resolve(raw) for raw in body.paths]
        missing = [raw for raw, path in zip(body.paths, paths, strict=True) if not _exists(path)]
        if missing:
            return error_response(
                request, 422, "invalid_request", f"No such file or folder: {', '.join(missing)}."
            )
    gate.check_free_space()  # a StoreError: 503 with the fix
    if not gate.lock.acquire(blocking=False):
        return error_response(
            request, 409, "busy", "An ingest is already running; try again when it has finished."
        )
    try:
        job = build_ingester(embedder=components.embedder, store=components.store)
        summary = await run_in_threadpool(
            job.run,
            paths,
            default_audience=body.audience.value,
            default_tenant=body.tenant or caller.tenant,
            content_type=body.type,
            progress=False,
        )
    finally:
        gate.lock.release()
    return IngestResult.model_validate(summary.to_dict())


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system, say
        return False
