"""The knowledge-gap report's shape (GET /v1/analytics/gaps, `assistant gaps`): groups of
questions the content did not answer, with what was used and who helped."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from assistant.analytics.resolution import ResolutionReport

# `unresolved`: the question's conversation ended unresolved (on a refusal or a thumbs down)
# though the question itself was answered well enough and not rated down; a question that is
# a gap for another reason counts for that reason alone.
Reason = Literal["refused", "low_confidence", "thumbs_down", "unresolved"]
Trend = Literal["new", "up", "down", "flat"]


class GapExample(BaseModel):
    question: str = Field(description="As asked, redacted.")
    query: str = Field(description="The standalone query that was searched.")
    asked_at: dt.datetime
    reasons: list[Reason]
    confidence: float
    audience: str
    mode: str


class NearestContent(BaseModel):
    document: str
    title: str
    source_type: str
    url: str | None = None
    found_by: Literal["cited", "search"] = Field(
        description="`cited`: the group's weak answers cited it (it was found, it did not "
        "serve); `search`: the closest content to the group's questions."
    )
    similarity: float | None = Field(
        default=None, description="Search only: cosine between the group and the content."
    )


class GapGroup(BaseModel):
    id: str = Field(description="Stable while the group's most representative query is.")
    label: str = Field(description="The group's most representative question.")
    terms: list[str] = Field(description="Content words the group's questions share most.")
    count: int = Field(description="Gap questions in the window.")
    previous_count: int = Field(description="Similar gap questions in the window before.")
    trend: Trend
    reasons: dict[str, int] = Field(description="Questions per reason (one may have several).")
    action: Literal["fix", "write"]
    suggestion: str = Field(description='What to do: "fix <document>" or "no content: write it".')
    nearest: NearestContent | None
    audience: str = Field(description="The audience most of these questions came from.")
    mode: str = Field(description="The mode most of these questions were asked in.")
    examples: list[GapExample] = Field(description="Up to five, most representative first.")
    questions: list[str] = Field(description="Every distinct question of the group (up to 50).")
    queries: list[str] = Field(default_factory=list, exclude=True)  # standalone, all of them


class DocumentUse(BaseModel):
    document: str
    title: str
    source_type: str
    citations: int = Field(description="Answers citing it in the window.")


class Contributor(BaseModel):
    author: str
    answers: int = Field(description="Answered questions citing the author's forum posts.")


class KindRate(BaseModel):
    kind: str = Field(
        description="The kind of the content a question was answered from or, "
        "when refused, of the nearest content."
    )
    questions: int
    answered: int
    answer_rate: float


class GapReport(BaseModel):
    since: dt.datetime
    until: dt.datetime
    generated_at: dt.datetime
    low_confidence_below: float
    questions: int
    answered: int
    refused: int
    low_confidence: int
    thumbs_down: int
    unresolved: int = Field(
        default=0,
        description="Questions that are gaps only because their conversation ended unresolved.",
    )
    answer_rate: float
    groups: list[GapGroup]
    most_cited: list[DocumentUse]
    never_cited: list[str] = Field(description="Indexed documents no answer cited.")
    answer_rate_by_kind: list[KindRate]
    top_contributors: list[Contributor] = Field(
        default_factory=list,
        description="Community members whose forum posts answered the most questions.",
    )
    resolution: ResolutionReport | None = Field(
        default=None,
        description="Whether conversations of the period were resolved (GET "
        "/v1/analytics/resolution has it alone).",
    )
