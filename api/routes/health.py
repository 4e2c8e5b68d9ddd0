"""GET /healthz: liveness, with the number of indexed chunks."""

from typing import Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import ComponentsDep
from api.errors import error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    chunks: int


@router.get("/healthz", response_model=Health, responses=error_responses(500, 503))
async def healthz(components: ComponentsDep) -> Health:
    chunks = await run_in_threadpool(components.store.count)
    return Health(status="ok", chunks=chunks)
