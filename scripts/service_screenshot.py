"""Screenshot of the search page with results, for the README and docs/service.md.

    .venv/bin/python scripts/service_screenshot.py LIB "heat map of gene expression" \
        --out docs/screenshot-search.png

Serves LIB in a background thread, opens the page in headless Chromium (Debian's
``/usr/bin/chromium`` by default), runs the query and saves a PNG of the viewport (palette-
quantised to stay small). ``--phone`` takes a 390 px wide phone view instead; ``--options``
opens the filter options first; ``--detail`` opens the first hit's detail view.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("library")
    parser.add_argument("query")
    parser.add_argument("--out", default="docs/screenshot-search.png")
    parser.add_argument("--phone", action="store_true", help="390 x 844 phone viewport")
    parser.add_argument("--options", action="store_true", help="open the Options (filters) first")
    parser.add_argument("--detail", action="store_true", help="open the first hit's detail view")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--colours", type=int, default=128, help="palette size of the saved PNG")
    args = parser.parse_args(argv)

    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from scicmr.service import Settings, create_app
    from scicmr.service.background import BackgroundServer

    viewport = {"width": 390, "height": 844} if args.phone else {"width": 1280, "height": 860}
    with BackgroundServer(create_app(Settings(library=args.library))) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport=viewport, device_scale_factor=1, is_mobile=args.phone,
                                color_scheme="light")
        page.goto(base_url + "/")
        if args.options:
            page.click("#options summary")
        page.fill("#q", args.query)
        page.press("#q", "Enter")
        expect(page.locator(".hit")).not_to_have_count(0)
        page.wait_for_load_state("networkidle")  # every thumbnail fetched
        if args.detail:
            page.locator(".hit button").first.click()
            expect(page.locator("#detail")).to_have_attribute("open", "")
            page.wait_for_load_state("networkidle")
        png = page.screenshot()
        browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(args.colours, method=Image.Quantize.MEDIANCUT)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)
    print(f"{out}: {image.width}x{image.height}, {out.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
