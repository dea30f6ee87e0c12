"""`scrapy crawl articles -a sources=FILE -s KB_DB=kb.db`: Scrapy's own crawl command, with the
sources file read first, so a mistake in it is one line and exit 2 rather than a traceback."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from ..sources import SourcesError, load_sources
from ..spiders.articles import ArticlesSpider


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args[:1] == [ArticlesSpider.name] and "config" not in opts.spargs:
            try:
                opts.spargs["config"] = load_sources(opts.spargs.pop("sources", "sources.yml"))
            except SourcesError as e:
                raise UsageError(str(e), print_help=False) from None
        super().run(args, opts)
