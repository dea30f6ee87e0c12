"""The research UI in a real browser: headless Chromium driven by Playwright against a real `kb serve --public`.

The knowledge base is the sample site crawled by the real crawler, plus one
hostile page whose text holds a script tag, crawled from a local server.
Screenshots go to tests/artifacts/ for a person to look at. Skipped, with
the reason, where Playwright or Debian's chromium package is missing
(.ci/run installs chromium).
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlite_utils

from bench.common import free_port
from kb import KnowledgeBase

from .conftest import ROOT, crawl
from .sites import RoutedSite, html_page

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
CHROMIUM = os.environ.get("KB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KB_CHROMIUM)", allow_module_level=True)

ARTIFACTS = ROOT / "tests" / "artifacts"
CURATOR_PASSWORD = "a sample password"
HOSTILE_TEXT = "Eigenvalue hostility test: <script>window.kbInjected = 1; alert('x')</script> and <b>bold</b> claims."


@pytest.fixture(scope="module")
def site_url(crawled_db, tmp_path_factory):
    """`kb serve` on the crawled sample site plus a crawled hostile page; yields its base URL."""
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "kb.db"
    shutil.copy(crawled_db, db)
    # The hostile text is escaped in the page's HTML, so the extracted text holds a literal script tag.
    hostile = html_page(
        "Hostile page",
        HOSTILE_TEXT.replace("<", "&lt;").replace(">", "&gt;"),
        "Linear algebra is useful, they said, and the paragraph goes on long enough to count.",
    )
    with RoutedSite(
        {"/": html_page("Index", "Hub", links=("/articles/hostile.html",)), "/articles/hostile.html": hostile}
    ) as hostile_site:
        sources = (
            "download_delay: 0\nsources:\n  - name: hostile\n"
            f"    start_urls: ['{hostile_site.base_url}/']\n    allow: ['/articles/']\n"
        )
        result = crawl(sources, db, tmp, embed=True)
    assert result.returncode == 0, result.stderr[-2000:]
    KnowledgeBase(db).add_curator("ada", CURATOR_PASSWORD)  # tests/test_browser.py's curation test signs in
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--public", "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KB_SERVE_WORKERS": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5).read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"kb serve did not start: {server.stdout.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.refused = []  # what the Content-Security-Policy blocked, as Chromium reports it
    page.on("console", lambda message: "Content Security Policy" in message.text and page.refused.append(message.text))
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_search_from_the_home_page_then_switch_modes(page, site_url):
    page.goto(site_url + "/")
    assert "How much math" in page.locator("h1").inner_text()
    counts = page.locator(".kb-counts").inner_text()
    assert "6 documents" in counts.replace(",", "")  # the sample site's five and the hostile page
    page.fill("input[name=q]", "linear algebra")
    screenshot(page, "home")
    page.click("button[type=submit]")
    page.wait_for_url("**/search?q=linear+algebra&mode=hybrid")
    hybrid = page.locator(".kb-hit").all_inner_texts()
    assert hybrid and page.locator(".kb-hit mark").count() > 0  # query words highlighted
    screenshot(page, "search-hybrid")

    page.select_option("select[name=mode]", "keyword")
    page.click("button[type=submit]")
    page.wait_for_url("**mode=keyword")
    keyword = page.locator(".kb-hit").all_inner_texts()
    assert keyword and all(("linear" in hit.lower() or "algebra" in hit.lower()) for hit in keyword)
    assert "(keyword)" in page.locator(".kb-total").inner_text()
    screenshot(page, "search-keyword")


def test_filters_narrow_the_results_and_the_json_matches(page, site_url):
    page.goto(site_url + "/search?q=math&mode=keyword")
    total = int(page.locator(".kb-total").inner_text().split()[0])
    page.locator(".kb-facet[data-facet=site] a").first.click()
    page.wait_for_url("**site=*")
    filtered = int(page.locator(".kb-total").inner_text().split()[0])
    assert 0 < filtered < total
    site = page.url.split("site=")[1].split("&")[0]
    with urllib.request.urlopen(page.url.replace("/search?", "/search.json?")) as response:
        import json

        data = json.loads(response.read())
    assert data["total"] == filtered and data["filters"]["site"] == urllib.request.unquote(site.replace("+", " "))
    assert all(hit["site_name"] == data["filters"]["site"] for hit in data["results"])
    screenshot(page, "search-filtered")


def test_person_page_from_the_home_page(page, site_url):
    page.goto(site_url + "/")
    page.click(".kb-people a:text('Andrew Ng')")
    page.wait_for_url("**/people/*")
    assert page.locator("h1").inner_text() == "Andrew Ng"
    assert page.locator(".kb-quote").count() > 0
    assert page.locator("figure.kb-chart svg rect").count() > 0  # quotations per year
    screenshot(page, "person")
    page.goto(site_url + "/compare")
    names = page.locator(".kb-compare-person h2").all_inner_texts()
    assert "Andrew Ng" in names
    screenshot(page, "compare")


def test_following_a_result_opens_the_original_page(page, site_url):
    """The off-topic sourdough page is hidden by default; the switch shows it, and its "original" link opens it."""
    page.goto(site_url + "/search?q=sourdough+starter&mode=keyword")
    assert page.locator(".kb-hit").count() == 0
    page.locator("a.kb-relevance-switch").click()
    page.wait_for_load_state()
    assert "min_relevance=0" in page.url
    screenshot(page, "search-everything")
    original = page.locator(".kb-hit a.kb-original").first
    href = original.get_attribute("href")
    assert "#:~:text=" in href  # opens at the passage
    original.click()
    page.wait_for_load_state()
    assert page.url.split("#")[0] == href.split("#")[0]
    assert "sourdough" in page.content().lower()
    screenshot(page, "followed-result")


def test_a_result_opens_the_reader_at_its_passage_without_the_original_site(page, site_url):
    """The reader page is served by the knowledge base alone: nothing is fetched from the crawled site."""
    elsewhere = []
    page.on("request", lambda r: not r.url.startswith(site_url) and elsewhere.append(r.url))
    page.goto(site_url + "/search?q=perhaps+some+more+math&mode=keyword")
    title = page.locator(".kb-hit a.kb-title").first
    anchor = title.get_attribute("href").split("#")[1]
    title.click()
    page.wait_for_load_state()
    assert page.url.startswith(site_url + "/documents/") and page.url.endswith("#" + anchor)
    assert page.locator(f"#{anchor}").count() == 1
    quotation = page.locator("mark.kb-direct").filter(has_text="perhaps some more math").first
    assert "Yann LeCun" in quotation.get_attribute("title")
    screenshot(page, "reader")
    page.emulate_media(color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    screenshot(page, "reader-dark")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    screenshot(page, "reader-phone")
    assert elsewhere == []


def test_a_reprint_links_to_its_original_in_the_reader(page, site_url):
    page.goto(site_url + "/search?q=how+much+math&mode=keyword")
    hit = page.locator(".kb-hit").filter(has_text="Also published at").first
    hit.locator("a.kb-title").click()
    page.wait_for_load_state()
    first = page.url
    copy = page.locator("a.kb-copy").first
    copy.click()
    page.wait_for_load_state()
    assert page.url.split("#")[0] != first.split("#")[0] and "/documents/" in page.url
    assert page.locator("a.kb-copy").count() >= 1  # and the copy links back
    screenshot(page, "reader-copy")


def test_crawled_script_tags_are_shown_as_text(page, site_url):
    page.goto(site_url + "/search?q=eigenvalue+hostility&mode=keyword&min_relevance=0")
    snippet = page.locator(".kb-hit .kb-snippet").first.inner_text()
    assert "<script>" in snippet  # shown, as text
    assert page.evaluate("window.kbInjected") is None and page.dialogs == []  # never run
    page.goto(site_url + "/kb/passages?_search=hostility")
    assert page.evaluate("window.kbInjected") is None and page.dialogs == []
    # and in the reader page, which builds its own markup around the text
    page.goto(site_url + "/search?q=eigenvalue+hostility&mode=keyword&min_relevance=0")
    page.locator(".kb-hit a.kb-title").first.click()
    page.wait_for_load_state()
    assert "<script>" in page.locator(".kb-text").inner_text()
    assert page.evaluate("window.kbInjected") is None and page.dialogs == []
    screenshot(page, "hostile-escaped")


def test_why_disclosure_opens_and_compare_lists_statements_by_date(page, site_url):
    page.goto(site_url + "/search?q=how+much+math&mode=keyword")
    why = page.locator(".kb-hit details.kb-why").first
    assert not why.locator("p").first.is_visible()
    why.locator("summary").click()
    assert why.locator("p").first.is_visible() and "Relevance" in why.inner_text()
    screenshot(page, "search-why")
    page.goto(site_url + "/compare?people=Andrew+Ng,Yann+LeCun")
    dates = [
        d
        for d in page.locator(".kb-compare-person")
        .first.locator(".kb-statement")
        .evaluate_all("items => items.map(i => i.dataset.published)")
        if d
    ]
    assert dates == sorted(dates)
    screenshot(page, "compare-by-date")


def test_every_page_keeps_to_the_content_security_policy(page, site_url):
    """The UI's and Datasette's own pages run their scripts (menus, facets) with nothing refused."""
    for path in (
        "/",
        "/search?q=linear+algebra",
        "/compare",
        "/charts",
        "/kb",
        "/kb/documents",
        "/kb/documents?_facet=author",
        "/kb/documents/1",
        "/kb/search?q=calculus",
        "/documents/1",
    ):
        page.goto(site_url + path)
        page.wait_for_load_state("load")
    page.goto(site_url + "/")
    page.locator("a[href^='/people/']").first.click()
    page.wait_for_load_state("load")
    assert page.refused == []
    page.goto(site_url + "/kb/documents")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.kbInline = 1';
                           document.body.appendChild(s); }""")
    assert page.evaluate("window.kbInline") is None and page.refused  # an inline script of anyone else's is refused


def test_a_search_offers_its_feed(page, site_url):
    page.goto(site_url + "/search?q=linear+algebra&mode=keyword")
    href = page.locator("a.kb-feed").get_attribute("href")
    feed = page.request.get(site_url + href)
    assert feed.status == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert feed.text().count("<entry>") == int(page.locator(".kb-total").inner_text().split()[0])


def test_a_person_is_found_by_alias_in_lower_case_and_counted_once_per_statement(page, site_url, crawled_db):

    page.goto(site_url + "/compare")
    page.locator("input[name=people]").fill("lecun")
    page.locator("form.kb-search button").click()
    page.wait_for_load_state()
    assert page.locator(".kb-compare-person h2").all_inner_texts() == ["Yann LeCun"]
    page.goto(site_url + "/people/andrew%20ng")  # redirected to the person's page
    assert page.locator("h1").inner_text() == "Andrew Ng"
    db = sqlite_utils.Database(crawled_db)
    distinct = db.execute(
        "select count(*) from person_statements join people on people.id = person_statements.person_id "
        "where people.name = 'Andrew Ng' and kind in ('direct', 'spoken', 'comment')"
    ).fetchone()[0]
    assert (
        page.locator("p.kb-muted").filter(has_text="quotation").first.inner_text().startswith(f"{distinct} quotation")
    )
    screenshot(page, "person-by-name")


def test_each_citation_format_downloads_from_the_reader_and_reads_back(page, site_url):
    import json

    import bibtexparser
    import rispy

    page.goto(site_url + "/documents/1")
    title = page.locator("h1").inner_text()
    texts = {}
    for link in page.locator("a.kb-cite").all()[:3]:
        with page.expect_download() as download:
            link.click()
        texts[link.inner_text()] = Path(download.value.path()).read_text(encoding="utf-8")
    assert set(texts) == {"BibTeX", "RIS", "CSL-JSON"}
    assert bibtexparser.parse_string(texts["BibTeX"]).entries[0].fields_dict["title"].value == title
    assert rispy.loads(texts["RIS"])[0]["title"] == title
    assert json.loads(texts["CSL-JSON"])[0]["title"] == title


@pytest.mark.parametrize("scheme, width", [("light", 1100), ("dark", 1100), ("light", 390)])
def test_new_pages_in_light_dark_and_phone_width(page, site_url, scheme, width):
    """Screenshots of each page this issue added or changed, and the checks a person would make."""
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    name = f"{scheme}-{width}"
    page.goto(site_url + "/kb/documents")
    assert page.locator("details.kb-column-descriptions:not([open]) dl.column-descriptions").count() == 1
    top = page.evaluate("document.querySelector('table.rows-and-columns').getBoundingClientRect().top")
    assert width < 500 or top < 900, f"the table starts {top:.0f} px down"  # descriptions folded away
    screenshot(page, f"datasette-documents-{name}")
    page.goto(site_url + "/kb/documents/1")
    assert page.locator("td.col-text").first.is_visible()
    assert page.locator("td.col-text").first.get_attribute("data-column") == "text"  # each field labelled
    screenshot(page, f"datasette-document-row-{name}")
    page.goto(site_url + "/people/1")
    assert page.locator(".kb-timeline circle").count() > 0
    screenshot(page, f"person-timeline-{name}")
    page.goto(site_url + "/compare?people=Andrew+Ng,Yann+LeCun")
    assert page.locator(".kb-compare-person .kb-timeline").count() == 2
    screenshot(page, f"compare-timeline-{name}")
    page.goto(site_url + "/search?q=sourdough+starter+feeding&mode=hybrid")
    assert page.locator(".kb-no-close-match").is_visible() and page.locator(".kb-hit").count() == 0
    screenshot(page, f"search-no-close-match-{name}")
    if width < 500:  # no page scrolls sideways at a phone's width
        for path in ("/people/1", "/compare?people=Andrew+Ng", "/search?q=linear+algebra&mode=keyword"):
            page.goto(site_url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, path


def test_a_curator_signs_in_corrects_a_stance_and_signs_out(page, site_url, crawled_db):
    """Last in this file: it changes a stance in the shared database."""
    # The crawl's order (and so the documents' ids) varies from run to run: the quote's own document.
    [quoted] = (
        sqlite_utils.Database(crawled_db)
        .execute("select document_id from quotes where quote like 'Math. Math.%' limit 1")
        .fetchone()
    )
    page.goto(site_url + f"/documents/{quoted}")
    assert page.locator("details.kb-curate").count() == 0  # nothing to correct for a reader
    page.locator("a.kb-signin").click()
    page.locator("input[name=username]").fill("ada")
    page.locator("input[name=password]").fill("not the password at all")
    page.locator("form.kb-login-form button").click()
    assert page.locator(".kb-login-error").is_visible()
    page.locator("input[name=username]").fill("ada")
    page.locator("input[name=password]").fill(CURATOR_PASSWORD)
    page.locator("form.kb-login-form button").click()
    page.wait_for_load_state()
    page.goto(site_url + f"/documents/{quoted}")
    entry = page.locator("li.kb-statement-entry").filter(has_text="Math. Math.").first
    entry.locator("details.kb-curate summary").click()
    form = entry.locator("form").filter(has=page.locator("input[value=stance]"))
    form.locator("select[name=value]").select_option("not needed to start")
    form.locator("input[name=note]").fill("<script>window.kbInjected = 1</script> read the whole interview")
    form.locator("button").click()
    page.wait_for_load_state()
    entry = page.locator("li.kb-statement-entry").filter(has_text="Math. Math.").first
    assert entry.locator(".kb-corrected").is_visible() and "not needed to start" in entry.inner_text()
    screenshot(page, "curator-corrected")
    entry.locator("details.kb-curate summary").click()
    entry.locator("form").filter(has=page.locator("input[value=verified]")).locator("button").click()
    page.wait_for_load_state()
    assert (
        page.locator("li.kb-statement-entry").filter(has_text="Math. Math.").first.locator(".kb-verified").is_visible()
    )
    page.goto(site_url + "/people/3")  # Yann LeCun: the stance's why names the curator and the note, as text
    why = page.locator(".kb-curator-note").first
    assert "<script>" in why.text_content() and page.evaluate("window.kbInjected") is None
    # a document split from its copies, and two people merged
    page.goto(site_url + "/search?q=how+much+math&mode=keyword")
    page.locator(".kb-hit").filter(has_text="Also published at").first.locator("a.kb-title").click()
    page.wait_for_load_state()
    assert page.locator("a.kb-copy").count() >= 1
    page.locator("details.kb-curate-document summary").click()
    copies = page.locator("details.kb-curate-document form").filter(has=page.locator("input[value=work]"))
    copies.locator("input[name=value]").fill("split")
    copies.locator("button").click()
    page.wait_for_load_state()
    assert page.locator("a.kb-copy").count() == 0
    page.goto(site_url + "/compare?people=Priya+Raman")
    page.locator(".kb-compare-person h2 a").first.click()
    page.wait_for_load_state()
    page.locator("details.kb-curate-person summary").click()
    merge = page.locator("details.kb-curate-person form").filter(has=page.locator("input[value=merge]"))
    merge.locator("input[name=value]").fill("Andrew Ng")
    merge.locator("button").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Andrew Ng"
    screenshot(page, "curator-merged")
    page.locator("form.kb-signout button").click()
    page.wait_for_load_state()
    page.goto(site_url + "/documents/1")
    assert page.locator("details.kb-curate").count() == 0
