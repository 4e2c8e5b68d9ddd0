"""SrtLoader: SubRip (.srt) transcripts as timed cues with speakers; links open the video there."""

import codecs
from pathlib import Path

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext
from ingest.loaders.cues import parse_cues, video_url
from ingest.metadata import normalize, read_sidecar


def read_subtitles(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or else Windows-1252: subtitle tools
    still save in the legacy code page, and refusing those files helps nobody."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise LoadError("binary content, not subtitles: is the file extension right?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class SrtLoader:
    source_type = SourceType.TRANSCRIPT.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        text = read_subtitles(path)
        if "-->" not in text:
            raise LoadError("not a SubRip file: no cue timings (00:00:01,000 --> 00:00:04,000)")
        meta = normalize(
            read_sidecar(path), default_audience=context.default_audience, where=path.name
        )
        cues = parse_cues(text, where=path.name, numbered=True)
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
