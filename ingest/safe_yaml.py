"""The one YAML reader for everything ingest parses: front matter, sidecars, `course.yaml`.

`yaml.safe_load` builds no objects but still expands aliases: a few hundred bytes of nested
anchors (`b: &b [*a, *a, …]`) load as shared references and turn into billions of items as
soon as anything walks them (`str()`, JSON, hashing), gigabytes from one file. Metadata never
needs aliases, so they are refused outright, as are deep nesting (the composer recurses) and
texts larger than any metadata we expect.
"""

from typing import Any, cast

import yaml
from yaml.composer import ComposerError
from yaml.error import Mark
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import Node

from ingest.documents import LoadError

MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32


class _MetadataLoader(yaml.SafeLoader):
    """SafeLoader without aliases and with a nesting limit (the pure-Python composer, since
    libyaml's composes in C where neither can be checked)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise ComposerError(
                None,
                None,
                f"found alias *{event.anchor}: aliases are not allowed in metadata, "
                "write the value out",
                cast(Mark, event.start_mark),
            )
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= MAX_YAML_DEPTH:
            raise ComposerError(
                None,
                None,
                f"nested more than {MAX_YAML_DEPTH} levels deep",
                cast(Mark, event.start_mark),
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, *, where: str) -> Any:
    """The YAML document in `text`; a LoadError naming `where` when it is invalid, too large,
    too deep or uses aliases."""
    if len(text) > MAX_YAML_BYTES:
        raise LoadError(
            f"the YAML metadata in {where} is larger than {MAX_YAML_BYTES // 1024} KB: "
            "metadata is a few keys, move the content into the document"
        )
    loader = _MetadataLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML metadata in {where}: {exc}") from exc
    finally:
        loader.dispose()
