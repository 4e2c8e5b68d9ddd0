"""VttLoader: WebVTT transcripts as timed cues with speakers; links open the video there."""

from pathlib import Path

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext, read_text
from ingest.loaders.cues import parse_cues, parse_timestamp, transcript_document, video_url

__all__ = ["VttLoader", "parse_cues", "parse_timestamp", "video_url"]


class VttLoader:
    source_type = SourceType.TRANSCRIPT.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        text = read_text(path)
        if not text.lstrip("\ufeff").startswith("WEBVTT"):
            raise LoadError("not a WebVTT file: the first line must be WEBVTT")
        return [transcript_document(path, context, parse_cues(text, where=path.name))]
