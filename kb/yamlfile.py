"""YAML files people edit by hand, loaded so that every error can name its line.

Mappings and lists come back as dict/list subclasses that remember the line of
each key and item; checkers (crawler/sources.py, kb/people.py) use them to say
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
    result.key_lines = {
        loader.construct_object(key_node): key_node.start_mark.line + 1 for key_node, _ in node.value
    }
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
