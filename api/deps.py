"""FastAPI wiring: the heavy objects built once in the lifespan, and the caller from the key."""

from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import Caller, KeyRing
from assistant.answerer import Answerer
from assistant.wiring import Components


def get_components(request: Request) -> Components:
    components: Components = request.app.state.components
    return components


def get_answerer(request: Request) -> Answerer:
    return get_components(request).answerer


def get_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    keyring: KeyRing = request.app.state.keyring
    return keyring.caller(authorization)


ComponentsDep = Annotated[Components, Depends(get_components)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
CallerDep = Annotated[Caller, Depends(get_caller)]
