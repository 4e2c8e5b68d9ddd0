from pathlib import Path

from llama_index.core.schema import MetadataMode

from assistant.embedders.fake import FakeEmbedder
from assistant.text_units import PASSAGE_WORDS
from ingest.chunker import StructureChunker
from ingest.documents import ParsedDocument, Section
from ingest.loaders import LoadContext
from ingest.loaders.discourse import DiscourseLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.webvtt import VttLoader
from tests.corpus import write_corpus


def chunker(max_tokens: int = 256) -> StructureChunker:
    return StructureChunker(FakeEmbedder().count_tokens, max_tokens=max_tokens)


def doc_with(text: str, source_type: str = "kb") -> ParsedDocument:
    return ParsedDocument(
        doc_id="d1",
        document="a.md",
        source_type=source_type,
        metadata={"title": "Guide", "audience": "public"},
        sections=[Section(text, ["Setup"], "https://x.example.com/a#setup")],
        content_hash="h",
    )


def test_embedded_text_has_title_path_in_front(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c")
    [doc] = MarkdownLoader().load(
        corpus / "kb" / "reset-password.md", LoadContext(corpus, "public")
    )
    nodes = chunker().chunk(doc)
    steps = next(n for n in nodes if n.metadata["heading_path"] == ["Steps"])
    embedded = steps.get_content(MetadataMode.EMBED)
    assert embedded.startswith("Resetting your password > Steps\n\n1. Open the sign-in page")
    assert "audience" not in embedded and "https://" not in embedded
    assert steps.metadata["url"].endswith("#steps")
    assert steps.ref_doc_id == doc.doc_id


def test_step_list_stays_whole_when_it_fits() -> None:
    steps = "\n".join(f"{i}. Do step number {i} carefully." for i in range(1, 8))
    nodes = chunker(max_tokens=80).chunk(doc_with(f"Intro paragraph here.\n\n{steps}"))
    assert any(steps in n.text for n in nodes)
    assert not any(
        n.text.startswith("2.") or n.text.endswith("1. Do step number 1 carefully.") for n in nodes
    )


def test_a_long_block_is_cut_between_sentences_and_keeps_its_lines() -> None:
    """A PDF manual's page is one block of short lines: the menu path "Settings / Support /
    Self Diagnosis" stays on lines of its own in every chunk, so answers read it as a path."""
    page = "\n".join(
        f"Settings\nSupport\nSelf Diagnosis\nStep {n} of the test: if the TV plays the\n"
        f"melody number {n} without distortion, the problem is elsewhere."
        for n in range(6)
    )
    nodes = chunker(max_tokens=64).chunk(doc_with(page))
    assert len(nodes) > 1
    assert all(n.text in page for n in nodes)  # every chunk is a run of the page's own lines
    assert all("Settings\nSupport\nSelf Diagnosis" in n.text for n in nodes[1:])


def test_no_chunk_exceeds_the_token_window() -> None:
    long_text = "\n\n".join(" ".join(f"word{i}_{j}" for j in range(70)) + "." for i in range(10))
    tool = chunker(max_tokens=64)
    nodes = tool.chunk(doc_with(long_text))
    assert len(nodes) > 10
    assert all(tool.count_tokens(n.get_content(MetadataMode.EMBED)) <= 64 for n in nodes)
    # Nothing is lost: every word is in some chunk.
    assert sum(len(n.text.split()) for n in nodes) == len(long_text.split())


def test_transcript_windows_keep_start_seconds_and_speakers(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c")
    [doc] = VttLoader().load(
        corpus / "transcripts" / "getting-paid.vtt", LoadContext(corpus, "public")
    )
    nodes = StructureChunker(FakeEmbedder().count_tokens, window_seconds=4).chunk(doc)
    first = nodes[0]
    assert first.metadata["start_seconds"] == 1.0
    assert first.metadata["url"] == "https://video.example.com/w/getting-paid?t=1"
    assert first.text.startswith("Maya Chen: Welcome everyone")
    last = nodes[-1]
    assert last.metadata["start_seconds"] == 70.0
    assert last.metadata["url"].endswith("?t=70")
    assert "Sam Ortiz: To turn on reminders" in last.text


def test_transcript_chunks_know_where_each_cue_starts(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c")
    [doc] = VttLoader().load(
        corpus / "transcripts" / "getting-paid.vtt", LoadContext(corpus, "public")
    )
    [chunk] = StructureChunker(FakeEmbedder().count_tokens, window_seconds=600).chunk(doc)
    offsets = {second: chunk.text[offset:] for offset, second, _ in chunk.metadata["cues"]}
    # A cue that opens a speaker's line starts at the speaker's name; one that continues
    # the line starts at its own words.
    assert offsets[1.0].startswith("Maya Chen: Welcome everyone")
    assert offsets[5.5].startswith("Reminders are sent automatically")
    assert offsets[70.0].startswith("Sam Ortiz: To turn on reminders")
    assert [url for *_, url in chunk.metadata["cues"]][-1].endswith("?t=70")
    assert "cues" not in chunk.get_content(MetadataMode.EMBED)


def test_forum_posts_are_never_merged(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c")
    [doc] = DiscourseLoader().load(
        corpus / "threads" / "bank-feed.json", LoadContext(corpus, "public")
    )
    nodes = chunker().chunk(doc)
    assert [n.metadata["post_number"] for n in nodes] == [1, 2]
    assert (
        nodes[1]
        .get_content(MetadataMode.EMBED)
        .startswith("Bank feed stopped syncing > Accepted answer by staff_sam")
    )


def test_a_long_chunk_has_passages_of_about_passage_words_each() -> None:
    sentences = [f"Sentence {i} tells the reader one thing about invoices." for i in range(14)]
    text = " ".join(sentences[:8]) + "\nStatus\nTry Now\n" + " ".join(sentences[8:])
    [node] = chunker().chunk(doc_with(text))
    passages = chunker().passages(node)
    assert len(passages) >= 3
    assert all(p.startswith("Guide > Setup: ") for p in passages)
    bodies = [p.removeprefix("Guide > Setup: ") for p in passages]
    assert " ".join(bodies).split() == node.text.split()  # every word, in order, once
    assert all(PASSAGE_WORDS // 2 <= len(b.split()) < 2 * PASSAGE_WORDS for b in bodies)


def test_a_chunk_of_one_passage_has_none_of_its_own() -> None:
    [node] = chunker().chunk(doc_with("Open Settings and choose Reminders."))
    assert chunker().passages(node) == []
