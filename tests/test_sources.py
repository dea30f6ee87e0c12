"""The sources file: valid files load, every mistake names its file and line."""

from pathlib import Path

import pytest

from crawler.sources import SourcesError, load_sources, parse_sources

ROOT = Path(__file__).resolve().parent.parent

VALID = """\
user_agent: "test-agent (+http://example.org/contact)"
download_delay: 0.5
sources:
  - name: site-a
    start_urls:
      - http://127.0.0.1:8123/
    feeds: [http://127.0.0.1:8123/feed.xml]
    allow: ['/articles/']
    deny: ['/articles/drafts/']
    max_depth: 1
"""


def test_valid_file_loads_every_field():
    config = parse_sources(VALID, "s.yml")
    assert config.user_agent == "test-agent (+http://example.org/contact)"
    assert config.download_delay == 0.5
    (source,) = config.sources
    assert source.name == "site-a"
    assert source.start_urls == ("http://127.0.0.1:8123/",)
    assert source.feeds == ("http://127.0.0.1:8123/feed.xml",)
    assert source.max_depth == 1
    assert source.robots_sitemaps is True


def test_article_rules_and_hosts():
    source = parse_sources(VALID).sources[0]
    assert source.is_article("http://127.0.0.1:8123/articles/one.html")
    assert not source.is_article("http://127.0.0.1:8123/about.html")  # not allowed
    assert not source.is_article("http://127.0.0.1:8123/articles/drafts/x.html")  # denied
    # Naming 127.0.0.1:8123 does not open the host's other ports.
    assert not source.owns("http://127.0.0.1:6379/articles/one.html")
    assert not source.is_article("http://example.org/articles/one.html")


def test_repository_default_sources_file_is_valid():
    config = load_sources(ROOT / "sources.yml")
    names = {s.name for s in config.sources}
    assert {"the-batch", "lazyprogrammer"} <= names
    urls = [u for s in config.sources for u in s.start_urls]
    assert "https://www.deeplearning.ai/the-batch/how-to-learn-math-for-machine-learning/" in urls
    assert "https://lazyprogrammer.me/why-do-you-need-math-for-machine-learning-and-deep-learning/" in urls
    for source in config.sources:
        for url in source.start_urls[:2]:
            assert source.owns(url)


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("sources:\n  - name: a\n    start_urls: [http://x.org/]\n    alow: [x]\n", 4, "did you mean 'allow'"),
        ("sources:\n  - name: a\n    start_urls: [ftp://x.org/]\n", 3, "not an http(s) URL"),
        ("sources:\n  - name: a\n    start_urls: http://x.org/\n", 3, "must be a list"),
        ("sources:\n  - name: a\n    start_urls: [http://x.org/]\n    allow:\n      - '('\n", 5, "not a valid regex"),
        ("sources:\n  - name: a\n    start_urls: [http://x.org/]\n    max_depth: -1\n", 4, "max_depth"),
        ("sources:\n  - name: a\n    start_urls: [http://x.org/]\n    max_pages: 0\n", 4, "max_pages"),
        (
            "download_timeout: 0\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n",
            1,
            "'download_timeout' must be",
        ),
        (
            "download_timeout: soon\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n",
            1,
            "'download_timeout' must be",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.org/]\n  - name: a\n    start_urls: [http://y.org/]\n",
            4,
            "duplicate source name",
        ),
        ("sources:\n  - name: a\n", 2, "needs at least one of start_urls"),
        ("sources:\n  - start_urls: [http://x.org/]\n", 2, "needs a 'name'"),
        ("sourcs:\n  - name: a\n", 1, "did you mean 'sources'"),
        ("sources: []\n", 1, "non-empty list"),
        ("download_delay: fast\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n", 1, "download_delay"),
        ("sources:\n  - name: a\n    start_urls: [http://x.org/\n", 4, "not valid YAML"),
        ("", 1, "expected a mapping"),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.org/]\n    min_relevance: 2\n",
            4,
            "'min_relevance' must be a number from 0 to 1",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.org/]\n    min_relevance: high\n",
            4,
            "'min_relevance' must be",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.org/]\n    focus: sometimes\n",
            4,
            "'focus' must be true or false",
        ),
        (
            "pdf_max_mb: 0\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n",
            1,
            "'pdf_max_mb' must be a number > 0",
        ),
        (
            "pdf_max_pages: 2.5\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n",
            1,
            "'pdf_max_pages' must be a whole number",
        ),
        (
            "pdf_max_seconds: soon\nsources:\n  - name: a\n    start_urls: [http://x.org/]\n",
            1,
            "'pdf_max_seconds' must be",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.org/]\n    focus: false\n    min_relevance: 0.3\n",
            5,
            "'min_relevance' needs focus",
        ),
    ],
)
def test_mistakes_name_file_and_line(text, line, fragment):
    with pytest.raises(SourcesError) as info:
        parse_sources(text, "my-sources.yml")
    message = str(info.value)
    assert message.startswith(f"my-sources.yml:{line}:"), message
    assert fragment in message


def test_pdfs_are_articles_unless_denied():
    source = parse_sources(VALID).sources[0]  # allow: /articles/, deny: /articles/drafts/
    assert source.is_article("http://127.0.0.1:8123/papers/chapter.PDF")
    assert not source.is_article("http://127.0.0.1:8123/articles/drafts/chapter.pdf")
    assert not source.is_article("http://example.org/chapter.pdf")  # not the source's host
    config = parse_sources("pdf_max_mb: 2.5\npdf_max_pages: 50\n" + VALID.split("\n", 2)[2])
    assert (config.pdf_max_mb, config.pdf_max_pages, config.pdf_max_seconds) == (2.5, 50, 30.0)


def test_focus_settings():
    base = "sources:\n  - name: a\n    start_urls: [http://x.org/]\n"
    assert parse_sources(base).sources[0].focus is False
    assert parse_sources(base + "    focus: true\n").sources[0].focus is True
    focused = parse_sources(base + "    min_relevance: 0.25\n").sources[0]
    assert (focused.focus, focused.min_relevance) == (True, 0.25)  # a minimum implies focus


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourcesError, match="sources file not found"):
        load_sources(tmp_path / "nope.yml")


def test_user_agent_contact_and_hosts_of_the_whole_file():
    anonymous = parse_sources("sources:\n  - name: a\n    start_urls: [http://x.org/]\n")
    assert not anonymous.names_contact  # kb crawl warns about this
    body = "sources:\n  - name: a\n    start_urls: [http://x.org/]\n"
    assert parse_sources('user_agent: "bot (+https://me.example/bot)"\n' + body).names_contact
    assert parse_sources('user_agent: "bot (ops@me.example)"\n' + body).names_contact
    both = parse_sources(
        "sources:\n  - name: a\n    start_urls: [http://x.org:8080/]\n"
        "  - name: b\n    feeds: ['https://y.org:443/feed']\n"
    )
    assert both.hosts == {"x.org:8080", "y.org"}
    ipv6 = parse_sources("sources:\n  - name: a\n    start_urls: ['http://[::1]:8080/', 'http://[FE80::1]/']\n")
    assert ipv6.hosts == {"[::1]:8080", "[fe80::1]"}  # not the address ::1:8080
