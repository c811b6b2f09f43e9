"""Drive the real app in headless Chromium: start a server, draw with the mouse, read the page.

Used by the end-to-end tests and the benchmark; needs the `test` extras (Playwright) and Debian's
Chromium. Playwright's own browser download is never used (it needs the network).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from mnist_core.paths import PROJECT_DIR

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# Not --disable-frame-rate-limit: strokes are drawn twice as fast (Chromium hands the page one mouse move
# per frame), but pages that show a training's progress then take more CPU, and a drawing's Prediction
# while two trainings ran came 345 and 308 ms after mouse-up at 60 frames a second, 514 and 509 uncapped.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(cache_dir: str | Path | None = None, timeout: float = 60, log: Path | None = None,
               db: str | Path | None = None, address: str = "127.0.0.1", env: dict | None = None,
               script: Path = PROJECT_DIR / "app.py"):
    """`streamlit run app.py` (or script) on a free port of a loopback address (127.0.0.2 is one too, and
    a browser there is no localhost: as one on another machine, for the server); yields (url, seconds
    until healthy, process). env: more environment variables for the server."""
    port = free_port()
    env = dict(os.environ, **(env or {}))
    if cache_dir is not None:
        env["MNIST_DRAW_CACHE_DIR"] = str(cache_dir)
    if db is not None:
        env["MNIST_DRAW_DB"] = str(db)
    cmd = [sys.executable, "-m", "streamlit", "run", str(script),
           "--server.headless=true", f"--server.port={port}", f"--server.address={address}",
           "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
    out = open(log, "wb") if log else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{address}:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"streamlit did not answer within {timeout} s")
            time.sleep(0.1)
        yield url, time.perf_counter() - start, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()


_starting = threading.Lock()


@contextlib.contextmanager
def playwright_in_thread():
    """Playwright for one of several threads (each needs its own): drivers started at the same
    instant can hang (seen once in six), so they start one at a time."""
    from playwright.sync_api import sync_playwright
    with _starting:
        p = sync_playwright().start()
    try:
        yield p
    finally:
        p.stop()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Records, in the page's own clock, the last mouse-up and every change of the read-out: the
# Prediction value or the 28x28 picture of what the network sees (a new picture for every stroke).
_WATCH = """() => {
  window.__mouseUp = null; window.__changes = [];
  document.addEventListener('mouseup', () => { window.__mouseUp = performance.now(); }, true);
  const read = () => {
    let value = null, picture = null;
    for (const m of document.querySelectorAll('[data-testid="stMetric"]'))
      if (m.innerText.startsWith('Prediction')) {
        const v = m.querySelector('[data-testid="stMetricValue"]');
        value = v ? v.innerText.trim() : null;
      }
    for (const img of document.querySelectorAll('img'))
      if ((img.alt || '').startsWith('What the network sees') ||
          (img.closest('[data-testid="stImage"]') && img.closest('[data-testid="stImage"]').innerText.includes('What the network sees')))
        picture = img.getAttribute('src');
    return [value, picture];
  };
  let last = JSON.stringify(read());
  new MutationObserver(() => {
    const now = read(), key = JSON.stringify(now);
    if (key !== last) { last = key; window.__changes.push([performance.now(), now[0], now[1]]); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: ['src']});
}"""


def open_app(page, url: str, timeout_ms: int = 60000) -> None:
    page.goto(url)
    app_ready(page, timeout_ms)


def app_ready(page, timeout_ms: int = 60000) -> None:
    """Wait until the page shows the canvas and its read-out, then watch the read-out (see _WATCH)."""
    page.locator("canvas.upper-canvas").wait_for(state="visible", timeout=timeout_ms)
    page.get_by_text("Prediction").first.wait_for(timeout=timeout_ms)
    page.evaluate(_WATCH)


def prediction(page) -> str | None:
    return page.evaluate("""() => {
      for (const m of document.querySelectorAll('[data-testid="stMetric"]'))
        if (m.innerText.startsWith('Prediction'))
          return m.querySelector('[data-testid="stMetricValue"]').innerText.trim();
      return null; }""")


QUICK_HAND_PX = 12  # a quick hand's mouse: ~60 reports a second at ~700 px/s


def quick_hand(stroke: np.ndarray, spacing: float = QUICK_HAND_PX) -> np.ndarray:
    """stroke ((n, 2) canvas pixels) as a quicker hand's mouse reports it: each point at least spacing px
    from the last one kept, the first and last kept. Chromium draws one mouse move a frame, so a test's
    digit of ~60 points takes a second of rendering; about half of them draw the same digit at 28x28."""
    kept = [stroke[0]]
    for p in stroke[1:-1]:
        if np.hypot(*(p - kept[-1])) >= spacing:
            kept.append(p)
    return np.array(kept + [stroke[-1]]) if len(stroke) > 1 else stroke


def draw(page, strokes: list[np.ndarray], steps_per_segment: int = 1, quick: bool = True) -> None:
    """Draw strokes given in canvas pixels ((n, 2) arrays of x, y) with the mouse; quick: as a quick hand's
    mouse reports them (quick_hand), else every point."""
    canvas = page.locator("canvas.upper-canvas")
    # Wholly in view: scroll_into_view_if_needed leaves a canvas whose top is scrolled off as it is (after a
    # click lower down the page), and a stroke begun above the viewport is never drawn.
    canvas.evaluate("c => c.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    # Hover first, as a hand does: the canvas's toolbar (invisible until hovered) covers the top
    # 2 rem of the canvas and slides up out of the way 0.2 s after the pointer enters.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    time.sleep(0.3)
    for stroke in strokes:
        stroke = quick_hand(np.asarray(stroke, float)) if quick else stroke
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps_per_segment)
        page.mouse.up()


def choose(page, label, option):
    """Pick an option of a Streamlit selectbox by typing it, as a keyboard user does."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.fill(option)
    page.keyboard.press("Enter")


def no_exception(page) -> bool:
    """Whether the page shows no traceback."""
    return page.locator('[data-testid="stException"]').count() == 0


SETTLED = "document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"  # no script runs


def open_tab(page, name: str, timeout_ms: int = 60000) -> None:
    """Click a tab once no script runs, as a person does who sees the page, and wait until the tab is the open
    one and no script runs. Streamlit 1.67's tabs take the open tab from each run's reply, so a tab clicked
    while the run for the tab clicked before was still sending was switched back (1 in 32 quick clicks on a
    machine running four busy loops; none of 80 clicked once no script ran)."""
    page.wait_for_function(f"() => {SETTLED}", timeout=timeout_ms)
    page.get_by_role("tab", name=name).click()
    page.wait_for_function(f"() => {SETTLED} && [...document.querySelectorAll('[role=tab][aria-selected=true]')]"
                           f".some(t => t.innerText.trim() === {name!r})", timeout=timeout_ms)


def saved_count(page, timeout_ms: int = 30000) -> int:
    """The sidebar's "Mix in my drawings (N saved)", once no script runs and one is shown (during a rerun
    the old one stays beside the new one for a moment)."""
    page.wait_for_function(f"""() => {SETTLED} && [...document.querySelectorAll('p')]
                                   .filter(p => p.innerText.startsWith('Mix in my drawings (')).length === 1""",
                           timeout=timeout_ms)
    text = page.get_by_text("Mix in my drawings (").inner_text()
    return int(text.split("(")[1].split()[0])


def set_epochs(page, epochs: int) -> None:
    """Type a number of epochs into the sidebar, and leave the field so that the page takes it."""
    page.get_by_label("Epochs", exact=True).and_(page.locator("input")).fill(str(epochs))
    page.keyboard.press("Tab")
    time.sleep(0.7)


def reset_canvas(page, timeout_ms: int = 10000) -> None:
    """The toolbar's reset button, then wait until the page shows the blank-canvas read-out."""
    page.get_by_role("button", name="Reset canvas & history").click()
    page.wait_for_function("() => { for (const m of document.querySelectorAll('[data-testid=\"stMetric\"]'))"
                           " if (m.innerText.startsWith('Prediction'))"
                           " return m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '–';"
                           " return false; }", timeout=timeout_ms)


def draw_and_save(page, strokes, digit: int, saved: int, timeout_ms: int = 30000) -> tuple[str, float]:
    """Draw, correct the label to digit, save, and wait until the sidebar counts it (saved drawings in all);
    then reset the canvas for the next one. What the page read, and when (draw_and_read)."""
    read = draw_and_read(page, strokes, timeout_ms=timeout_ms)
    choose(page, "Correct label", str(digit))  # where the network read it wrong
    page.get_by_role("button", name="Save drawing").click()
    page.get_by_text(f"Mix in my drawings ({saved} saved)").wait_for(timeout=timeout_ms)
    reset_canvas(page, timeout_ms=timeout_ms)
    return read


def draw_and_read(page, strokes, timeout_ms: int = 10000, settle_ms: int = 700, quick: bool = True) -> tuple[str, float]:
    """Draw; the prediction shown for the whole drawing and ms from the last mouse-up until it showed.

    The canvas sends after each stroke, so the read-out of an earlier stroke can arrive after the
    last mouse-up: wait until the read-out has been still for settle_ms (longer than the canvas's
    200 ms debounce, so the last stroke has been sent) and Streamlit runs no script (a cold or busy
    server's run for the last stroke can take longer than settle_ms). The time is that of the last
    change of the Prediction value after the mouse-up; if the last stroke did not change the value,
    that of the last new picture.
    """
    page.evaluate("() => { window.__changes = []; window.__mouseUp = null; }")
    draw(page, strokes, quick=quick)
    page.wait_for_function("() => window.__changes.some(c => c[0] > window.__mouseUp && c[1] !== '–')",
                           timeout=timeout_ms)
    page.wait_for_function(f"() => performance.now() - window.__changes.at(-1)[0] > {settle_ms} && {SETTLED}",
                           timeout=timeout_ms, polling=50)
    up, changes = page.evaluate("() => [window.__mouseUp, window.__changes]")
    before = [c for c in changes if c[0] <= up]
    value = before[-1][1] if before else None
    shown = None  # when the final value appeared
    for when, new_value, _ in changes:
        if when > up and new_value != value:
            shown = when
        value = new_value
    if shown is None:
        shown = [c for c in changes if c[0] > up][-1][0]
    return prediction(page), shown - up


def process_report(pid: int) -> dict:
    """A running process, from outside (Linux /proc): its RSS in MiB, and whether TensorFlow (which
    Keras 3 imports here) is loaded: any of its shared libraries mapped into the process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {"rss_mib": rss, "tensorflow": "tensorflow" in maps or "/keras/" in maps}


def children(pid: int) -> list[int]:
    """The processes pid started (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out
