"""Browser tests of the web page's user experience, each on a desktop (1280x800) and a phone
(390x844) viewport, in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories.service import browser_marks  # noqa: E402

pytestmark = browser_marks()
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytest.importorskip("fastapi")

from playwright.sync_api import expect  # noqa: E402

from factories.service import build_library, served  # noqa: E402

VIEWPORTS = {
    "desktop": dict(viewport={"width": 1280, "height": 800}),
    "phone": dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True),
}
# A record with the metadata the detail view shows: DOI, URL, abstract, keywords, PDF page, no authors.
RICH = {
    "id": "rich-1", "image": "images/genomics-0.png", "title": "A rich record",
    "caption": "Figure 1: gene expression heat map of a rich record", "abstract": "We study rich records.",
    "keywords": ["heat map", "expression"], "labels": ["genomics"], "date": "2015", "page": 7,
    "doi": "10.1234/rich.5678", "url": "https://example.org/rich",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    library = build_library(tmp_path_factory.mktemp("service-browser-ux"), extra_rows=[json.dumps(RICH)])
    with served(library) as base_url:
        yield base_url


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, browser, site):
    context = browser.new_context(**VIEWPORTS[request.param])
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.site = site
    tab.goto(site + "/")
    yield tab
    context.close()
    assert errors == [], errors


def _search(page, query):
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_selector(".hit img")


def _focus_order(page, steps=25):
    """Ids (or tags) of the elements Tab reaches, in order."""
    page.locator("body").focus()
    seen = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    return seen


def test_more_results_is_hidden_when_there_is_nothing_more(page):
    expect(page.locator("#more")).to_be_hidden()  # start page
    assert "more" not in _focus_order(page)
    _search(page, "gene expression heat map")
    expect(page.locator("#more")).to_be_visible()
    page.click("#options summary")
    page.fill("#year_min", "2999")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("No results")
    expect(page.locator("#more")).to_be_hidden()
    assert "more" not in _focus_order(page)


def test_opening_options_keeps_the_page_inside_the_viewport(page):
    width = page.viewport_size["width"]
    page.click("#options summary")
    expect(page.locator("#year_max")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for field in ("target", "year_min", "year_max", "label", "author", "q"):
        box = page.locator("#" + field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (field, box, width)
        assert box["width"] >= 60, (field, box)  # wide enough to type in


def test_detail_view_shows_page_links_abstract_keywords_and_score(page):
    _search(page, "gene expression heat map rich record")
    hit = page.locator('.hit button[data-id="rich-1"]')
    score = hit.locator(".score").inner_text()
    hit.click()
    expect(page.locator("#detail")).to_have_attribute("open", "")
    meta = page.inner_text("#detail-meta")
    assert "p. 7" in meta and "2015" in meta and "genomics" in meta
    assert score in meta  # "score 0.123", the hit's score
    assert "pairs.jsonl" not in meta and ".pdf" not in meta and "manifest" not in meta
    assert not meta.startswith("·")
    expect(page.locator("#detail-doi")).to_have_attribute("href", "https://doi.org/10.1234/rich.5678")
    expect(page.locator("#detail-doi")).to_be_visible()
    expect(page.locator("#detail-url")).to_have_attribute("href", "https://example.org/rich")
    expect(page.locator("#detail-abstract")).to_have_text("We study rich records.")
    expect(page.locator("#detail-keywords")).to_contain_text("heat map, expression")
    # A record without those fields shows none of them.
    page.click("#close")
    page.locator('.hit button:not([data-id="rich-1"])').first.click()
    expect(page.locator("#detail")).to_have_attribute("open", "")
    for absent in ("#detail-doi", "#detail-url", "#detail-abstract-box", "#detail-keywords"):
        expect(page.locator(absent)).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _query_of(page):
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_url_holds_query_filters_pages_and_record_and_back_works(page):
    page.click("#options summary")
    page.fill("#label", "genomics")
    _search(page, "gene expression heat map")
    assert _query_of(page) == {"q": "gene expression heat map", "label": "genomics"}
    page.click("#more")
    expect(page.locator(".hit")).to_have_count(13)  # 12 genomics figures + the rich record
    page.wait_for_function("location.search.includes('pages=2')")
    page.locator(".hit button").nth(3).click()
    expect(page.locator("#detail")).to_have_attribute("open", "")
    record = _query_of(page)["record"]
    shared = page.url
    page.go_back()  # closes the detail, stays on the page
    expect(page.locator("#detail")).not_to_have_attribute("open", "")
    page.wait_for_function("!location.search.includes('record=')")
    assert page.url.startswith(page.site)
    expect(page.locator(".hit")).to_have_count(13)
    _search(page, "climate temperature")
    page.go_back()  # back to the first search, its results and filters
    expect(page.locator("#q")).to_have_value("gene expression heat map")
    expect(page.locator(".hit")).to_have_count(13)
    # A shared link restores everything: query, filter, pages and the open record.
    fresh = page.context.new_page()
    fresh.goto(shared)
    expect(fresh.locator("#detail")).to_have_attribute("open", "")
    expect(fresh.locator("#q")).to_have_value("gene expression heat map")
    expect(fresh.locator("#label")).to_have_value("genomics")
    expect(fresh.locator(".hit")).to_have_count(13)
    assert fresh.locator(f'.hit button[data-id="{record}"]').count() == 1
    fresh.click("#close")
    expect(fresh.locator("#detail")).not_to_have_attribute("open", "")
    fresh.wait_for_function("!location.search.includes('record=')")  # the close event is async
    assert _query_of(fresh)["q"] == "gene expression heat map"


def test_more_results_and_the_url_keep_the_filters_the_list_was_found_with(page):
    page.click("#options summary")
    page.fill("#label", "genomics")
    _search(page, "gene expression heat map")
    page.fill("#label", "climate")  # edited, not searched
    page.click("#more")
    expect(page.locator(".hit")).to_have_count(13)  # the genomics list goes on
    assert all("climate" not in t for t in page.locator(".hit .meta:not(.score)").all_inner_texts())
    page.wait_for_function("location.search.includes('pages=2')")
    assert _query_of(page) == {"q": "gene expression heat map", "label": "genomics", "pages": "2"}
    page.locator(".hit button").first.click()
    expect(page.locator("#detail")).to_have_attribute("open", "")
    assert _query_of(page)["label"] == "genomics"


def test_photo_search_clears_the_text_and_bad_uploads_say_so_plainly(page, tmp_path):
    from factories.service import image_bytes

    _search(page, "gene expression heat map")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image_bytes("blue", 42, "JPEG", size=200))
    page.set_input_files("#photo", str(photo))
    expect(page.locator("#status")).to_contain_text("captions")
    expect(page.locator("#q")).to_have_value("")
    assert "q" not in _query_of(page)
    expect(page.locator("#query-preview")).to_be_visible()
    # Not a picture at all: the browser cannot decode it, nothing is sent, no broken preview.
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    page.set_input_files("#photo", str(bogus))
    expect(page.locator("#status")).to_contain_text("JPEG, PNG or WebP")
    expect(page.locator("#query-preview")).to_be_hidden()
    assert page.locator(".hit").count() == 0
    # A picture the server refuses (GIF): its message is shown, with no library names in it.
    gif = tmp_path / "figure.gif"
    gif.write_bytes(image_bytes("red", 1, "GIF", size=64))
    page.set_input_files("#photo", str(gif))
    expect(page.locator("#status")).to_contain_text("only JPEG, PNG and WebP")
    expect(page.locator("#query-preview")).to_be_hidden()
    for text in (page.inner_text("#status"),):
        assert "PIL" not in text and "Traceback" not in text


def test_server_message_for_unreadable_upload_names_no_library(site):
    import urllib.error
    import urllib.request

    body = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\nnot an image\r\n--b--\r\n")
    request = urllib.request.Request(site + "/api/search/image", data=body, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    text = caught.value.read().decode()
    assert caught.value.code == 415 and "PIL" not in text and "JPEG, PNG or WebP" in text


def test_favicon_is_served_and_nothing_on_the_page_is_missing(browser, site):
    context = browser.new_context(**VIEWPORTS["desktop"])
    tab = context.new_page()
    failed = []
    tab.on("response", lambda r: failed.append((r.url, r.status)) if r.status >= 400 else None)
    tab.goto(site + "/")
    response = tab.request.get(site + "/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
    tab.wait_for_load_state("networkidle")
    context.close()
    assert failed == []


def _exact_scores(page) -> list[float]:
    """The hits' scores as the page compared them (data-score; the shown text is rounded to 3
    places, so a score in (-0.0005, 0) would read as -0.000)."""
    return [float(s) for s in page.locator(".hit").evaluate_all("els => els.map(e => e.dataset.score)")]


def test_facets_filter_on_click_and_weak_tails_are_flagged(page):
    expect(page.locator('#facets button[data-facet="label"]')).to_have_count(3)  # on the start page too
    _search(page, "gene expression heat map")
    scores = _exact_scores(page)
    first_weak = next((i for i, s in enumerate(scores) if s < 0), None)
    if first_weak:  # the note says where the list turns weak
        expect(page.locator("#status")).to_contain_text(f"from #{first_weak + 1} on")
    chip = page.locator('#facets button[data-facet="label"][data-value="climate"]')
    expect(chip).to_contain_text("12")
    chip.click()
    expect(page.locator("#label")).to_have_value("climate")
    page.wait_for_function("location.search.includes('label=climate')")
    expect(page.locator('#facets button[data-value="climate"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".hit")).to_have_count(12)
    assert all("climate" in t for t in page.locator(".hit .meta:not(.score)").all_inner_texts())
    # Genomics words against climate figures: the weak ones are flagged, and the page says where
    # the list turns weak (which scores fall below 0 is the model's business, not asserted here).
    scores = _exact_scores(page)
    assert page.locator(".hit.weak").count() == sum(s < 0 for s in scores)
    if scores and all(s < 0 for s in scores):
        expect(page.locator("#status")).to_contain_text("all weak matches")
    elif any(s < 0 for s in scores):
        first_weak = next(i for i, s in enumerate(scores) if s < 0)
        expect(page.locator("#status")).to_contain_text(f"from #{first_weak + 1} on")
    page.locator('#facets button[data-facet="year"]').first.click()
    expect(page.locator("#year_min")).to_have_value("2010")
    expect(page.locator(".hit")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
