"""DiscourseLoader: a forum topic (Discourse `/t/{id}.json`): the question with its answers."""

import json
from pathlib import Path
from typing import Any

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.html_text import html_to_text
from ingest.loaders import LoadContext, read_text
from ingest.metadata import normalize, read_sidecar


def is_discourse_topic(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("post_stream"), dict)


def topic_url(meta_url: str | None, topic: dict[str, Any]) -> str | None:
    """The topic permalink `…/t/slug/ID`, from the sidecar's url or its site root."""
    if not meta_url:
        return None
    base = meta_url.rstrip("/")
    marker = f"/t/{topic.get('slug', '')}/{topic.get('id', '')}"
    if marker in base:
        return base[: base.index(marker) + len(marker)]
    return f"{base.split('/t/')[0]}{marker}"


def whole_number(value: object, *, field: str) -> int:
    """An integer field of the topic JSON (Discourse writes numbers; exports sometimes quote
    them); a LoadError naming the field otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise LoadError(f"{field} is {value!r}, not a whole number")


def topic_posts(topic: dict[str, Any]) -> list[dict[str, Any]]:
    """`post_stream.posts`, checked to be a list of post objects."""
    posts = topic["post_stream"].get("posts", [])
    if not isinstance(posts, list):
        raise LoadError("post_stream.posts must be a list of posts")
    for index, post in enumerate(posts):
        if not isinstance(post, dict):
            raise LoadError(
                f"post_stream.posts[{index}] is a {type(post).__name__}, not a post object "
                "(with post_number, username, cooked)"
            )
    return posts


def accepted_post_number(topic: dict[str, Any]) -> int | None:
    accepted = topic.get("accepted_answer")
    if isinstance(accepted, dict) and accepted.get("post_number"):
        return whole_number(accepted["post_number"], field="accepted_answer.post_number")
    for index, post in enumerate(topic_posts(topic)):
        if post.get("accepted_answer") is True or post.get("accept_answer") is True:
            return whole_number(
                post.get("post_number"), field=f"post_stream.posts[{index}].post_number"
            )
    return None


def is_staff_post(post: dict[str, Any]) -> bool:
    """Written by the vendor's team: Discourse marks staff, moderators and admins."""
    return any(post.get(flag) is True for flag in ("staff", "moderator", "admin"))


class DiscourseLoader:
    source_type = SourceType.THREAD.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        try:
            topic = json.loads(read_text(path))
        except json.JSONDecodeError as exc:
            raise LoadError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        except RecursionError as exc:
            raise LoadError("the JSON is nested too deeply to be a Discourse topic") from exc
        if not is_discourse_topic(topic):
            raise LoadError("not a Discourse topic: expected post_stream.posts")
        meta = normalize(
            {"title": topic.get("title"), "tags": topic.get("tags") or [], **read_sidecar(path)},
            default_audience=context.default_audience,
            where=path.name,
        )
        url = topic_url(meta.get("url"), topic)
        accepted = accepted_post_number(topic)
        reviewed_by_sidecar = "reviewed" in meta
        staff_answered = False
        sections: list[Section] = []
        for index, post in enumerate(topic_posts(topic)):
            text = html_to_text(str(post.get("cooked", "")))
            if not text:
                continue
            number = whole_number(
                post.get("post_number", len(sections) + 1),
                field=f"post_stream.posts[{index}].post_number",
            )
            is_accepted = number == accepted
            role = "question" if number == 1 else "accepted_answer" if is_accepted else "reply"
            label = role.replace("_", " ").capitalize()
            staff = is_staff_post(post)
            staff_answered = staff_answered or (staff and number > 1)
            sections.append(
                Section(
                    text,
                    heading_path=[f"{label} by {post.get('username', 'unknown')}"],
                    url=f"{url}/{number}" if url else None,
                    meta={
                        "post_number": number,
                        "post_role": role,
                        "author": str(post.get("username", "")),
                        "accepted": is_accepted,
                        "like_count": whole_number(
                            post.get("like_count") or 0,
                            field=f"post_stream.posts[{index}].like_count",
                        ),
                        "staff": staff,
                        # A staff post is reviewed even in an unreviewed thread.
                        **({"reviewed": True} if staff and not reviewed_by_sidecar else {}),
                    },
                )
            )
        if not sections:
            raise LoadError("the topic has no posts with text")
        # Community content is unreviewed unless an answer was accepted or written by staff
        # (or the sidecar says otherwise).
        meta.setdefault("reviewed", accepted is not None or staff_answered)
        if url:
            meta["url"] = url
        return [
            context.document(
                path,
                source_type=self.source_type,
                metadata=meta,
                sections=sections,
            )
        ]
