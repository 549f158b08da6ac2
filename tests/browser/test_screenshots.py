"""The README screenshots' script runs on every browser pass, into a temporary folder.

``make screenshots`` runs this test with SCREENSHOTS_DIR=docs/screenshots to
refresh the committed images.
"""
import os
import struct
from pathlib import Path

import pytest

from tests.browser.screenshots import PAGES, WIDTHS, take_screenshots

pytestmark = pytest.mark.django_db(transaction=True)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk, the first after the signature."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_screenshots_of_the_four_pages_at_both_widths(browser, live_server, tmp_path):
    out_dir = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)

    saved = take_screenshots(browser, live_server.url, out_dir)

    expected = {out_dir / f"{page}-{width}.png" for page in PAGES for width in WIDTHS}
    assert set(saved) == expected
    for path in sorted(expected):
        width, height = png_size(path)
        assert width == int(path.stem.rsplit("-", 1)[1]), path.name
        assert height >= WIDTHS[width], path.name  # the whole page: at least one screenful
        assert path.stat().st_size < 300 * 1024, f"{path.name}: {path.stat().st_size} bytes"
