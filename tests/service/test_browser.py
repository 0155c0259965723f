"""End to end in headless Chromium (Debian's, driven by Playwright): a phone-sized page types
a query and sees results, uploads a photo and sees results, opens a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories.service import browser_marks  # noqa: E402

pytestmark = browser_marks()
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytest.importorskip("fastapi")

from playwright.sync_api import expect  # noqa: E402

from factories.service import build_library, image_bytes, served  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    library = build_library(tmp_path_factory.mktemp("service-browser"))
    with served(library) as base_url:
        yield base_url


@pytest.fixture
def phone(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site + "/")
    yield page
    context.close()
    assert errors == [], errors


def _labels_of_hits(page):
    return page.locator(".hit .meta:not(.score)").all_inner_texts()


def test_type_a_query_and_see_results(phone):
    phone.fill("#q", "gene expression heat map")
    phone.press("#q", "Enter")
    phone.wait_for_selector(".hit img")
    assert phone.locator(".hit").count() == 12
    assert "of 36 figures" in phone.inner_text("#status")
    assert sum("genomics" in text for text in _labels_of_hits(phone)[:5]) >= 4
    # Thumbnails really load and decode.
    first = phone.locator(".hit img").first
    first.scroll_into_view_if_needed()
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") > 0
    phone.click("#more")
    expect(phone.locator(".hit")).to_have_count(24)
    phone.locator(".hit button").first.click()
    expect(phone.locator("#detail")).to_have_attribute("open", "")
    assert "genomics" in phone.inner_text("#detail-meta")
    expect(phone.locator("#detail-image")).to_have_js_property("complete", True)
    assert phone.locator("#detail-image").evaluate("img => img.naturalWidth") > 0


def test_upload_a_photo_and_see_results(phone, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image_bytes("blue", 42, "JPEG", size=200))
    phone.set_input_files("#photo", str(photo))
    phone.wait_for_selector(".hit")
    assert phone.is_visible("#query-preview")
    assert "captions" in phone.inner_text("#status")
    assert sum("climate" in text for text in _labels_of_hits(phone)[:5]) >= 4


def test_errors_are_shown_not_thrown(phone, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    phone.set_input_files("#photo", str(bogus))
    expect(phone.locator("#status")).to_contain_text("JPEG, PNG or WebP")
    assert phone.locator(".hit").count() == 0
