"""Screenshots of `cledger serve`'s main pages over the 1996 scenario, in Debian's headless Chromium.

    python scripts/web_screenshots.py [--out docs] [--pages status,liens,...]

Writes docs/web-<page>.png (the README shows one). Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.web_ledgers import running_server, scenario_ledger  # noqa: E402

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {
    "status": "/?as_of=1996-06-20&known_at=1996-12-31",
    "liens": "/liens?as_of=1996-02-01&known_at=1996-03-15",
    "collateral": "/collateral?as_of=1996-03-15&known_at=1996-12-31",
    "defaults": "/defaults?as_of=1996-06-20&known_at=1996-12-31",
    "events": "/events?as_of=1996-06-20&known_at=1996-12-31&party=cit",
    "restatement": "/restatement?as_of=1996-02-01&known_at=1996-12-31&from=1996-03-01&to=1996-03-15",
}


def _shrink(path: Path) -> None:
    """A page is a few flat colours: a 256-colour palette keeps it sharp at a third of the size."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="cledger-shots-") as folder:
        url = scenario_ledger(Path(folder) / "ledger.db")
        with running_server(url) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            for name in args.pages.split(","):
                page.goto(base + PAGES[name])
                path = out / f"web-{name}.png"
                page.screenshot(path=str(path))
                _shrink(path)
                print(f"wrote {path}")
            browser.close()


if __name__ == "__main__":
    main()
