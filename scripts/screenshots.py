"""Log in to a running tilcare server and save a full-page PNG of each path.

    python scripts/screenshots.py --base http://127.0.0.1:8000 --user navigator \\
        --password '...' --out /tmp/shots /board/ /tasks/

Uses Playwright with Debian's Chromium (/usr/bin/chromium, or TILCARE_CHROMIUM); it never
downloads a browser. The password may also come from TILCARE_PASSWORD.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def file_name(path: str) -> str:
    """'/patients/12/edit/?tab=a' -> 'patients-12-edit-tab-a.png'; '/' -> 'index.png'."""
    return (re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "index") + ".png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="paths to capture, e.g. /board/")
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="server address")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default=os.environ.get("TILCARE_PASSWORD"))
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument(
        "--chromium", default=os.environ.get("TILCARE_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    if not args.password:
        parser.error("--password (or TILCARE_PASSWORD) is required")
    base = args.base.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.set_default_timeout(15_000)

        page.goto(f"{base}/accounts/login/")
        page.fill("input[name='username']", args.user)
        page.fill("input[name='password']", args.password)
        page.click("form [type='submit']")
        page.wait_for_load_state("networkidle")
        if "/accounts/login/" in page.url:
            print(f"login failed for {args.user!r} (still on {page.url})", file=sys.stderr)
            browser.close()
            return 1

        for path in args.paths:
            response = page.goto(base + "/" + path.lstrip("/"))
            page.wait_for_load_state("networkidle")
            target = args.out / file_name(path)
            page.screenshot(path=str(target), full_page=True)
            status = response.status if response else "?"
            print(f"{status} {path} -> {target}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
