"""What `assistant eval` runs on: a content folder to index and the cases to ask about it.

- default: `corpora/` with the golden set in `evals/golden/`;
- an e-manual QA folder (`docs/` of Markdown sections plus `questions.jsonl` with
  `reference_answer` and `gold_docs`, like ../shared/datasets/samsung-tv): indexed from where it
  lies, never copied, its questions turned into cases;
- any other content folder together with `--cases` (golden JSONL files).
"""

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from evals.cases import Case, CaseError, Turn, load_cases

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
GOLDEN = ROOT / "evals" / "golden"


@dataclass(frozen=True)
class Dataset:
    name: str  # baselines and thresholds apply to the dataset of the same name
    content: Path  # the folder that is ingested
    cases: list[Case]


def load_dataset(path: Path | None = None, *, case_paths: list[Path] | None = None) -> Dataset:
    """The dataset at `path` (default corpora/), with cases from `case_paths` when given.

    Raises CaseError with the fix when the folder or the cases cannot be used.
    """
    content = (path or CORPORA).resolve()
    if not content.is_dir():
        raise CaseError(f"{content}: no such folder; --dataset takes a folder of content")
    cases: list[Case] = []
    if is_emanual(content):
        cases += emanual_cases(content / "questions.jsonl")
        name, folder = content.name, content / "docs"
    else:
        name, folder = content.name, content
    if case_paths:
        for case_path in case_paths:
            cases += load_cases(case_path)
    elif content == CORPORA.resolve():
        cases += load_cases(GOLDEN)
    if not cases:
        raise CaseError(
            f"{content}: no cases to ask. Give golden JSONL files with --cases FILE_OR_FOLDER "
            "(format in evals/README.md), or a folder with docs/ and questions.jsonl."
        )
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CaseError(f"case ids used twice across the case files: {', '.join(duplicates)}")
    return Dataset(name=name, content=folder, cases=cases)


def is_emanual(folder: Path) -> bool:
    return (folder / "questions.jsonl").is_file() and (folder / "docs").is_dir()


def emanual_cases(questions: Path) -> list[Case]:
    """e-manual QA rows → public customer cases; `gold_docs` name files in docs/, which is
    also how our ingest names those documents (relative to the folder ingested)."""
    cases = []
    for number, line in enumerate(questions.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            turn = Turn(
                question=row["question"],
                reference_answer=row.get("reference_answer") or None,
                reference_documents=tuple(row.get("gold_docs") or ()),
                kind="kb",
            )
            case_id = str(row["id"])
        except KeyError as exc:
            raise CaseError(f"{questions}:{number}: missing field {exc.args[0]!r}") from None
        cases.append(Case(id=case_id, turns=(turn,), kind="kb", source=f"{questions}:{number}"))
    return cases


def sample(dataset: Dataset, *, per_kind: int) -> Dataset:
    """The first `per_kind` cases of each kind in each case file: a quick, repeatable subset
    that still has every kind of case (agent, conversation, refusal...)."""
    taken: Counter[tuple[str, str]] = Counter()
    cases = []
    for case in dataset.cases:
        group = (case.source.rsplit(":", 1)[0], case.kind)
        if taken[group] < per_kind:
            taken[group] += 1
            cases.append(case)
    return replace(dataset, cases=cases)
