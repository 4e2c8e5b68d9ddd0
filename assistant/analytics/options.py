"""The gap report's knobs, apart from the report so the command line reads them cheaply."""

from dataclasses import dataclass


@dataclass(frozen=True)
class GapSettings:
    """The report's knobs.

    Args:
        low_confidence_below: answered questions under this confidence count as gaps.
        min_similarity: average cosine similarity that keeps questions in one group.
        write_below: a group whose nearest content is less similar than this needs new content.
        max_groups: groups kept in the report, largest first.
        max_queries: distinct gap queries clustered, most asked first (the pairwise
            similarity matrix grows with the square of this).
    """

    low_confidence_below: float = 0.61
    min_similarity: float = 0.5
    write_below: float = 0.5
    max_groups: int = 25
    max_queries: int = 3000
