"""LLM answers on the Samsung TV e-manual beside the extractive ones, in the same run and from the
same retrieval: the local model `make llm` serves, or any OpenAI-compatible endpoint.

Both systems answer through the Answerer as `assistant ask` does (retrieve 8 chunks, synthesize,
check, score confidence), the LLM one streaming as the chat page does. Per system: answer rate,
gold section cited (the 38 questions with gold sections), ROUGE-L recall and precision against
the experts' answers, median words, MiniLM semantic similarity, latency per answer (p50, p95),
on all questions, the dev and held-out parts, and the questions whose LLM answer was shown.
"llm as written" scores the model's own text, whether or not it passed the check. For the LLM
also:

- citation check, as written: the model's own text (recorded off the wire) passes the check
  unchanged;
- citation check, as shown: the answer shown is the LLM's, not the extractive fallback (after
  any repair the synthesizer makes; a repaired draft passed the same check);
- a cited LLM answer shown: passed, and more than "The sources do not cover ..." (which passes
  the check but cites nothing, so the answerer refuses it);
- shown answers whose every sentence the check finds supported by the source it cites, checked
  again on the draft as shown;
- why the others fell back, seconds to the first shown text, and the model's speed: prompt
  tokens per second up to its first token, generated tokens per second after it.

`--sample N` answers the first N questions of the dev part only (not the held-out third).

    .venv/bin/python -m benchmarks.llm_answers [--base-url URL] [--model NAME] [--sample N]
"""

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

import httpx
import numpy as np

from assistant.answering.answerer import Answerer
from assistant.answering.claims import MARKER, split_claims
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.answering.synthesizers.openai_compatible import OpenAISynthesizer, answer_text
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.types import Done, Draft, Finished, ScoredChunk, StreamEvent, TextDelta
from assistant.wiring import build_embedder, build_synthesizer
from benchmarks.answers import scored, summary
from benchmarks.common import (
    SAMSUNG,
    document_name,
    held_out,
    index_dataset,
    load_questions,
    print_table,
    write_results,
)
from scripts.local_llm import DEFAULT_PORT, MODEL_ALIAS

EXTRACTIVE, LLM = "extractive", "llm"
# The model's text as it wrote it, checked or not: what it would say without the check.
WRITTEN = "llm as written"


@dataclass
class Completion:
    """One chat completion as it crossed the wire: when its bytes came and what they said."""

    sent: float
    first_token: float | None = None
    finished: float | None = None
    text: str = ""
    tokens: int = 0  # streamed chunks with text; llama.cpp's server sends one per token
    body: bytearray = field(default_factory=bytearray)

    def read(self, data: bytes) -> None:
        now = time.perf_counter()
        self.body += data
        *lines, rest = self.body.split(b"\n")
        self.body = bytearray(rest)
        for line in lines:
            if not line.startswith(b"data: {"):
                continue
            choices = json.loads(line[len(b"data: ") :]).get("choices") or [{}]
            piece = (choices[0].get("delta") or {}).get("content")
            if piece:
                self.first_token = self.first_token or now
                self.text += piece
                self.tokens += 1


class _Tee(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, completion: Completion) -> None:
        self.inner = inner
        self.completion = completion

    def __iter__(self) -> Iterator[bytes]:
        for data in self.inner:
            self.completion.read(data)
            yield data

    def close(self) -> None:
        self.completion.finished = time.perf_counter()
        self.inner.close()


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to the endpoint and keeps a copy of each streamed completion: the
    synthesizer shows only what survives its check, the benchmark also wants what was written."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.completions: list[Completion] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        completion = Completion(sent=time.perf_counter())
        response = self.inner.handle_request(request)
        self.completions.append(completion)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Tee(response.stream, completion),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


@dataclass
class Synthesis:
    """One call of the LLM synthesizer: what it was given and the draft it returned."""

    question: str
    chunks: list[ScoredChunk]
    question_vector: np.ndarray
    draft: Draft | None = None
    first_text: float | None = None


class RecordedSynthesizer:
    """The LLM synthesizer, its calls kept for the benchmark; answers are unchanged."""

    def __init__(self, inner: OpenAISynthesizer) -> None:
        self.inner = inner
        self.calls: list[Synthesis] = []

    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft:
        call = Synthesis(question, list(chunks), question_vector)
        self.calls.append(call)
        call.draft = self.inner.synthesize(question, chunks, question_vector=question_vector)
        return call.draft

    def stream(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Iterator[StreamEvent]:
        call = Synthesis(question, list(chunks), question_vector)
        self.calls.append(call)
        for event in self.inner.stream(question, chunks, question_vector=question_vector):
            if isinstance(event, TextDelta) and call.first_text is None:
                call.first_text = time.perf_counter()
            if isinstance(event, Done):
                call.draft = event.draft
            yield event


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SAMSUNG)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{DEFAULT_PORT}/v1")
    parser.add_argument("--model", default=MODEL_ALIAS)
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="LLM_TIMEOUT_SECONDS for the run: long enough that a slow answer on a busy "
        "machine is measured, not replaced by the fallback",
    )
    parser.add_argument("--sample", type=int, default=None, help="first N dev questions only")
    parser.add_argument(
        "--max-sources",
        type=int,
        default=Settings.model_fields["llm_max_sources"].default,
        help="LLM_MAX_SOURCES for the run: retrieved chunks the LLM reads",
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    cases = load_questions(args.dataset)
    if args.sample:
        cases = [c for c in cases if not held_out(c["id"])][: args.sample]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        LLM_BASE_URL=args.base_url,
        LLM_MODEL=args.model,
        LLM_TIMEOUT_SECONDS=args.timeout,
        LLM_MAX_SOURCES=args.max_sources,
    )
    embedder = build_embedder(settings)
    llm = build_synthesizer(settings, embedder=embedder)
    assert isinstance(llm, OpenAISynthesizer)
    transport = RecordingTransport()
    llm.client = llm.client.with_options(http_client=httpx.Client(transport=transport))
    recorded = RecordedSynthesizer(llm)

    rows: dict[str, list[dict[str, Any]]] = {EXTRACTIVE: [], LLM: [], WRITTEN: []}
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=8)
        scorer = ConfidenceScorer(store)  # one for every answerer over this store
        answerers = {
            EXTRACTIVE: Answerer(
                retriever,
                ExtractiveSynthesizer(embedder),
                embedder=embedder,
                scorer=scorer,
            ),
            LLM: Answerer(retriever, recorded, embedder=embedder, scorer=scorer),
        }
        for n, case in enumerate(cases, start=1):
            for name, answerer in answerers.items():
                recorded.calls.clear()
                transport.completions.clear()
                started = time.perf_counter()
                finished = _finished(answerer.stream(case["question"]))
                seconds = time.perf_counter() - started
                answer = finished.answer
                cited = {document_name(c.document) for c in answer.citations}
                row = _scored(case, "" if answer.refused else answer.answer, cited, seconds)
                row["warnings"] = answer.warnings
                if name == LLM:
                    details = _llm_details(llm, recorded.calls, transport.completions, started)
                    row.update(details)
                    written = _scored(
                        case, details["written"], set(details["written_cited"]), seconds
                    )
                    rows[WRITTEN].append(written)
                rows[name].append(row)
            llm_row = rows[LLM][-1]
            print(
                f"[{n:2}/{len(cases)}] {case['id']}: {llm_row['seconds']:.1f} s, "
                f"{'raw pass' if llm_row['raw_passed'] else 'raw FAIL'}, "
                f"{'shown' if llm_row['shown'] else 'fell back'}",
                flush=True,
            )
        store.close()
    transport.close()
    references = embedder.embed([c["reference_answer"] for c in cases])
    for items in rows.values():
        vectors = embedder.embed([str(i["text"]) or " " for i in items])
        for item, similarity in zip(items, np.sum(vectors * references, axis=1), strict=True):
            item["semantic_similarity"] = float(similarity) if item["answered"] else 0.0
    results = _results(rows)
    _print(results, len(cases))
    data = {
        "questions": len(cases),
        "sample": f"first {args.sample} dev questions" if args.sample else "all",
        "endpoint": {
            "base_url": args.base_url,
            "model": args.model,
            "timeout_s": args.timeout,
            "max_sources": args.max_sources,
        },
        "results": results,
        "answers": rows,
    }
    path = write_results("llm_answers", data, args.out)
    print(f"wrote {path}")


def _finished(events: Iterator[Any]) -> Finished:
    final = None
    for event in events:
        if isinstance(event, Finished):
            final = event
    assert final is not None
    return final


def _scored(case: dict[str, Any], text: str, cited: set[str], seconds: float) -> dict[str, Any]:
    return {**scored(case, text, cited), "seconds": seconds}


def _llm_details(
    llm: OpenAISynthesizer,
    calls: list[Synthesis],
    completions: list[Completion],
    started: float,
) -> dict[str, Any]:
    """How the LLM's first (the answer's) synthesis went: its text as written and as shown."""
    call, completion = calls[0], completions[0] if completions else None
    assert call.draft is not None
    written = answer_text(completion.text) if completion else ""
    sources = llm._sources(call.chunks)  # the ones the model saw, numbered as it saw them
    raw = llm.checker.check(written, sources, question_vector=call.question_vector)
    shown = not call.draft.fallback
    again = (
        llm.checker.check(call.draft.text, call.draft.sources, question_vector=call.question_vector)
        if shown
        else None
    )
    details: dict[str, Any] = {
        "raw_passed": raw.draft is not None,
        # Only "The sources do not cover ..." sentences: passes the check, cites nothing, and
        # the answerer refuses it, even where the extractive answer had one.
        "not_covered_only": all(c.not_covered for c in split_claims(written) if c.body),
        "raw_problems": raw.problems,
        "shown": shown,
        "shown_supported": again is not None and again.draft is not None,
        "fallback_reason": None if shown else (call.draft.warnings or ["?"])[-1],
        "written": written,
        "written_cited": sorted(
            {
                document_name(sources[n - 1].document)
                for match in MARKER.finditer(written)
                for n in map(int, match.group(1).replace(" ", "").split(","))
                if 1 <= n <= len(sources)
            }
        ),
        "first_text_s": call.first_text - started if call.first_text else None,
        "llm_calls": len(completions),
    }
    if completion and completion.first_token and completion.finished:
        generating = completion.finished - completion.first_token
        details["prompt_s"] = completion.first_token - completion.sent
        details["tokens"] = completion.tokens
        details["tokens_per_s"] = completion.tokens / generating if generating > 0 else None
    return details


def _results(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    llm = rows[LLM]
    shown_ids = {i["id"] for i in llm if i["shown"]}
    for name, items in rows.items():
        parts = {
            "dev": [i for i in items if not i["held_out"]],
            "held_out": [i for i in items if i["held_out"]],
            "all": items,
            # the questions whose LLM answer was shown, the fallbacks left out
            "llm_shown": [i for i in items if i["id"] in shown_ids],
        }
        results[name] = {part: summary(some) for part, some in parts.items() if some}
        results[name]["p50_s"] = float(np.percentile([i["seconds"] for i in items], 50))
        results[name]["p95_s"] = float(np.percentile([i["seconds"] for i in items], 95))
    shown = [i for i in llm if i["shown"]]
    timed = [i for i in llm if i.get("tokens_per_s")]
    first = [i["first_text_s"] for i in llm if i["first_text_s"] is not None]
    results[LLM].update(
        {
            "citation_check_passed_as_written": mean(i["raw_passed"] for i in llm),
            "citation_check_passed_as_shown": mean(i["shown"] for i in llm),
            # shown, and an answer with citations rather than "the sources do not cover it"
            "llm_cited_answer_shown": mean(i["shown"] and bool(i["answered"]) for i in llm),
            "said_not_covered_only": mean(i["not_covered_only"] for i in llm),
            "shown_every_sentence_supported": (
                mean(i["shown_supported"] for i in shown) if shown else None
            ),
            "problems_as_written": dict(
                Counter(_kind(p) for i in llm for p in i["raw_problems"]).most_common()
            ),
            "fallback_reasons": dict(
                Counter(_kind(i["fallback_reason"]) for i in llm if not i["shown"]).most_common()
            ),
            "first_text_p50_s": float(np.percentile(first, 50)) if first else None,
            "prompt_p50_s": float(np.percentile([i["prompt_s"] for i in timed], 50))
            if timed
            else None,
            "tokens_per_s": (
                sum(i["tokens"] for i in timed)
                / sum(i["tokens"] / i["tokens_per_s"] for i in timed)
                if timed
                else None
            ),
            "median_tokens": float(np.median([i["tokens"] for i in timed])) if timed else None,
        }
    )
    return results


def _kind(problem: str) -> str:
    """A check's problem or a fallback's warning without the sentence it quotes, so that
    failures that are alike count together."""
    kinds = {
        "has no citation": "a sentence without a citation",
        "is not supported by": "a sentence its source does not support",
        "names no source": "a citation of no source",
        ", which [": "a number its source does not state",
        "the answer is empty": "no answer",
    }
    for marker, kind in kinds.items():
        if marker in problem:
            return kind
    if problem.startswith("LLM answer unavailable: "):
        return problem.split(";")[0].removeprefix("LLM answer unavailable: ")
    return problem


def _print(results: dict[str, Any], questions: int) -> None:
    print(f"\n{questions} questions\n")
    headers = ["system", "part", "answered", "gold cited", "R-L recall", "R-L precision"]
    headers += ["median words", "p50 s", "p95 s"]
    print_table(
        headers,
        [
            [
                name,
                part,
                r[part]["answer_rate"],
                r[part]["gold_section_cited"],
                r[part]["rouge_l_recall"],
                r[part]["rouge_l_precision"],
                r[part]["median_words"],
                r["p50_s"],
                r["p95_s"],
            ]
            for name, r in results.items()
            for part in ("dev", "held_out", "all", "llm_shown")
            if part in r
        ],
    )
    llm = results[LLM]
    print(
        f"\ncitation check passed: {llm['citation_check_passed_as_written']:.0%} as written, "
        f"{llm['citation_check_passed_as_shown']:.0%} as shown (the rest fell back: "
        f"{llm['fallback_reasons']}); a cited LLM answer shown: "
        f"{llm['llm_cited_answer_shown']:.0%}; only 'the sources do not cover': "
        f"{llm['said_not_covered_only']:.0%}"
    )
    if llm["shown_every_sentence_supported"] is not None:
        print(f"shown answers fully supported: {llm['shown_every_sentence_supported']:.0%}")
    if llm["tokens_per_s"]:
        print(
            f"first shown text p50 {llm['first_text_p50_s']:.1f} s; prompt p50 "
            f"{llm['prompt_p50_s']:.1f} s; {llm['tokens_per_s']:.1f} generated tokens/s; "
            f"median answer {llm['median_tokens']:.0f} tokens"
        )


if __name__ == "__main__":
    main()
