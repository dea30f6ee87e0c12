"""The captions of a video page (YouTube, or any page yt-dlp can read), found with yt-dlp.

A ``type: captions`` source whose URL is not a caption file names a video
page. yt-dlp (an optional extra: ``pip install 'math-ml-kb[video]'``)
reads the page and says where its captions are; the crawler then fetches
the caption file itself, politely, and reads it like any other
(crawler/transcripts.py). Captions written by people are preferred to
automatic ones, English to other languages, and WebVTT to other formats.

yt-dlp fetches the page (and, for YouTube, its player data) with its own
HTTP client: those requests wait ``delay`` seconds between them, the
source's download delay, and carry the crawler's user agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from .transcripts import TranscriptError

# Caption languages tried in this order; then any English variant; then whatever the video has.
PREFERRED_LANGUAGES = ("en", "en-US", "en-GB", "en-orig")
# Caption formats read (crawler/transcripts.py), best first.
READABLE_FORMATS = ("vtt", "srt")


@dataclass
class VideoCaptions:
    page_url: str  # the video's own page: the document's URL
    media_url: str  # what the links to a moment open: the page on a video site, else the video file
    captions_url: str
    format: str  # 'vtt' or 'srt'
    language: str
    automatic: bool  # made by speech recognition, not written by people
    title: str | None
    published: str | None  # YYYY-MM-DD


def find_captions(url: str, *, delay: float = 1.0, user_agent: str | None = None, timeout: float = 30) -> VideoCaptions:
    """Where the captions of the video at ``url`` are; TranscriptError (kind ``needs yt-dlp``,
    ``no video`` or ``no captions``) when they cannot be found. Makes network requests."""
    try:
        import yt_dlp
    except ImportError:
        raise TranscriptError(
            "a video page: reading its captions needs yt-dlp (pip install 'math-ml-kb[video]')", "needs yt-dlp"
        ) from None
    options = {
        "skip_download": True,
        "quiet": True,
        "no_warnings": True,
        "noplaylist": True,
        "socket_timeout": timeout,
        "sleep_interval_requests": delay,
        "http_headers": {"User-Agent": user_agent} if user_agent else {},
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
    except yt_dlp.utils.YoutubeDLError as e:
        raise TranscriptError(f"no video found: {_first_line(e)}", "no video") from None
    if info.get("_type") == "playlist":  # a page with several videos: its first
        info = next(iter(info.get("entries") or []), None) or {}
    found = choose_captions(info.get("subtitles") or {}, automatic=False) or choose_captions(
        info.get("automatic_captions") or {}, automatic=True
    )
    if found is None:
        raise TranscriptError("the video has no captions in a readable format (VTT or SRT)", "no captions")
    language, fmt, captions_url, automatic = found
    page_url = info.get("webpage_url") or url
    plain_page = info.get("extractor") in ("generic", "html5")  # a <video> on an ordinary web page
    return VideoCaptions(
        page_url=page_url,
        media_url=(info.get("url") if plain_page else None) or page_url,
        captions_url=captions_url,
        format=fmt,
        language=language,
        automatic=automatic,
        # yt-dlp numbers the videos of a plain web page ("Title (1)"): the spider takes the page's title.
        title=None if plain_page else info.get("title"),
        # A plain page's date is its Last-Modified header, not the recording's.
        published=None if plain_page else _iso_date(info.get("release_date") or info.get("upload_date")),
    )


def choose_captions(tracks: dict[str, list[dict]], automatic: bool) -> tuple[str, str, str, bool] | None:
    """(language, format, URL, automatic) of the best readable track in yt-dlp's
    ``subtitles`` or ``automatic_captions``; None when none is readable."""
    english = [lang for lang in tracks if lang.split("-")[0] == "en" and lang not in PREFERRED_LANGUAGES]
    for language in [*PREFERRED_LANGUAGES, *english, *tracks]:
        formats = {track.get("ext"): track.get("url") for track in tracks.get(language) or []}
        for fmt in READABLE_FORMATS:
            if formats.get(fmt):
                return language, fmt, formats[fmt], automatic
    return None


def _iso_date(yyyymmdd: str | None) -> str | None:
    if not yyyymmdd or len(yyyymmdd) != 8 or not yyyymmdd.isdigit():
        return None
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def _first_line(error: Exception) -> str:
    message = str(error).removeprefix("ERROR: ").strip()
    return message.splitlines()[0] if message else type(error).__name__
