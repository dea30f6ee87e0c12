"""YAML files people edit by hand, loaded so that every error can name its line.

Mappings and lists come back as dict/list subclasses that remember the line of
each key and item; checkers (crawler/sources.py, kb/analysis/people.py) use them to say
``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

import difflib

import yaml


class Mapping(dict):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int
    key_lines: dict


class Sequence(list):
    """A YAML list that remembers the line of each item."""

    line: int
    lines: list


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Mapping:
    result = Mapping(loader.construct_mapping(node, deep=True))
    result.line = node.start_mark.line + 1
    result.key_lines = {loader.construct_object(key_node): key_node.start_mark.line + 1 for key_node, _ in node.value}
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_sequence(node, deep=True))
    result.line = node.start_mark.line + 1
    result.lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str, path: str):
    """Parse YAML text; raises ValueError("PATH:LINE: not valid YAML: ...")."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else "?"
        raise ValueError(f"{path}:{line}: not valid YAML: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None


def unknown_key_message(key, allowed: tuple[str, ...], where: str) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
    return f"unknown key '{key}' in {where}{hint}"


class YamlFileError(ValueError):
    """A hand-edited YAML file cannot be used; the message names the file and line."""


def read_yaml_file(path, error: type[YamlFileError] = YamlFileError):
    """Read and parse a YAML file; ``error`` (naming the file, and the line where known) if either fails."""
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot read: {e}") from None
    try:
        return load_yaml(text, str(path))
    except ValueError as e:
        raise error(str(e)) from None


def read_list_file(
    path,
    list_key: str,
    item_name: str,
    item_keys: tuple[str, ...],
    error: type[YamlFileError] = YamlFileError,
    top_keys: tuple[str, ...] | None = None,
    min_items: int = 1,
) -> tuple[Mapping, list[tuple[Mapping, int]]]:
    """Read a file whose heart is a list of mappings (``people:``, ``topics:``, ...).

    Checks the shape and the keys, so each loader only checks values; returns
    the top-level mapping and (entry, line) for each item.
    """
    data = read_yaml_file(path, error)
    items = data.get(list_key) if isinstance(data, Mapping) else None
    if not isinstance(items, Sequence) or len(items) < min_items:
        at_least = f" of at least {min_items} {item_name}s" if min_items > 1 else ""
        raise error(f"{path}:{getattr(data, 'line', 1)}: expected a '{list_key}:' list{at_least}")
    for key, line in data.key_lines.items():
        if key not in (top_keys or (list_key,)):
            raise error(f"{path}:{line}: {unknown_key_message(key, top_keys or (list_key,), 'top level')}")
    entries = []
    for entry, line in zip(items, items.lines):
        if not isinstance(entry, Mapping):
            raise error(f"{path}:{line}: each {item_name} must be a mapping of {', '.join(item_keys)}")
        for key, key_line in entry.key_lines.items():
            if key not in item_keys:
                raise error(f"{path}:{key_line}: {unknown_key_message(key, item_keys, item_name)}")
        entries.append((entry, line))
    return data, entries
