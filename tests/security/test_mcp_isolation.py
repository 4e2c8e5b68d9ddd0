"""Isolation through the MCP server: the adversarial questions of test_isolation.py and the
tenant probes of test_tenant_isolation.py sent through the `answer`, `search` and
`get_document` tools, over streamable HTTP to a real `assistant serve` process and over stdio
to `assistant mcp`. No response may carry a canary of content the caller may not read or cite
such a document; `get_document` finds no restricted document by path or by URL. Positive
controls show the same tools do reach those documents for callers who may read them."""

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import KEYS, serve_process
from tests.mcp_tools import Call, Target, call_tools, data, http_target, stdio_target
from tests.security import test_tenant_isolation as tenants
from tests.security.adversarial import (
    FACT_QUESTIONS,
    INTERNAL_CANARIES,
    PARTNER_ARTICLE,
    PARTNER_DOCUMENT,
    adversarial_queries,
    leaks,
    leaks_for,
    restricted_documents,
    sources_in,
    spread_sample,
)
from tests.security.conftest import IsolationIndex
from tests.security.test_isolation import (
    INTERNAL_DOCUMENTS,
    INTERNAL_KEY,
    MODES,
    PARTNER,
    PUBLIC,
    PUBLIC_KEY,
    Caller,
)
from tests.security.test_tenant_isolation import tenant_index, tenant_url

__all__ = ["tenant_index", "tenant_url"]  # the tenant corpus and its server, for this module too

SAMPLE = 36
CALLERS = (PUBLIC, PARTNER, PUBLIC_KEY)
_URL = re.compile(r"^url:\s*(\S+)", re.MULTILINE)


def key_of(caller: Caller) -> str | None:
    return caller.headers.get("Authorization", "").removeprefix("Bearer ") or None


def restricted_refs() -> list[tuple[str, dict[str, str]]]:
    """(document, get_document arguments) naming each restricted document by path and URL."""
    sources = {**restricted_documents(), PARTNER_DOCUMENT: PARTNER_ARTICLE}
    refs = []
    for document, text in sources.items():
        refs.append((document, {"document": document}))
        if url := _URL.search(text):
            refs.append((document, {"url": url.group(1)}))
    return refs


URL_DOCUMENTS = {a["url"]: document for document, a in restricted_refs() if "url" in a}


@dataclass(frozen=True)
class Servers:
    url: str
    stdio_env: dict[str, str]


@pytest.fixture(scope="module")
def servers(
    isolation_index: IsolationIndex, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """`assistant serve` over a copy of the isolation index, and the environment for
    `assistant mcp` over another copy (the embedded store belongs to one process)."""
    root = tmp_path_factory.mktemp("mcp-isolation")
    for name in ("http-data", "stdio-data"):
        shutil.copytree(isolation_index.cli_data_dir, root / name)
    common = {"ASSISTANT_API_KEYS": KEYS, "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}
    env = {**os.environ, **common, "ASSISTANT_DATA_DIR": str(root / "http-data")}
    with serve_process(env, root / "server.log") as url:
        yield Servers(url, {**common, "ASSISTANT_DATA_DIR": str(root / "stdio-data")})


def probe(target: Target, caller: Caller, calls: list[Call]) -> list[str]:
    """Every leak in the responses to `calls` made as `caller`."""
    found = []
    for (name, arguments), result in zip(calls, call_tools(target, calls), strict=True):
        response = data(result)
        if name != "get_document":
            assert not result.is_error, (name, arguments, response)
        found += [
            f"{name} / {caller.audience} / {arguments}: {leak}"
            for leak in leaks_for(response, caller)
        ]
        if name == "get_document":
            named = arguments.get("document") or URL_DOCUMENTS[arguments["url"]]
            assert result.is_error == (named in caller.restricted), (caller.audience, arguments)
    return found


def adversarial_calls(offset: int, count: int) -> list[Call]:
    """Sample queries `offset`, `offset + 3`, ... as `answer` (modes rotating) or `search`."""
    sample = spread_sample(adversarial_queries(), SAMPLE)
    calls: list[Call] = []
    for i, query in enumerate(sample[offset::3][:count]):
        if i % 2:
            calls.append(("search", {"query": query.text[:1000], "k": 20}))
        else:
            calls.append(("answer", {"question": query.text, "mode": MODES[(i // 2) % 3]}))
    return calls


def test_adversarial_queries_and_restricted_documents_leak_nothing_over_http(
    servers: Servers,
) -> None:
    found: list[str] = []
    for offset, caller in enumerate(CALLERS):
        calls = adversarial_calls(offset, SAMPLE // len(CALLERS))
        calls += [("get_document", arguments) for _, arguments in restricted_refs()]
        found += probe(http_target(servers.url, key_of(caller)), caller, calls)
    assert not found, "\n".join(found[:20])


def test_partner_over_stdio_leaks_nothing(servers: Servers) -> None:
    calls = adversarial_calls(1, 6)
    calls += [("get_document", arguments) for _, arguments in restricted_refs()]
    env = {**servers.stdio_env, "ASSISTANT_MCP_API_KEY": key_of(PARTNER) or ""}
    found = probe(stdio_target(env), PARTNER, calls)
    assert not found, "\n".join(found)
    (partner_doc,) = call_tools(
        stdio_target(env), [("get_document", {"document": PARTNER_DOCUMENT})]
    )
    assert "MARLIN-7" in data(partner_doc)["text"]  # the positive control


def test_the_same_tools_reach_restricted_documents_for_employees(servers: Servers) -> None:
    questions = [
        q
        for topic in ("refunds", "sso", "escalation", "recovery")
        for q in FACT_QUESTIONS[topic][:2]
    ]
    calls: list[Call] = [("answer", {"question": q, "mode": "internal"}) for q in questions]
    calls += [("get_document", {"document": document}) for document in INTERNAL_DOCUMENTS]
    calls += [("answer", {"question": q, "mode": "agent"}) for q in FACT_QUESTIONS["refunds"][:3]]
    key = INTERNAL_KEY["Authorization"].removeprefix("Bearer ")
    replies = [data(r) for r in call_tools(http_target(servers.url, key), calls)]
    answers = replies[: len(questions)]
    cited = sum(any(c["document"] in INTERNAL_DOCUMENTS for c in a["citations"]) for a in answers)
    assert cited >= len(questions) * 3 // 4, f"{cited}/{len(questions)}"
    documents = replies[len(questions) : len(questions) + len(INTERNAL_DOCUMENTS)]
    for document in documents:
        assert any(c.lower() in document["text"].lower() for c in INTERNAL_CANARIES), document
    for agent in replies[len(questions) + len(INTERNAL_DOCUMENTS) :]:
        customer_ready = {k: v for k, v in agent.items() if k not in ("internal_notes", "query")}
        assert not leaks(
            customer_ready,
            audiences={"public"},
            forbidden=INTERNAL_CANARIES,
            restricted=INTERNAL_DOCUMENTS,
        )


# --- tenants ----------------------------------------------------------------------------------


TENANT_DOCUMENTS = {
    tenants.ACME_DOCUMENT: "https://acme.example.com/kb/approval-codes",
    tenants.ACME_INTERNAL_DOCUMENT: "https://acme.example.com/wiki/approval-overrides",
    tenants.GLOBEX_DOCUMENT: "https://globex.example.com/kb/approval-codes",
}


def test_no_caller_gets_another_tenants_content_through_mcp(tenant_url: str) -> None:
    calls: list[Call] = [
        ("answer", {"question": q, "mode": "internal"}) for q in tenants.QUESTIONS.values()
    ]
    calls.append(("search", {"query": "invoice approval code", "k": 20}))
    for document, url in TENANT_DOCUMENTS.items():
        calls += [("get_document", {"document": document}), ("get_document", {"url": url})]
    found = []
    for caller in tenants.CALLERS:
        for (name, arguments), result in zip(
            calls, call_tools(http_target(tenant_url, caller.key), calls), strict=True
        ):
            response: Any = data(result)
            found += [
                f"{caller.name} / {name} {arguments}: {leak}"
                for leak in leaks_for(response, caller)
            ]
            named = arguments.get("document") or next(
                (d for d, u in TENANT_DOCUMENTS.items() if u == arguments.get("url")), None
            )
            if name == "get_document":
                assert result.is_error == (named not in caller.own), (caller.name, arguments)
    assert not found, "\n".join(found)


def test_each_tenant_reads_its_own_content_through_mcp(tenant_url: str) -> None:
    for caller, question, canary in [
        (tenants.ACME_PUBLIC, tenants.QUESTIONS["acme"], tenants.ACME_CANARY),
        (tenants.GLOBEX_PUBLIC, tenants.QUESTIONS["globex"], tenants.GLOBEX_CANARY),
    ]:
        calls: list[Call] = [
            ("answer", {"question": question}),
            ("get_document", {"document": caller.own[0]}),
        ]
        answer, document = (data(r) for r in call_tools(http_target(tenant_url, caller.key), calls))
        assert caller.own[0] in {s["document"] for s in sources_in(answer)}, caller.name
        assert canary in answer["answer"] and canary in document["text"], caller.name
