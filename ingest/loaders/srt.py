"""SrtLoader: SubRip (.srt) transcripts as timed cues with speakers; links open the video there."""

import codecs
from pathlib import Path

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext
from ingest.loaders.cues import parse_cues, transcript_document


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
        cues = parse_cues(text, where=path.name, numbered=True)
        return [transcript_document(path, context, cues)]
