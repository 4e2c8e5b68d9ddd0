"""VttLoader: WebVTT transcripts as timed cues with speakers; links open the video there."""

from pathlib import Path

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext, read_text
from ingest.loaders.cues import parse_cues, parse_timestamp, video_url
from ingest.metadata import normalize, read_sidecar

__all__ = ["VttLoader", "parse_cues", "parse_timestamp", "video_url"]


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
