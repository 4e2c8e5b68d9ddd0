"""Timed cues shared by the subtitle loaders (WebVTT, SubRip): timings, speakers, video links."""

import re
from pathlib import Path
from typing import Any

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.loaders import LoadContext, title_from_name
from ingest.metadata import normalize, read_sidecar

_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})(?:\s|$)"
)
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")  # HTML-like tags, and SSA overrides such as {\an8}
# "SAM ORTIZ: …", "Sam Ortiz: …", "- Sam: …", ">> SAM: …": one to three capitalised words.
_SPEAKER_PREFIX = re.compile(
    r"^(?:-|>>)?\s*((?:[A-Z][A-Za-z.'’\-]*)(?: [A-Z][A-Za-z.'’\-]*){0,2}):\s+(\S.*)$"
)
# Capitalised labels that start ordinary caption text rather than name a speaker.
_NOT_SPEAKERS = {
    "Note",
    "Tip",
    "Warning",
    "Important",
    "Example",
    "Step",
    "Question",
    "Answer",
    "Caution",
    "Update",
    "Reminder",
}


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


def parse_cues(text: str, *, where: str, numbered: bool = False) -> list[Section]:
    """Cues as sections carrying start/end seconds and the speaker, if any.

    Args:
        text: the whole subtitle file.
        where: the file name, for error messages.
        numbered: SubRip rules: every block is a cue (a number, a timing line, text), a speaker
            may be named by a "NAME:" prefix, and a text-only block continues the cue before it.
            Otherwise WebVTT rules: blocks without a timing line (header, NOTE, STYLE) are skipped.
    """
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    cues: list[Section] = []
    timed = 0  # cues seen, counting those without text: names a cue that has no identifier
    for block in blocks:
        lines = block.splitlines()
        timing_at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_at is None:
            if not numbered:
                continue  # header, NOTE, STYLE or REGION block
            if lines[0].strip().isdigit():
                raise LoadError(f"{where}: cue {lines[0].strip()} has no timing line (a --> b)")
            if not cues:
                raise LoadError(f"{where}: text before the first cue: is this a SubRip file?")
            cues[-1].text = f"{cues[-1].text} {_spoken(' '.join(lines))}".strip()
            continue
        timed += 1
        label = lines[0].strip() if timing_at == 1 else f"#{timed}"
        start, end = _timing(lines[timing_at], where=where, label=label)
        raw = " ".join(lines[timing_at + 1 :])
        voice = _VOICE.search(raw)
        spoken = _spoken(raw)
        speaker = voice.group(1).strip() if voice else None
        if numbered and not speaker:
            speaker, spoken = _split_speaker(spoken)
        if spoken:
            meta: dict[str, Any] = {"start_seconds": start, "end_seconds": end}
            if speaker:
                meta["speaker"] = speaker
            cues.append(Section(spoken, meta=meta))
    return cues


def _timing(line: str, *, where: str, label: str) -> tuple[float, float]:
    match = _TIMING.match(line)
    if not match or any(_out_of_range(match.group(i)) for i in (1, 2)):
        raise LoadError(f"{where}: cue {label}: bad cue timing {line.strip()!r}")
    start, end = parse_timestamp(match.group(1)), parse_timestamp(match.group(2))
    if end < start:
        raise LoadError(f"{where}: cue {label} ends before it starts at {match.group(1)}")
    return start, end


def _out_of_range(timestamp: str) -> bool:
    """Minutes or seconds of 60 and more are typos, not times."""
    *_, minutes, seconds = timestamp.replace(",", ".").split(":")
    return int(minutes) >= 60 or float(seconds) >= 60


def _spoken(raw: str) -> str:
    return " ".join(_TAG.sub("", raw).split())


def _split_speaker(spoken: str) -> tuple[str | None, str]:
    match = _SPEAKER_PREFIX.match(spoken)
    if not match or match.group(1) in _NOT_SPEAKERS:
        return None, spoken
    return match.group(1), match.group(2)


def transcript_document(path: Path, context: LoadContext, cues: list[Section]) -> ParsedDocument:
    """A transcript from its cues: metadata from the sidecar, each cue linked to its second."""
    if not cues:
        raise LoadError("no cues with text")
    meta = normalize(read_sidecar(path), default_audience=context.default_audience, where=path.name)
    for cue in cues:
        cue.url = video_url(meta.get("url"), cue.meta["start_seconds"])
    meta.setdefault("title", title_from_name(path))
    meta.setdefault("reviewed", True)
    return context.document(
        path, source_type=SourceType.TRANSCRIPT.value, metadata=meta, sections=cues
    )
