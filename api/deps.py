"""FastAPI wiring: the heavy objects built once in the lifespan, the caller from the key, and
the rate limit.

Every dependency here is `async def` though none awaits anything: FastAPI runs a plain `def`
dependency in its thread pool, and four thread hops per request cost a cached answer more CPU
than the answer itself (benchmarks/load.py)."""

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Header, Request
from starlette.types import Scope

from api.auth import AuthError, Caller, KeyRing
from api.local_operator import LocalOperator, refuse_act_as
from api.metrics import Metrics
from api.rate_limit import TokenBucketLimiter
from assistant.answering.answerer import Answerer
from assistant.records.feedback import FeedbackStore
from assistant.types import Audience
from assistant.wiring import Components


async def get_components(request: Request) -> Components:
    components: Components = request.app.state.components
    return components


async def get_answerer(request: Request) -> Answerer:
    return (await get_components(request)).answerer


async def get_feedback_store(request: Request) -> FeedbackStore:
    return (await get_components(request)).feedback


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_answer_slots(request: Request) -> CapacityLimiter:
    slots: CapacityLimiter = request.app.state.answer_slots
    return slots


T = TypeVar("T")


async def run_in_slot(
    slots: CapacityLimiter, func: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """`func` in a worker thread once one of `slots` is free; waiters are served first come
    first served, so no request starves while later ones overtake it."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=slots)


async def get_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The local operator when its token comes from loopback; else the caller of the key."""
    operator: LocalOperator | None = request.app.state.local_operator
    if operator is None:
        refuse_act_as(request.scope)
        caller = None
    else:
        caller = operator.caller(request.scope)
    if caller is None:
        keyring: KeyRing = request.app.state.keyring
        caller = keyring.caller(authorization)
    request.state.key_id = caller.key_id  # for the access log
    return caller


async def require_internal(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """For routes only employees may use: 403 for a valid key of another audience."""
    if caller.audience != Audience.INTERNAL:
        raise AuthError(403, "forbidden", "This route needs an API key with internal access.")
    return caller


async def enforce_rate_limit(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """One token per request from the bucket of the caller's key, or of the client address
    for anonymous callers and refused keys (so guessing keys is throttled too). The address
    comes from `X-Forwarded-For` only when the connection is from one of
    `ASSISTANT_TRUSTED_PROXIES` (`assistant serve` configures uvicorn so)."""
    limiter: TokenBucketLimiter = request.app.state.rate_limiter
    address = client_address(request.scope)
    try:
        caller = await get_caller(request, authorization)
    except AuthError:
        limiter.take(rate_limit_bucket(None, address))
        raise
    if not caller.local:  # the command line run directly has no rate limit either
        limiter.take(rate_limit_bucket(caller, address))


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def rate_limit_bucket(caller: Caller | None, address: str) -> str:
    """The bucket a request spends from: its key's, or its address's for anonymous callers
    and refused keys."""
    return f"key:{caller.key_id}" if caller and caller.key_id else f"address:{address}"


ComponentsDep = Annotated[Components, Depends(get_components)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
AnswerSlotsDep = Annotated[CapacityLimiter, Depends(get_answer_slots)]
CallerDep = Annotated[Caller, Depends(get_caller)]
InternalCallerDep = Annotated[Caller, Depends(require_internal)]
RateLimitDep = Depends(enforce_rate_limit)
