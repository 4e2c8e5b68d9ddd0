"""GET /v1/search: the retrieved chunks with their scores, filtered by the caller's audience
and tenant."""

from typing import Annotated, Any

from anyio import CapacityLimiter
from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import Caller
from api.deps import AnswerSlotsDep, CallerDep, ComponentsDep, run_in_slot
from api.errors import error_responses
from api.text import QuestionText
from assistant.types import ScoredChunk
from assistant.wiring import Components

router = APIRouter(prefix="/v1", tags=["search"])


class SearchHit(BaseModel):
    rank: int
    score: float
    similarity: float
    document: str
    title: str
    source_type: str
    url: str | None
    audience: str
    text: str
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(401, 422, 429, 500, 503),
    summary="Retrieved chunks with scores",
)
async def search(
    components: ComponentsDep,
    caller: CallerDep,
    slots: AnswerSlotsDep,
    q: Annotated[QuestionText, Query(min_length=1, max_length=1000)],
    k: Annotated[int, Query(ge=1, le=50)] = 8,
) -> SearchResponse:
    return await search_chunks(q, k, caller, components=components, slots=slots)


async def search_chunks(
    q: str, k: int, caller: Caller, *, components: Components, slots: CapacityLimiter
) -> SearchResponse:
    """The `k` best chunks for `q` that `caller` may read, retrieved in an answer slot:
    `/v1/search` and the MCP `search` tool."""
    chunks = await run_in_slot(
        slots,
        components.retriever.retrieve,
        q,
        audiences=caller.audience.visible(),
        tenant=caller.tenant,
        top_k=k,
    )
    return SearchResponse(query=q, hits=[_hit(rank, c) for rank, c in enumerate(chunks, start=1)])


def _hit(rank: int, chunk: ScoredChunk) -> SearchHit:
    meta = chunk.metadata
    return SearchHit(
        rank=rank,
        score=round(chunk.score, 4),
        similarity=round(chunk.similarity, 4),
        document=chunk.document,
        title=str(meta.get("title_path") or chunk.title),
        source_type=str(meta.get("source_type", "")),
        url=meta.get("url"),
        audience=str(meta.get("audience", "")),
        text=chunk.text,
        metadata={k: v for k, v in meta.items() if k not in ("text", "title_path")},
    )
