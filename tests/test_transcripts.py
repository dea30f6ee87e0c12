"""Spoken sources: transcript pages and caption files (VTT, SRT) crawled into turns with speakers and times.

The fixtures are sample content written for these tests; the people in them are invented.
"""

import pytest
import sqlite_utils

from crawler.sources import SourcesError, parse_sources
from crawler.transcripts import (
    TranscriptError,
    feed_transcripts,
    media_base,
    read_captions,
    read_transcript,
    turns_text,
)

from .conftest import crawl
from .sites import Page, RoutedSite

EPISODE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sample podcast, episode 12</title></head>
<body><article><h1>Sample podcast, episode 12</h1>
<p>Sample content written for the tests: Tomas Berg talks with Ada Quill about the mathematics engineers need.</p>
<p>Listen to <a href="https://www.youtube.com/watch?v=SAMPLE0001&amp;t=30s">the episode on YouTube</a>.</p>
<p><b>Tomas Berg</b> (00:00:05) Welcome. How much calculus does a new engineer need before the first project?</p>
<p><b>Ada Quill</b> (00:00:12) Less than they fear. Derivatives and the chain rule cover most of what training a
network asks of you, and the rest can be learned when a problem needs it.</p>
<p><b>Tomas Berg</b> (00:01:40) And linear algebra, where does that start?</p>
<p><b>Ada Quill</b> (00:01:45) With matrix multiplication. Everything else about matrices can wait for a
reason to learn it, and that reason usually comes with the second project.</p>
</article></body></html>"""

UNLABELLED = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Episode 13 notes</title></head>
<body><article><h1>Episode 13 notes</h1><p>Sample content: show notes with no transcript in them, only a summary of
what was said about statistics and probability in the episode, written as ordinary prose.</p></article></body></html>"""

VTT = """WEBVTT

00:00:03.000 --> 00:00:07.500
<v Tomas Berg>Sample captions. Which proofs should a practitioner be able to follow?

00:00:08.000 --> 00:00:14.000
<v Ada Quill>The ones behind the methods they use every day.

00:00:14.000 --> 00:00:21.000
<v Ada Quill>Gradient descent converging is worth understanding; the rest is optional.
"""

SRT = """1
00:01:00,000 --> 00:01:05,000
TB: Sample captions in SRT. Do you need measure theory?

2
00:01:05,500 --> 00:01:12,000
AQ: Not for building models. It matters for research on probability.
"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Sample podcast (sample content written for the tests)</title><link>__BASE_URL__/</link>
<item><title>Episode 16: statistics first?</title><link>__BASE_URL__/episodes/16</link>
<pubDate>Tue, 01 Oct 2024 10:00:00 GMT</pubDate>
<enclosure url="__BASE_URL__/audio/episode-16.mp3" type="audio/mpeg" length="1000"/>
<podcast:transcript url="__BASE_URL__/episodes/16" type="text/html"/>
<podcast:transcript url="__BASE_URL__/captions/episode-16.vtt" type="text/vtt"/>
</item>
<item><title>Episode 17, no transcript</title><link>__BASE_URL__/episodes/17</link></item>
</channel></rss>"""

EPISODE_16 = """WEBVTT

00:00:02.000 --> 00:00:06.000
<v Tomas Berg>Should statistics come before calculus?

00:00:06.500 --> 00:00:12.000
<v Ada Quill>For most data work, yes: sampling and uncertainty show up on the first day.
"""

BROKEN_VTT = """WEBVTT

00:00:0x.000 --> 00:00:04.000
A cue whose start time is broken.
"""


@pytest.fixture(scope="module")
def spoken_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spoken")
    routes = {
        "/episodes/12": Page(EPISODE),
        "/episodes/13": Page(UNLABELLED),
        "/captions/episode-14.vtt": Page(VTT, content_type="text/vtt"),
        "/captions/episode-15.srt": Page(SRT, content_type="text/plain; charset=utf-8"),
        "/captions/broken.vtt": Page(BROKEN_VTT, content_type="text/vtt"),
        "/feed.xml": Page(FEED, content_type="application/rss+xml"),
        "/captions/episode-16.vtt": Page(EPISODE_16, content_type="text/vtt"),
        "/talks/keynote": Page(VTT.replace("Sample captions.", "Sample keynote captions."), content_type="text/vtt"),
    }
    with RoutedSite(routes) as site:
        base = site.base_url
        yaml = (
            "download_delay: 0\nsources:\n"
            f"  - name: podcast\n    type: transcript\n    robots_sitemaps: false\n    max_depth: 0\n"
            f"    start_urls: ['{base}/episodes/12', '{base}/episodes/13']\n    feeds: ['{base}/feed.xml']\n"
            f"  - name: captions\n    type: captions\n    robots_sitemaps: false\n    max_depth: 0\n"
            f"    media: '{base}/audio/episode.mp3'\n    speakers: {{TB: Tomas Berg, AQ: Ada Quill}}\n"
            f"    start_urls: ['{base}/captions/episode-14.vtt', '{base}/captions/episode-15.srt',"
            f" '{base}/captions/broken.vtt']\n"
            f"  - name: talks\n    robots_sitemaps: false\n    max_depth: 0\n    start_urls: ['{base}/talks/keynote']\n"
        )
        first = crawl(yaml, tmp / "kb.db", tmp, embed=True)
        requested = list(site.requests)
    return {"db": tmp / "kb.db", "first": first, "base": base, "requested": requested}


def passages(site, path: str) -> list[dict]:
    db = sqlite_utils.Database(site["db"])
    return list(
        db.query(
            "select text, speaker, seconds, end_seconds, moment_url from passage_details where url = ? "
            "order by passage_id",
            [site["base"] + path],
        )
    )


def test_a_transcript_page_becomes_turns_with_speakers_times_and_links_to_the_moment(spoken_site):
    assert spoken_site["first"].returncode == 0, spoken_site["first"].stderr[-3000:]
    rows = passages(spoken_site, "/episodes/12")
    turns = [(r["speaker"], r["seconds"], r["end_seconds"]) for r in rows if r["speaker"]]
    assert turns == [("Tomas Berg", 5, 12), ("Ada Quill", 12, 100), ("Tomas Berg", 100, 105), ("Ada Quill", 105, None)]
    quill = next(r for r in rows if r["speaker"] == "Ada Quill")
    assert quill["text"].startswith("Ada Quill: Less than they fear.")
    assert quill["moment_url"] == "https://www.youtube.com/watch?v=SAMPLE0001&t=12s"  # the page's t=30s dropped
    assert rows[0]["speaker"] is None and "Tomas Berg talks with Ada Quill" in rows[0]["text"]  # the introduction


def test_caption_files_keep_their_voices_labels_and_times(spoken_site):
    vtt = passages(spoken_site, "/captions/episode-14.vtt")
    assert [(r["speaker"], r["seconds"], r["end_seconds"]) for r in vtt] == [("Tomas Berg", 3, 7), ("Ada Quill", 8, 21)]
    assert vtt[1]["text"] == (
        "Ada Quill: The ones behind the methods they use every day. "
        "Gradient descent converging is worth understanding; the rest is optional."
    )
    assert vtt[1]["moment_url"] == f"{spoken_site['base']}/audio/episode.mp3#t=8"
    srt = passages(spoken_site, "/captions/episode-15.srt")
    assert [(r["speaker"], r["seconds"]) for r in srt] == [("Tomas Berg", 60), ("Ada Quill", 65)]
    assert srt[1]["text"] == "Ada Quill: Not for building models. It matters for research on probability."


def test_unreadable_captions_and_pages_without_turns_fail_with_their_kind(spoken_site):
    db = sqlite_utils.Database(spoken_site["db"])
    failures = {row["url"].removeprefix(spoken_site["base"]): row["kind"] for row in db["crawl_failures"].rows}
    assert failures == {"/captions/broken.vtt": "broken captions", "/episodes/13": "no speaker labels"}
    stored = {row["url"].removeprefix(spoken_site["base"]) for row in db["documents"].rows}
    assert stored == {
        "/episodes/12",
        "/captions/episode-14.vtt",
        "/captions/episode-15.srt",
        "/captions/episode-16.vtt",
        "/talks/keynote",
    }


def test_captions_are_known_by_their_type_in_any_source(spoken_site):
    rows = passages(spoken_site, "/talks/keynote")  # a source without a type, a URL without an extension
    assert [(r["speaker"], r["seconds"]) for r in rows] == [("Tomas Berg", 3), ("Ada Quill", 8)]
    assert rows[0]["moment_url"] is None  # no recording named


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://hn.algolia.com/api/v1/items/123", "hn"),
        ("https://www.reddit.com/r/x/comments/abc/t/.json", "reddit"),
        ("https://old.reddit.com/r/x/comments/abc/t/", None),
        ("https://example.org/talk.en.vtt", "captions"),
        ("https://example.org/talk.SRT", "captions"),
        ("https://example.org/article", None),
    ],
)
def test_what_a_page_is_by_its_url(url, kind):
    from crawler.sources import Source

    assert Source("s", start_urls=(url,)).type_of(url) == kind
    assert Source("s", start_urls=(url,), type="transcript").type_of(url) == "transcript"


def test_a_podcast_feed_brings_its_episodes_transcripts_with_their_recording(spoken_site):
    db = sqlite_utils.Database(spoken_site["db"])
    episode = db.execute(
        "select title, published, media_url from documents where url = ?",
        [spoken_site["base"] + "/captions/episode-16.vtt"],
    ).fetchone()
    assert episode == ("Episode 16: statistics first?", "2024-10-01", spoken_site["base"] + "/audio/episode-16.mp3")
    rows = passages(spoken_site, "/captions/episode-16.vtt")
    assert rows[1]["moment_url"] == spoken_site["base"] + "/audio/episode-16.mp3#t=6"
    # The captions were read rather than the HTML transcript; the show-notes pages were not requested.
    assert not {"/episodes/16", "/episodes/17"} & set(spoken_site["requested"])


def test_feed_transcripts_prefer_captions_and_skip_episodes_without():
    episodes = feed_transcripts(FEED.replace("__BASE_URL__", "http://h").encode())
    assert episodes == [
        {
            "url": "http://h/captions/episode-16.vtt",
            "title": "Episode 16: statistics first?",
            "media": "http://h/audio/episode-16.mp3",
            "published": "2024-10-01",
        }
    ]
    assert feed_transcripts(b"<not a feed") == []


def test_turns_from_text():
    turns = read_transcript(
        "An introduction.\n[00:02:03] Tomas Berg: A question?\nAda Quill [2:10]\nAn answer,\nin two lines."
    )
    assert [(t.speaker, t.seconds, t.end_seconds, t.words) for t in turns] == [
        (None, None, None, "An introduction."),
        ("Tomas Berg", 123, 130, "A question?"),
        ("Ada Quill", 130, None, "An answer, in two lines."),
    ]
    text, segments = turns_text(turns)
    assert [text[s["start"] : s["end"]] for s in segments] == [t.words for t in turns]
    assert media_base("https://www.youtube.com/watch?v=x&t=2472s") == "https://www.youtube.com/watch?v=x"


@pytest.mark.parametrize(
    "body, kind",
    [
        (BROKEN_VTT.encode(), "broken captions"),
        (b"not captions", "broken captions"),
        (b"\xff\xfe\x00", "broken captions"),
    ],
)
def test_bad_caption_files_are_named(body, kind):
    with pytest.raises(TranscriptError) as error:
        read_captions(body, "vtt")
    assert error.value.kind == kind


def test_captions_without_voices_take_the_one_speaker_the_source_names():
    turns = read_captions(SRT.replace("TB: ", "").replace("AQ: ", "").encode(), "srt", "Ada Quill")
    assert {t.speaker for t in turns} == {"Ada Quill"}
    assert {t.speaker for t in read_captions(SRT.encode(), "srt")} == {None}  # nobody named: no speaker


@pytest.mark.parametrize(
    "entry, message",
    [
        ("type: podcast", ":4: source 's': 'type' must be one of transcript, captions"),
        ("media: ftp://example.org/a.mp3", ":4: source 's': 'media' must be the http(s) URL of a recording"),
        ("type: transcript\n    speakers: Ada Quill", ":5: source 's': 'speakers' is for captions"),
        ("type: captions\n    speakers: [Ada Quill]", ":5: source 's': 'speakers' must be a name, or caption labels"),
    ],
)
def test_bad_spoken_sources_name_file_and_line(entry, message):
    with pytest.raises(SourcesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_sources(f"sources:\n  - name: s\n    start_urls: [http://127.0.0.1:9/]\n    {entry}\n", "sources.yml")


def test_the_research_ui_links_a_spoken_passage_to_its_moment(spoken_site):
    from kb.web.serve import make_datasette

    from .conftest import datasette_get

    datasette = make_datasette(spoken_site["db"])
    page = datasette_get(datasette, "/search?q=chain+rule&mode=keyword&min_relevance=0").text
    assert (
        'Ada Quill at <a class="kb-moment" href="https://www.youtube.com/watch?v=SAMPLE0001&amp;t=12s">0:12</a>' in page
    )
    hits = datasette_get(datasette, "/search.json?q=measure+theory&mode=keyword&min_relevance=0").json()["results"]
    assert [(h["turn_speaker"], h["timestamp"], h["moment_url"]) for h in hits[:1]] == [
        ("Tomas Berg", "1:00", f"{spoken_site['base']}/audio/episode.mp3#t=60")
    ]


def test_a_speakers_turns_are_their_statements_and_questions_are_kept_as_questions(spoken_site):
    db = sqlite_utils.Database(spoken_site["db"])
    rows = list(
        db.query(
            "select q.kind, p.name, p.verified, q.quote, q.stance, q.stance_reasons from quotes q "
            "join documents d on d.id = q.document_id left join people p on p.id = q.person_id "
            "where d.url = ? order by q.char_start",
            [spoken_site["base"] + "/episodes/12"],
        )
    )
    rows = [r for r in rows if r["kind"] in ("spoken", "question")]  # the introduction has its own
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("question", "Tomas Berg"),
        ("spoken", "Ada Quill"),
        ("question", "Tomas Berg"),
        ("spoken", "Ada Quill"),
    ]
    assert rows[1]["quote"].startswith("Less than they fear.") and rows[1]["verified"] == 0  # not in people.yml
    assert rows[1]["stance"] and rows[1]["stance_reasons"]  # her answer on the question takes a stance
    assert not any(r["stance"] or r["stance_reasons"] for r in rows if r["kind"] == "question")


def test_a_person_page_links_each_spoken_statement_to_its_moment(spoken_site):
    from kb.web.serve import make_datasette

    from .conftest import datasette_get

    db = sqlite_utils.Database(spoken_site["db"])
    [(person,)] = db.execute("select id from people where name = 'Ada Quill'").fetchall()
    page = datasette_get(make_datasette(spoken_site["db"]), f"/people/{person}.json").json()
    links = {s["link"] for s in page["statements"] if s["kind"] == "spoken"}
    assert "https://www.youtube.com/watch?v=SAMPLE0001&t=12s" in links
    assert f"{spoken_site['base']}/audio/episode.mp3#t=65" in links


def test_the_comparison_links_a_spoken_statement_to_its_moment(spoken_site):
    from kb.web.serve import make_datasette

    from .conftest import datasette_get

    compared = datasette_get(make_datasette(spoken_site["db"]), "/compare.json?people=Ada Quill").json()
    statements = [s for column in compared["columns"] for stance in column["stances"] for s in stance["by_date"]]
    assert "https://www.youtube.com/watch?v=SAMPLE0001&t=12s" in {s["link"] for s in statements}
