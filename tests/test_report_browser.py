"""The inspect-dataset report as a person opens it: from disk, in a real browser (headless Chromium), with no
console errors, every moving preview loaded, and a screenshot kept as a test artifact."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, require_rendering
from mimicdata.commands.inspect_dataset import inspect_dataset
from mimicdata.commands.report_html import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
ARTIFACTS = Path(os.environ.get("MIMICDATA_TEST_ARTIFACTS", REPO / ".test-artifacts"))


def _browser() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    pytest.skip(f"no headless browser ({', '.join(BROWSERS)}); .ci/run installs Debian's chromium")


def _open(page: Path, *extra: str) -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, the console messages it logged)."""
    done = subprocess.run(
        [_browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", *extra, "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_catches_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    _, console = _open(page)
    assert any("undefinedFunction" in line for line in console)


def test_the_report_loads_in_a_browser_without_errors_and_its_previews_play(built_sample, tmp_path):
    require_rendering()
    report = write_report(inspect_dataset(built_sample), tmp_path / "report")
    dom, console = _open(report)
    assert console == []
    total = re.search(r'data-previews-total="(\d+)"', dom)
    loaded = re.search(r'data-previews-loaded="(\d+)"', dom)
    assert total and loaded, "the page's script did not run to the end"
    assert int(total.group(1)) >= 6 and loaded.group(1) == total.group(1)  # a clip per source, the failure
    assert "unitree_csv:twitch" in dom and "too_short" in dom  # the clip table holds the failure

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "inspect_report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [_browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--window-size=1200,2400", f"--screenshot={shot}", report.resolve().as_uri()],
        capture_output=True, timeout=180, check=True,
    )
    import imageio.v2 as iio

    image = np.asarray(iio.imread(shot))
    assert image.shape[0] == 2400 and image[..., :3].std() > 20  # a page, not a blank
