"""topics.yml: a small editable taxonomy of math topics, and tagging passages with it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..defaults import default_file
from ..yamlfile import YamlFileError, read_list_file

DEFAULT_TOPICS_FILE = default_file("topics.yml")
TOPIC_KEYS = ("name", "terms")


class TopicsError(YamlFileError):
    """topics.yml cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Topic:
    name: str
    terms: tuple[str, ...]

    @functools.cached_property  # built once per topic, not once per passage tagged
    def pattern(self) -> re.Pattern:
        words = sorted(self.terms, key=len, reverse=True)
        return re.compile(
            r"(?<!\w)(?:" + "|".join(r"\s+".join(map(re.escape, t.split())) for t in words) + r")(?!\w)", re.IGNORECASE
        )


def load_topics(path: str | Path = DEFAULT_TOPICS_FILE) -> list[Topic]:
    _, entries = read_list_file(path, "topics", "topic", TOPIC_KEYS, TopicsError)
    topics = []
    for entry, line in entries:
        name, terms = entry.get("name"), entry.get("terms")
        if not isinstance(name, str) or not name.strip():
            raise TopicsError(f"{path}:{line}: a topic needs a 'name'")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
            raise TopicsError(f"{path}:{entry.key_lines.get('terms', line)}: topic '{name}' needs a list of 'terms'")
        topics.append(Topic(name.strip(), tuple(t.strip() for t in terms)))
    return topics


def tag(text: str, topics: list[Topic]) -> dict[str, int]:
    """{topic name: number of term mentions} for the topics ``text`` mentions."""
    found = {}
    for topic in topics:
        count = len(topic.pattern.findall(text))
        if count:
            found[topic.name] = count
    return found
