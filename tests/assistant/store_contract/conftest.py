"""The Store contract: one suite every store implementation must pass, run against each backend
(the `opener` fixture's parameters). `store` is an empty store of the backend under test;
`filled` holds four chunks of three audiences. Helpers are in contract.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import Store
from assistant.stores.qdrant_server import QdrantServerStore
from tests.assistant.store_contract.contract import Opener, make_node, open_edge, open_server


@pytest.fixture(params=[open_edge, open_server], ids=["edge", "qdrant_server"])
def opener(request: pytest.FixtureRequest) -> Opener:
    return request.param


@pytest.fixture
def store(opener: Opener, tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[Store]:
    if opener is open_server:
        opened: Store = QdrantServerStore(
            location=":memory:", collection="contract", dimension=fake_embedder.dimension
        )
    else:
        opened = opener(tmp_path, fake_embedder.dimension)
    yield opened
    opened.close()


@pytest.fixture
def filled(store: Store, fake_embedder: FakeEmbedder) -> Store:
    store.add(
        [
            make_node(
                fake_embedder,
                "reset",
                0,
                "reset your password from the sign-in page",
                "public",
                source_type="kb",
            ),
            make_node(
                fake_embedder,
                "reset",
                1,
                "reset links expire after thirty minutes",
                "public",
                source_type="kb",
            ),
            make_node(
                fake_embedder,
                "partner",
                0,
                "partner portal password reset for resellers",
                "partner",
                source_type="course",
            ),
            make_node(
                fake_embedder,
                "runbook",
                0,
                "internal password override code PELICAN",
                "internal",
                source_type="kb",
            ),
        ]
    )
    return store
