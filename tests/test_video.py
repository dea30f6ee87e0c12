"""Video pages in a `type: captions` source: yt-dlp finds their captions, the crawler fetches and reads them.

The site is local: pages with an HTML5 <video> and its caption <track>, which yt-dlp reads as it
reads any page it has no site-specific extractor for. The fixtures are sample content written
for these tests; the people in them are invented.
"""

import sys

import pytest
import sqlite_utils

from crawler.transcripts import TranscriptError, read_captions
from crawler.video import choose_captions, find_captions

from .conftest import crawl
from .sites import Page, RoutedSite


def video_page(title: str, video: str) -> Page:
    return Page(
        f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>Sample content written for the tests.</p>{video}</body></html>"""
    )


# Rolling captions as speech recognition writes them: each line shown again in the next cue, and
# lines of one space (here "~") where a cue has nothing new.
ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

00:00:01.000 --> 00:00:03.000 align:start position:0%
~
sample<00:00:01.500><c> captions</c><00:00:02.000><c> of</c><00:00:02.500><c> a</c><00:00:02.800><c> talk</c>

00:00:03.000 --> 00:00:03.010 align:start position:0%
sample captions of a talk
~

00:00:03.010 --> 00:00:06.000 align:start position:0%
sample captions of a talk
probability<00:00:04.000><c> comes</c><00:00:05.000><c> before</c><00:00:05.500><c> calculus</c>
""".replace("~", " ")

VOICED_VTT = """WEBVTT

00:00:04.000 --> 00:00:09.000
<v Ada Quill>Sample captions: linear algebra is the mathematics I would learn first.
"""


@pytest.fixture(scope="module")
def video_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("video")
    track = '<video controls src="/media/{0}.mp4"><track kind="captions" src="/media/{0}.vtt" srclang="en"></video>'
    routes = {
        "/talks/rolling": video_page("A sample talk", track.format("rolling")),
        "/media/rolling.vtt": Page(ROLLING_VTT, content_type="text/vtt"),
        "/talks/voiced": video_page("A sample interview", track.format("voiced")),
        "/media/voiced.vtt": Page(VOICED_VTT, content_type="text/vtt"),
        "/talks/silent": video_page("A talk without captions", '<video controls src="/media/silent.mp4"></video>'),
        "/talks/no-video": video_page("Only words", "<p>No recording on this page.</p>"),
    }
    with RoutedSite(routes) as site:
        base = site.base_url
        yaml = (
            "download_delay: 0\nsources:\n"
            f"  - name: talks\n    type: captions\n    robots_sitemaps: false\n    max_depth: 0\n"
            f"    start_urls: ['{base}/talks/rolling', '{base}/talks/voiced', '{base}/talks/silent',"
            f" '{base}/talks/no-video']\n"
        )
        first = crawl(yaml, tmp / "kb.db", tmp)
        first_requests = len(site.requests)
        second = crawl(yaml, tmp / "kb.db", tmp)
        yield {"db": tmp / "kb.db", "base": base, "first": first, "second": second, "site": site, "n": first_requests}


def test_a_video_pages_captions_are_stored_under_the_page_with_links_to_the_video(video_site):
    assert video_site["first"].returncode == 0, video_site["first"].stderr[-2000:]
    db = sqlite_utils.Database(video_site["db"])
    base = video_site["base"]
    doc = next(db.query("select * from documents where url = ?", [f"{base}/talks/rolling"]))
    assert doc["title"] == "A sample talk"
    assert doc["media_url"] == f"{base}/media/rolling.mp4"
    assert doc["media_type"] == "text/vtt"
    assert doc["language"] == "en"
    assert doc["text"] == "sample captions of a talk probability comes before calculus"  # each line once
    passage = next(db.query("select * from passage_details where url = ?", [f"{base}/talks/rolling"]))
    assert (passage["seconds"], passage["end_seconds"]) == (1, 6)
    assert passage["moment_url"] == f"{base}/media/rolling.mp4#t=1"
    voiced = next(db.query("select speaker from passage_details where url = ?", [f"{base}/talks/voiced"]))
    assert voiced["speaker"] == "Ada Quill"
    # The caption files were fetched by the crawler, after yt-dlp read the pages.
    assert "/media/rolling.vtt" in video_site["site"].requests[: video_site["n"]]


def test_pages_without_a_video_or_captions_fail_with_their_kind(video_site):
    db = sqlite_utils.Database(video_site["db"])
    failures = {row["url"].removeprefix(video_site["base"]): row for row in db["crawl_failures"].rows}
    assert {url: row["kind"] for url, row in failures.items()} == {
        "/talks/silent": "no captions",
        "/talks/no-video": "no video",
    }
    assert "VTT or SRT" in failures["/talks/silent"]["reason"]
    stored = {row["url"].removeprefix(video_site["base"]) for row in db["documents"].rows}
    assert stored == {"/talks/rolling", "/talks/voiced"}


def test_a_second_crawl_with_the_same_captions_stores_nothing_new(video_site):
    assert video_site["second"].returncode == 0, video_site["second"].stderr[-2000:]
    db = sqlite_utils.Database(video_site["db"])
    run = list(db.query("select new, changed, unchanged from crawl_runs order by id"))[-1]
    assert run == {"new": 0, "changed": 0, "unchanged": 2}
    assert db.execute("select count(*) from revisions").fetchone()[0] == 0


def test_without_yt_dlp_a_video_page_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # as if the optional extra were not installed
    with pytest.raises(TranscriptError) as caught:
        find_captions("http://127.0.0.1:9/talk")
    assert caught.value.kind == "needs yt-dlp"
    assert "math-ml-kb[video]" in str(caught.value)


def test_captions_written_by_people_in_english_and_vtt_are_preferred():
    tracks = {
        "de": [{"ext": "vtt", "url": "de.vtt"}],
        "en-GB": [{"ext": "srv3", "url": "gb.srv3"}, {"ext": "srt", "url": "gb.srt"}],
        "en": [{"ext": "json3", "url": "en.json3"}, {"ext": "vtt", "url": "en.vtt"}],
    }
    assert choose_captions(tracks, automatic=False) == ("en", "vtt", "en.vtt", False)
    del tracks["en"]
    assert choose_captions(tracks, automatic=True) == ("en-GB", "srt", "gb.srt", True)
    assert choose_captions({"fr": [{"ext": "vtt", "url": "fr.vtt"}]}, automatic=False)[0] == "fr"
    assert choose_captions({"en": [{"ext": "json3", "url": "x"}]}, automatic=False) is None


def test_captions_that_do_not_roll_keep_every_line():
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nDerivatives first.\nThen matrices.\n\n"
        "00:00:05.000 --> 00:00:06.000\nThen probability.\n"
    )
    assert read_captions(vtt.encode(), "vtt")[0].words == "Derivatives first. Then matrices. Then probability."
