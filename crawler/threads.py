"""Discussion threads as documents: a Hacker News item or a Reddit thread, one paragraph per comment.

Hacker News threads are read from the Algolia HN API (``/api/v1/items/ID``:
the item with all its comments in one request, where the official API needs
one request per comment); Reddit threads from the thread's ``.json``. Each
comment keeps its author's handle (a pseudonym: ``u/name`` on Reddit,
``name (Hacker News)``, never taken for a real name), its score where the
site gives one, its parent, its time and a link to the comment itself.
Deleted and removed comments are skipped and counted. Comments are in the
order they were written, so a thread that grew keeps its earlier passages
and only its new comments are stored and embedded again.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin

from .transcripts import TranscriptError

HN_ITEM_URL = "https://news.ycombinator.com/item?id={}"
_GONE_BODIES = ("[deleted]", "[removed]")


@dataclass
class Comment:
    id: str
    author: str  # the handle, as a pseudonymous person's name
    text: str
    created: float  # seconds since the epoch
    parent: str | None
    url: str
    score: int | None = None


@dataclass
class Thread:
    url: str  # the thread's page (not the API's JSON)
    title: str | None
    published: str | None
    comments: list[Comment]
    skipped: int  # deleted or removed comments
    total: int  # comments the thread has, kept or not


def read_thread(kind: str, body: bytes, url: str, max_comments: int) -> Thread:
    """The thread in ``body`` (``kind`` hn or reddit), fetched from ``url``; TranscriptError (kind
    "not a thread") when it is not one. At most ``max_comments`` comments are kept, the earliest."""
    try:
        data = json.loads(body)
        thread = _hn(data) if kind == "hn" else _reddit(data, url)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise TranscriptError(f"not a {kind} thread: {type(e).__name__}: {e}", "not a thread") from None
    thread.comments.sort(key=lambda c: (c.created, c.id))
    thread.total = len(thread.comments) + thread.skipped
    del thread.comments[max_comments:]
    return thread


def _hn(item: dict) -> Thread:
    if not isinstance(item, dict) or "children" not in item or "id" not in item:
        raise ValueError("no item with children")
    comments, skipped = [], 0
    stack = [(child, item["id"]) for child in item["children"]]
    while stack:
        node, parent = stack.pop()
        stack.extend((child, node["id"]) for child in node.get("children") or [])
        text = _plain(node.get("text"))
        if not node.get("author") or not text:
            skipped += 1
            continue
        comments.append(
            Comment(
                str(node["id"]),
                f"{node['author']} (Hacker News)",
                text,
                float(node.get("created_at_i") or 0),
                str(parent),
                HN_ITEM_URL.format(node["id"]),
                node.get("points"),
            )
        )
    created = item.get("created_at_i")
    return Thread(HN_ITEM_URL.format(item["id"]), item.get("title"), _date(created), comments, skipped, 0)


def _reddit(listings: list, url: str) -> Thread:
    post = listings[0]["data"]["children"][0]["data"]
    page = url.split("?")[0].removesuffix(".json").removesuffix("/") + "/"
    comments, skipped = [], 0
    stack = list(listings[1]["data"]["children"])
    while stack:
        node = stack.pop()
        if node.get("kind") != "t1":  # "more": comments the listing did not include
            continue
        data = node["data"]
        replies = data.get("replies")
        if isinstance(replies, dict):
            stack.extend(replies["data"]["children"])
        body = " ".join((data.get("body") or "").split())
        if data.get("author") in (None, "[deleted]") or not body or body in _GONE_BODIES:
            skipped += 1
            continue
        comments.append(
            Comment(
                str(data["id"]),
                f"u/{data['author']}",
                body,
                float(data.get("created_utc") or 0),
                str(data.get("parent_id") or "") or None,
                urljoin(page, data.get("permalink") or ""),
                data.get("score"),
            )
        )
    return Thread(page, post.get("title"), _date(post.get("created_utc")), comments, skipped, 0)


def _plain(markup: str | None) -> str:
    """An HN comment's HTML as one line of text."""
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<p>", " ", markup or ""))
    return " ".join(html.unescape(text).split())


def _date(epoch) -> str | None:
    return datetime.fromtimestamp(float(epoch), timezone.utc).date().isoformat() if epoch else None


def thread_text(thread: Thread) -> tuple[str, list[dict]]:
    """The document's text (one paragraph per comment, "author: text") and its segments: each
    comment's offsets, author, and what the thread says of it (id, parent, score, time, link)."""
    parts, segments, offset = [], [], 0
    for comment in thread.comments:
        label = f"{comment.author}: "
        parts.append(label + comment.text)
        segments.append(
            {
                "start": offset + len(label),
                "end": offset + len(label) + len(comment.text),
                "speaker": comment.author,
                "pseudonym": True,
                "seconds": None,
                "end_seconds": None,
                "comment": comment.id,
                "parent": comment.parent,
                "score": comment.score,
                "created": datetime.fromtimestamp(comment.created, timezone.utc).isoformat(timespec="seconds"),
                "url": comment.url,
            }
        )
        offset += len(parts[-1]) + 2
    return "\n\n".join(parts), segments
