"""VttLoader: WebVTT transcripts as timed cues with speakers; links open the video there."""

import re
from pathlib import Path
from typing import Any

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.loaders import LoadContext, read_text
from ingest.metadata import normalize, read_sidecar

_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})"
)
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]+>")


def parse_timestamp(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def video_url(url: str | None, seconds: float) -> str | None:
    if not url:
        return None
    base = re.sub(r"([?&])t=\d+&?", r"\1", url.split("#", 1)[0]).rstrip("?&")
    return f"{base}{'&' if '?' in base else '?'}t={int(seconds)}"


def parse_cues(text: str, *, where: str) -> list[Section]:
    """Cues as sections carrying start/end seconds and the speaker, if any."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    cues: list[Section] = []
    for block in blocks:
        lines = block.splitlines()
        timing_at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_at is None:
            continue  # header, NOTE, STYLE or REGION block
        match = _TIMING.match(lines[timing_at])
        if not match:
            raise LoadError(f"{where}: bad cue timing {lines[timing_at].strip()!r}")
        start, end = parse_timestamp(match.group(1)), parse_timestamp(match.group(2))
        if end < start:
            raise LoadError(f"{where}: cue ends before it starts at {match.group(1)}")
        raw = " ".join(lines[timing_at + 1 :])
        voice = _VOICE.search(raw)
        spoken = " ".join(_TAG.sub("", raw).split())
        if spoken:
            meta: dict[str, Any] = {"start_seconds": start, "end_seconds": end}
            if voice:
                meta["speaker"] = voice.group(1).strip()
            cues.append(Section(spoken, meta=meta))
    return cues


class VttLoader:
    source_type = SourceType.TRANSCRIPT.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        text = read_text(path)
        if not text.lstrip("\ufeff").startswith("WEBVTT"):
            raise LoadError("not a WebVTT file: the first line must be WEBVTT")
        meta = normalize(
            read_sidecar(path), default_audience=context.default_audience, where=path.name
        )
        cues = parse_cues(text, where=path.name)
        if not cues:
            raise LoadError("no cues with text")
        for cue in cues:
            cue.url = video_url(meta.get("url"), cue.meta["start_seconds"])
        meta.setdefault("title", path.stem.replace("-", " ").replace("_", " ").title())
        meta.setdefault("reviewed", True)
        return [
            ParsedDocument(
                doc_id=context.doc_id(path),
                document=context.relative(path),
                source_type=self.source_type,
                metadata=meta,
                sections=cues,
                content_hash=context.content_hash(path),
            )
        ]
