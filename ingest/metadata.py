"""Document metadata from YAML front matter or a `<file>.meta.yaml` sidecar."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

from assistant.types import Audience
from ingest.documents import LoadError
from ingest.safe_yaml import load_yaml

KNOWN_KEYS = (
    "title",
    "audience",
    "url",
    "updated_at",
    "reviewed",
    "product_version",
    "tags",
    "pages",
    "tenant",
)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.yaml")


def read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return {}
    return parse_yaml_mapping(sidecar.read_text(encoding="utf-8"), where=sidecar.name)


def split_front_matter(text: str, *, where: str) -> tuple[dict[str, Any], str]:
    """Returns (front matter, body); text without front matter has an empty mapping."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    return parse_yaml_mapping(match.group(1), where=where), text[match.end() :]


def parse_yaml_mapping(text: str, *, where: str) -> dict[str, Any]:
    data = load_yaml(text, where=where) or {}
    if not isinstance(data, dict):
        raise LoadError(f"metadata in {where} must be a mapping of keys to values")
    return data


def normalize(raw: dict[str, Any], *, default_audience: str, where: str) -> dict[str, Any]:
    """Known keys, validated, with JSON-friendly values (dates as ISO strings)."""
    meta = {k: raw[k] for k in KNOWN_KEYS if raw.get(k) is not None}
    audience = str(meta.get("audience", default_audience)).lower()
    if audience not in {a.value for a in Audience}:
        raise LoadError(
            f"unknown audience {audience!r} in {where}: use public, partner or internal"
        )
    meta["audience"] = audience
    if isinstance(meta.get("updated_at"), dt.date | dt.datetime):
        meta["updated_at"] = meta["updated_at"].isoformat()
    for key in ("title", "url", "updated_at", "product_version"):
        if key in meta:
            meta[key] = str(meta[key])
    tags = meta.get("tags", [])
    meta["tags"] = [str(t) for t in (tags if isinstance(tags, list) else [tags])]
    if "pages" in meta:  # product pages the content helps with, e.g. /settings/reminders
        pages = meta["pages"]
        meta["pages"] = [str(p) for p in (pages if isinstance(pages, list) else [pages])]
    if "reviewed" in meta:
        meta["reviewed"] = bool(meta["reviewed"])
    if "tenant" in meta:  # only that tenant's callers read it; without one it is shared
        meta["tenant"] = tenant_name(meta["tenant"], where=where)
    return meta


def tenant_name(value: object, *, where: str) -> str:
    """A tenant as API keys name it (`key=audience:tenant`): a non-empty name, matched exactly."""
    name = str(value).strip()
    if not name or isinstance(value, dict | list) or "," in name:
        raise LoadError(
            f"invalid tenant {value!r} in {where}: use the name API keys give after the "
            "audience (key=public:acme), or leave tenant out for content every tenant shares"
        )
    return name
