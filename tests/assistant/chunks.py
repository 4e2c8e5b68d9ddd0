"""Retrieved chunks built by hand, for the synthesizer tests."""

from assistant.embedders import Embedder
from assistant.types import ScoredChunk

# A help article's chunk as the retriever returns it, for tests that need one answerable chunk.
RESET = ScoredChunk(
    chunk_id="reset",
    text="To reset your password, click Forgot password on the sign-in page. "
    "The reset link expires after 30 minutes.",
    metadata={"document": "kb/reset-password.md", "title": "Reset your password"},
    score=1.0,
    similarity=0.8,
)


def scored_chunks(
    embedder: Embedder, question: str, texts: list[tuple[str, str]]
) -> list[ScoredChunk]:
    """(title, text) pairs as the retriever returns them: ranked in order, each with its
    similarity to `question`, a URL and a document path."""
    question_vector = embedder.embed([question])[0]
    vectors = embedder.embed([f"{title}: {text}" for title, text in texts])
    return [
        ScoredChunk(
            chunk_id=f"c{n}",
            text=text,
            metadata={
                "title": title,
                "url": f"https://help.example.com/{n}",
                "document": f"kb/{n}.md",
            },
            score=1.0 - 0.1 * n,
            similarity=float(vector @ question_vector),
        )
        for n, ((title, text), vector) in enumerate(zip(texts, vectors, strict=True))
    ]
