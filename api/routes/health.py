"""GET /healthz: liveness, with the number of indexed chunks."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import ComponentsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(components: ComponentsDep) -> dict[str, object]:
    chunks = await run_in_threadpool(components.store.count)
    return {"status": "ok", "chunks": chunks}
