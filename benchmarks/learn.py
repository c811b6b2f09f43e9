"""Learn my handwriting as a person meets it: in Chromium, on a server with its own worker, the seconds from a
click on the button to its report on the page (the model adapted in the worker, sent back, put in use).

Drawings of 1, 4, 7 and 9 by turns are drawn, corrected and saved; from the third on, Learn is pressed after each
and timed. --fresh starts from an empty cache (a new install: the worker's warm-up makes what every model is
measured on); the first click waits until `wait` seconds after the page opened.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .browser import app_server, draw_and_save, launch, open_app
from .synthetic import random_drawing


def learn_seconds(fresh: bool = False, clicks: int = 6, wait: float = 40) -> list[float]:
    from playwright.sync_api import sync_playwright

    from .speed import data_folder
    folder = Path(tempfile.mkdtemp(prefix="mnist-draw-learn-"))
    if not fresh:
        shutil.copytree(data_folder(), folder / "mnist")
    seconds = []
    try:
        with app_server(cache_dir=folder, db=folder / "drawings.sqlite", env={"MNIST_DRAW_BROKER": ""}) as (url, _, _p), \
                sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_app(page, url)
            opened, rng = time.monotonic(), np.random.default_rng(21)
            for k in range(clicks + 2):
                digit = (1, 4, 7, 9)[k % 4]
                draw_and_save(page, random_drawing(digit, rng)[0], digit, saved=k + 1)
                if k < 2:
                    continue
                time.sleep(max(1.0, wait - (time.monotonic() - opened)))
                start = time.monotonic()
                page.get_by_role("button", name="Learn my handwriting").click()
                page.get_by_text(f"This model learned your handwriting from your first {k + 1} drawings") \
                    .wait_for(timeout=120000)
                seconds.append(time.monotonic() - start)
                print(f"Learn after {k + 1} saved drawings: {seconds[-1]:.2f} s from click to report", flush=True)
            browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return seconds


def print_benchmark(fresh: bool = False, clicks: int = 6, wait: float = 40) -> int:
    seconds = learn_seconds(fresh, clicks, wait)
    print(f"click to report: median {statistics.median(seconds):.2f} s over {len(seconds)} clicks "
          f"({'an empty cache, ' if fresh else ''}first click {wait:.0f} s after the page opened)")
    return 0
