"""Tenant isolation: a caller of tenant A never gets tenant B's content back, on every path
(/v1/chat JSON and SSE, /v1/chat/completions plain and streaming, /v1/search, `assistant ask`);
it gets its own and the shared content; a caller without a tenant gets the shared content only;
and the audience filter still holds inside a tenant (acme's partner never reads acme's internal
article). Sessions started by one tenant cannot be continued by another.

A small corpus of its own: a shared article, two tenants' private articles with canary codes
(acme's tagged in front matter, globex's by `assistant ingest --tenant globex`) and an internal
acme article, ingested with the real MiniLM into the real Qdrant engine, served over loopback.
"""

import io
import json
import shutil
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from assistant import cli, wiring
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.api.conftest import serve
from tests.security.adversarial import leaks_for, sources_in
from tests.security.conftest import IsolationIndex, serve_index
from tests.security.http_paths import PATHS, chat_json, search

SHARED_DOCUMENT = "invoice-approvals.md"
SHARED = """---
title: Invoice approvals
url: https://help.example.com/articles/invoice-approvals
---
# Invoice approvals

Invoices can wait for an approval before they are sent to the customer.

## Turn on invoice approvals
1. Open Settings > Approvals.
2. Switch on Require approval and set the amount limit.
3. Pick the people who may approve invoices.
"""

ACME_DOCUMENT = "acme-approval-codes.md"
ACME_CANARY = "FALCON-ACME-311"
ACME = f"""---
title: Acme approval codes
tenant: acme
url: https://acme.example.com/kb/approval-codes
---
# Acme approval codes

At Acme, invoices above 10,000 euros need the approval code {ACME_CANARY} from the finance desk.
Enter the approval code {ACME_CANARY} in the Approval code field before you send the invoice.
"""

ACME_INTERNAL_DOCUMENT = "acme-approval-overrides.md"
ACME_INTERNAL_CANARY = "HERON-ACME-902"
ACME_INTERNAL = f"""---
title: Acme approval overrides
tenant: acme
audience: internal
url: https://acme.example.com/wiki/approval-overrides
---
# Acme approval overrides

Acme employees override a missing invoice approval with the override code
{ACME_INTERNAL_CANARY}. The override code is for Acme staff only.
"""

GLOBEX_DOCUMENT = "globex-approval-codes.md"
GLOBEX_CANARY = "OTTER-GLX-577"
GLOBEX = f"""---
title: Globex approval codes
url: https://globex.example.com/kb/approval-codes
---
# Globex approval codes

At Globex, invoices above 5,000 dollars need the approval code {GLOBEX_CANARY} from the
regional controller. Type the approval code {GLOBEX_CANARY} into the Approval code field.
"""

KEYS = (
    "acme-public=public:acme,acme-partner=partner:acme,acme-emp=internal:acme,"
    "globex-public=public:globex,plain-public=public"
)
QUESTIONS = {
    "acme": "What approval code does Acme use for invoices above the limit?",
    "globex": "What approval code does Globex use for invoices above the limit?",
    "override": "What is the override code for a missing invoice approval?",
}
SHARED_QUESTION = "How do I turn on invoice approvals in Settings?"


@dataclass(frozen=True)
class Caller:
    name: str
    audience: str
    tenant: str | None
    key: str | None
    own: tuple[str, ...]  # documents only this caller's tenant reads
    forbidden: tuple[str, ...]  # canaries it must never see
    restricted: set[str]  # documents it must never get cited

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    @property
    def may_read(self) -> set[str]:
        return {"public", "partner"} if self.audience == "partner" else {"public"}


NOT_GLOBEX = (GLOBEX_CANARY,), {GLOBEX_DOCUMENT}
NOT_ACME = (ACME_CANARY, ACME_INTERNAL_CANARY), {ACME_DOCUMENT, ACME_INTERNAL_DOCUMENT}
ACME_PUBLIC = Caller(
    "acme public",
    "public",
    "acme",
    "acme-public",
    (ACME_DOCUMENT,),
    (GLOBEX_CANARY, ACME_INTERNAL_CANARY),
    {GLOBEX_DOCUMENT, ACME_INTERNAL_DOCUMENT},
)
ACME_PARTNER = Caller(
    "acme partner",
    "partner",
    "acme",
    "acme-partner",
    (ACME_DOCUMENT,),
    (GLOBEX_CANARY, ACME_INTERNAL_CANARY),
    {GLOBEX_DOCUMENT, ACME_INTERNAL_DOCUMENT},
)
GLOBEX_PUBLIC = Caller(
    "globex public", "public", "globex", "globex-public", (GLOBEX_DOCUMENT,), *NOT_ACME
)
ANONYMOUS = Caller(
    "anonymous",
    "public",
    None,
    None,
    (),
    NOT_ACME[0] + NOT_GLOBEX[0],
    NOT_ACME[1] | NOT_GLOBEX[1],
)
PLAIN_KEY = replace(ANONYMOUS, name="public key", key="plain-public")
CALLERS = (ACME_PUBLIC, ACME_PARTNER, GLOBEX_PUBLIC, ANONYMOUS, PLAIN_KEY)


@pytest.fixture(scope="module")
def tenant_index(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> IsolationIndex:
    """The corpus ingested with `assistant ingest` as users run it: shared and acme content
    (tenant from front matter) in one run, globex content with `--tenant globex`."""
    root = tmp_path_factory.mktemp("tenants")
    folders = {
        "shared": {SHARED_DOCUMENT: SHARED},
        "acme": {ACME_DOCUMENT: ACME, ACME_INTERNAL_DOCUMENT: ACME_INTERNAL},
        "globex": {GLOBEX_DOCUMENT: GLOBEX},
    }
    for folder, files in folders.items():
        (root / folder).mkdir()
        for name, text in files.items():
            (root / folder / name).write_text(text, encoding="utf-8")
    data = root / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSISTANT_DATA_DIR", str(data))
        patch.setattr(wiring, "build_embedder", lambda settings: real_embedder)
        runs = [
            ["ingest", str(root / "shared"), str(root / "acme"), "--json"],
            ["ingest", str(root / "globex"), "--tenant", "globex", "--json"],
        ]
        for argv in runs:
            out = io.StringIO()
            with redirect_stdout(out):
                assert cli.main(argv) == 0
            summary = json.loads(out.getvalue())
            assert summary["failed"] == [] and summary["added"] >= 1, summary
    shutil.copytree(data, root / "cli-data")
    settings = Settings(data_dir=data, api_keys=KEYS, rate_limit_per_minute=0)
    return IsolationIndex(settings, root / "cli-data")


@pytest.fixture(scope="module")
def tenant_url(tenant_index: IsolationIndex, real_embedder: Embedder) -> Iterator[str]:
    with serve_index(tenant_index, real_embedder) as url:
        yield url


@pytest.fixture(scope="module")
def client(tenant_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tenant_url, timeout=120) as client:
        yield client


@pytest.fixture
def cli_data_dir(tenant_index: IsolationIndex) -> Path:
    return tenant_index.cli_data_dir


def documents(response: Any) -> set[str]:
    return {source["document"] for source in sources_in(response)}


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("path", list(PATHS))
def test_no_caller_gets_another_tenants_content_on_any_path(
    client: httpx.Client, path: str
) -> None:
    """Every caller asks for both tenants' codes and the internal override, in the mode that
    reads the most (`internal`: everything its key may read)."""
    found = []
    for caller in CALLERS:
        for question in QUESTIONS.values():
            response = PATHS[path](client, question, caller, "internal")
            found += [
                f"{caller.name} / {question!r}: {leak}" for leak in leaks_for(response, caller)
            ]
    assert not found, "\n".join(found)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("path", list(PATHS))
def test_each_tenant_gets_its_own_content_and_everyone_the_shared(
    client: httpx.Client, path: str
) -> None:
    """The positive control: the filter lets through what it should, so the clean result above
    means it held, not that the questions missed."""
    for caller, question, canary in [
        (ACME_PUBLIC, QUESTIONS["acme"], ACME_CANARY),
        (GLOBEX_PUBLIC, QUESTIONS["globex"], GLOBEX_CANARY),
    ]:
        response = PATHS[path](client, question, caller, "customer")
        assert caller.own[0] in documents(response), (caller.name, response)
        assert canary in json.dumps(response), caller.name
    for caller in (ACME_PUBLIC, GLOBEX_PUBLIC, ANONYMOUS):
        response = PATHS[path](client, SHARED_QUESTION, caller, "customer")
        assert SHARED_DOCUMENT in documents(response), (caller.name, response)


def test_search_lists_own_and_shared_chunks_only(client: httpx.Client) -> None:
    question = "invoice approval code"
    expected = [
        (ACME_PUBLIC, {SHARED_DOCUMENT, ACME_DOCUMENT}),
        (ACME_PARTNER, {SHARED_DOCUMENT, ACME_DOCUMENT}),
        (GLOBEX_PUBLIC, {SHARED_DOCUMENT, GLOBEX_DOCUMENT}),
        (ANONYMOUS, {SHARED_DOCUMENT}),
        (PLAIN_KEY, {SHARED_DOCUMENT}),
    ]
    for caller, documents_seen in expected:
        hits = search(client, question, caller, "internal")["hits"]
        assert {h["document"] for h in hits} == documents_seen, caller.name
        assert {h["metadata"].get("tenant") for h in hits} <= {None, caller.tenant}


def test_audience_still_applies_inside_a_tenant(client: httpx.Client) -> None:
    """acme's employees read acme's internal article; acme's partner key does not."""
    employee = Caller(
        "acme employee", "internal", "acme", "acme-emp", (), (GLOBEX_CANARY,), {GLOBEX_DOCUMENT}
    )
    reply = chat_json(client, QUESTIONS["override"], employee, "internal")
    assert ACME_INTERNAL_DOCUMENT in documents(reply) and ACME_INTERNAL_CANARY in reply["answer"]
    for caller in (ACME_PUBLIC, ACME_PARTNER):
        reply = chat_json(client, QUESTIONS["override"], caller, "internal")
        assert not leaks_for(reply, caller)


def test_another_tenant_cannot_continue_a_session(client: httpx.Client) -> None:
    """globex, given acme's session id, gets a conversation of its own: acme's question does
    not carry into its query, and its turn does not join acme's history."""
    first = client.post(
        "/v1/chat", json={"message": QUESTIONS["acme"]}, headers=ACME_PUBLIC.headers
    ).json()
    session_id = first["session_id"]
    assert ACME_CANARY in first["answer"]

    follow_up = {"message": "and where do I type it?", "session_id": session_id}
    globex = client.post("/v1/chat", json=follow_up, headers=GLOBEX_PUBLIC.headers).json()
    assert globex["session_id"] != session_id
    assert "acme" not in globex["query"].lower()
    assert not leaks_for(globex, GLOBEX_PUBLIC)
    anonymous = client.post("/v1/chat", json=follow_up).json()
    assert anonymous["session_id"] != session_id

    acme = client.post("/v1/chat", json=follow_up, headers=ACME_PUBLIC.headers).json()
    assert acme["session_id"] == session_id
    assert "acme" in acme["query"].lower()  # acme's own history carried the topic forward


def test_http_ingest_tags_documents_with_the_keys_tenant(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    """POST /v1/ingest with a tenant's internal key: the documents become that tenant's; the
    key cannot ingest for another tenant."""
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / ACME_DOCUMENT).write_text(ACME.replace("tenant: acme\n", ""))
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=KEYS,
        rate_limit_per_minute=0,
        ingest_root=tmp_path / "content",
    )
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    employee = {"Authorization": "Bearer acme-emp"}
    with serve(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        other = client.post(
            "/v1/ingest", json={"paths": ["."], "tenant": "globex"}, headers=employee
        )
        assert other.status_code == 403, other.text
        reply = client.post("/v1/ingest", json={"paths": ["."]}, headers=employee)
        assert reply.status_code == 200 and reply.json()["added"] == 1, reply.text
        for caller, sees in [(ACME_PUBLIC, True), (GLOBEX_PUBLIC, False), (ANONYMOUS, False)]:
            hits = search(client, QUESTIONS["acme"], caller, "customer")["hits"]
            assert (ACME_DOCUMENT in {h["document"] for h in hits}) is sees, caller.name


def test_a_tenants_employees_cannot_read_the_question_log_of_every_tenant(
    client: httpx.Client,
) -> None:
    """The gap report shows what callers of every tenant asked: internal keys without a
    tenant only."""
    for route in ("/v1/analytics/gaps", "/v1/analytics/gaps/report.md"):
        reply = client.get(route, headers={"Authorization": "Bearer acme-emp"})
        assert reply.status_code == 403, reply.text
        assert "without a tenant" in reply.json()["error"]["message"]


def test_another_tenant_cannot_rate_a_sessions_answer(client: httpx.Client) -> None:
    first = client.post(
        "/v1/chat", json={"message": QUESTIONS["acme"]}, headers=ACME_PUBLIC.headers
    ).json()
    rating = {"session_id": first["session_id"], "rating": "down"}
    for caller in (GLOBEX_PUBLIC, ANONYMOUS):
        reply = client.post("/v1/feedback", json=rating, headers=caller.headers)
        assert reply.status_code == 404, (caller.name, reply.text)
    assert client.post("/v1/feedback", json=rating, headers=ACME_PUBLIC.headers).status_code == 201
