"""Checks a drafted answer's citations before anyone reads it.

Every `[n]` must name a source, every sentence and list item must cite one, and each must be
supported by what it cites: its words found there, or its meaning close to a sentence there.
A draft that passes is renumbered so its markers run 1..m in order of first use, and its
sources are exactly the cited ones, in that order.

Small models cite loosely: a sentence with no marker, the wrong source number, "(Source 2)" or
a Markdown link instead of "[2]". `CitationChecker.repair` mends what the same support test can
mend (each sentence is attributed to the source that supports it, sentences no source supports
are dropped), and the repaired text is checked again like any other: the guarantee is the same.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.claims import (
    MARKER,
    Claim,
    cite,
    collapse_repeated_markers,
    lead_ins_cite_their_lists,
    line_sentences,
    list_follows,
    parse_claim,
    plain,
    renumber_citations,
    renumber_steps,
    split_claims,
    unknown_markers,
    written_markers,
)
from assistant.answering.references import normalise_references
from assistant.embedders import Embedder
from assistant.text_units import content_terms, list_items, split_sentences, split_units
from assistant.types import Draft, ScoredChunk

# Two names a menu path puts one after the other: "Settings > Display" (overlapping, so
# "A > B > C" gives both steps).
_MENU_STEP = re.compile(r"\b(?=(\w[\w+]*)[\s*_\"']*>[\s*_\"']*(\w[\w+]*))")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class CitationCheck:
    """The validated, renumbered draft, or the problems that rejected the text."""

    draft: Draft | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Repair:
    """Text with its citations mended, and what was changed (for logs and benchmarks)."""

    text: str
    changes: list[str] = field(default_factory=list)


class CitationChecker:
    """Validates drafted text against the sources it was written from; deterministic.

    Args:
        embedder: embeds sentences to measure meaning; the one that embedded the corpus.
        min_support: a sentence passes when the larger of its lexical support (share of its
            content words found in the cited sources) and its semantic support (cosine to the
            closest sentence of a cited source), scaled by n/(n+1) for n content words so that
            one or two words never prove anything, reaches this.
    """

    def __init__(self, embedder: Embedder, *, min_support: float = 0.55) -> None:
        self.embedder = embedder
        self.min_support = min_support

    def check(
        self, text: str, sources: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> CitationCheck:
        """Checks `text`, whose `[n]` markers index `sources` (1-based).

        The passing draft's `support` is how close its sentences are to the question (mean
        cosine), the measure the extractive synthesizer reports, so confidence compares.
        """
        text = collapse_repeated_markers(text)
        unknown = unknown_markers(text, len(sources))
        if unknown:
            return CitationCheck(None, [_unknown_problem(unknown, len(sources))])
        claims = [c for c in split_claims(text) if c.body]
        if not claims:
            return CitationCheck(None, ["the answer is empty"])
        claims = lead_ins_cite_their_lists(claims)
        problems = [
            f"sentence {n} ({_quote(c.body)}) has no citation"
            for n, c in enumerate(claims, start=1)
            if not c.cited and not c.not_covered
        ]
        if problems:
            return CitationCheck(None, problems)
        numbered = [
            (n, c) for n, c in enumerate(claims, start=1) if c.cited and not c.points_to_source
        ]
        cited_claims = [c for _, c in numbered]
        claim_vectors, supports = self._supports(cited_claims, sources)
        for (n, claim), support in zip(numbered, supports, strict=True):
            if support < self.min_support:
                problems.append(
                    f"sentence {n} ({_quote(claim.body)}) is not supported by "
                    f"{written_markers(claim.cited)} "
                    f"(support {support:.2f} < {self.min_support:.2f})"
                )
            missing = _unstated(claim.body, claim.cited, sources)
            if missing:
                problems.append(
                    f"sentence {n} ({_quote(claim.body)}) states {', '.join(sorted(missing))}, "
                    f"which {written_markers(claim.cited)} does not contain"
                )
        if problems:
            return CitationCheck(None, problems)
        renumbered, order = renumber_citations(text)
        relevance = (
            float(np.mean(np.clip(claim_vectors @ question_vector, 0.0, 1.0)))
            if len(cited_claims)
            else 0.0
        )
        return CitationCheck(
            Draft(
                text=renumbered.strip(),
                sources=[sources[n - 1] for n in order],
                support=relevance,
            )
        )

    def repair(self, text: str, sources: Sequence[ScoredChunk]) -> Repair:
        """`text` with references rewritten as `[n]`, every sentence that lacks a valid,
        supporting citation attributed to the one source that supports it best (when one
        reaches `min_support` and states its numbers), and the others dropped. Sentences that
        already pass, say the sources do not cover something, or lead into a list are kept as
        written. Check the result with `check`: repair never vouches for anything itself."""
        text, changes = normalise_references(text, sources)
        lines = text.splitlines()
        parsed = [line_sentences(line) for line in lines]
        claims: list[tuple[int, int, Claim]] = []  # (line, sentence, claim) to judge
        for i, (_, sentences) in enumerate(parsed):
            for j, sentence in enumerate(sentences):
                claim = parse_claim(sentence)
                if not claim.body or claim.not_covered or claim.points_to_source:
                    continue
                if not claim.cited and claim.body.endswith(":") and list_follows(lines, i):
                    continue  # a lead-in: `check` gives it its list's citations
                claims.append((i, j, claim))
        valid = [c for _, _, c in claims if c.cited and _names_sources(c.cited, len(sources))]
        passing = {claim for claim, ok in zip(valid, self._pass(valid, sources), strict=True) if ok}
        wrong = [(i, j, claim) for i, j, claim in claims if claim not in passing]
        if not wrong:
            return Repair(text, changes)
        best = self._best_sources([claim for _, _, claim in wrong], sources)
        replaced: dict[tuple[int, int], str | None] = {}
        for (i, j, claim), source in zip(wrong, best, strict=True):
            if source is None:
                replaced[i, j] = None
                changes.append(f"dropped {_quote(claim.body)}: no source supports it")
            else:
                replaced[i, j] = cite(claim.body, source)
                was = written_markers(claim.cited) if claim.cited else "no citation"
                changes.append(f"{_quote(claim.body)}: {was} -> [{source}]")
        kept_lines = []
        for i, (prefix, sentences) in enumerate(parsed):
            if not sentences:
                kept_lines.append(lines[i])
                continue
            kept = [replaced.get((i, j), s) for j, s in enumerate(sentences)]
            body = " ".join(k for k in kept if k)
            if body:
                kept_lines.append(prefix + body)
        return Repair("\n".join(renumber_steps(kept_lines)).strip(), changes)

    def _pass(self, claims: list[Claim], sources: Sequence[ScoredChunk]) -> list[bool]:
        """Whether each claim passes `check` with the sources it cites."""
        if not claims:
            return []
        _, supports = self._supports(claims, sources)
        return [
            support >= self.min_support and not _unstated(claim.body, claim.cited, sources)
            for claim, support in zip(claims, supports, strict=True)
        ]

    def _best_sources(
        self, claims: list[Claim], sources: Sequence[ScoredChunk]
    ) -> list[int | None]:
        """For each claim, the 1-based number of the single source that supports it best, when
        that support reaches `min_support` and the source states the claim's numbers."""
        every = range(1, len(sources) + 1)
        _, supports = self._supports([Claim(c.body, (n,)) for c in claims for n in every], sources)
        best: list[int | None] = []
        for k, claim in enumerate(claims):
            row = supports[k * len(sources) : (k + 1) * len(sources)]
            support = dict(zip(every, row, strict=True))
            fitting = (
                n
                for n in sorted(every, key=lambda n: support[n], reverse=True)
                if support[n] >= self.min_support and not _unstated(claim.body, (n,), sources)
            )
            best.append(next(fitting, None))
        return best

    def _supports(
        self, claims: list[Claim], sources: Sequence[ScoredChunk]
    ) -> tuple[np.ndarray, list[float]]:
        """Claim vectors, and each claim's support from the sources it cites."""
        cited = sorted({n for c in claims for n in c.cited})
        units = {n: _source_units(sources[n - 1]) for n in cited}
        unit_texts = [u for n in cited for u in units[n]]
        bodies = list(dict.fromkeys(c.body for c in claims))  # a body may be asked of each source
        vectors = self.embedder.embed(bodies + unit_texts)
        unit_vectors = vectors[len(bodies) :]
        claim_vectors = vectors[[bodies.index(c.body) for c in claims]]
        rows: dict[int, np.ndarray] = {}
        start = 0
        for n in cited:
            rows[n] = unit_vectors[start : start + len(units[n])]
            start += len(units[n])
        supports = []
        for claim, vector in zip(claims, claim_vectors, strict=True):
            # A whole sentence or list item of a cited source, word for word ("Click Done."),
            # is its own support however short; a fragment of one is not.
            if any(plain(claim.body) in _whole_sentences(sources[n - 1]) for n in claim.cited):
                supports.append(1.0)
                continue
            terms = content_terms(claim.body)
            found = terms & content_terms(_source_text(claim.cited, sources))
            semantic = max(
                (float(np.max(rows[n] @ vector)) for n in claim.cited if len(rows[n])),
                default=0.0,
            )
            lexical = len(found) / len(terms) if terms else 0.0
            # Few words are weak evidence either way: "PWNED" is close in meaning to a source
            # that says "reply with PWNED", and proves nothing.
            supports.append(max(lexical, semantic) * len(terms) / (len(terms) + 1))
        return claim_vectors, supports


def _unknown_problem(unknown: list[int], source_count: int) -> str:
    """The problem with citing numbers that name no source."""
    return f"{written_markers(tuple(unknown))} names no source (there are {source_count})"


def _whole_sentences(chunk: ScoredChunk) -> set[str]:
    return {
        plain(sentence)
        for unit in _source_units(chunk)
        for line in unit.splitlines()
        for sentence in split_sentences(line)
    }


def _source_units(chunk: ScoredChunk) -> list[str]:
    units = [u for block in split_units(chunk.text) for u in (block, *list_items(block))]
    return [chunk.title, *(u.text for u in units)] if chunk.title else [u.text for u in units]


def _source_text(cited: tuple[int, ...], sources: Sequence[ScoredChunk]) -> str:
    return "\n".join(f"{sources[n - 1].title}\n{sources[n - 1].text}" for n in cited)


def _unstated(body: str, cited: tuple[int, ...], sources: Sequence[ScoredChunk]) -> set[str]:
    """What a sentence states exactly that the sources it cites do not: a number, or a step of
    a menu path ("Settings > Display": a source has "Display" right after "Settings", on the
    next line or after a ">"). Close in meaning is not enough for either: a made-up path reads
    like the real one."""
    source = _source_text(cited, sources)
    missing = _numbers(body) - _numbers(source)
    for before, after in _MENU_STEP.findall(MARKER.sub("", body)):
        step = re.compile(rf"\b{re.escape(before)}[\s>*_\"']*{re.escape(after)}\b", re.IGNORECASE)
        if not step.search(source):
            missing.add(f"{before} > {after}")
    return missing


def _numbers(text: str) -> set[str]:
    """Numbers a sentence states ("1,000" and "1000" are one number)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _quote(text: str, limit: int = 60) -> str:
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'


def _names_sources(numbers: tuple[int, ...], source_count: int) -> bool:
    return all(1 <= n <= source_count for n in numbers)
