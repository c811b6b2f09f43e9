"""End to end: training from the real app in headless Chromium. Double clicks, closed tabs, three sessions at
once while one retrains, learning a person's handwriting, runs side by side, and a worker killed
mid-training: nothing crashes or is lost. The server, browser and page fixtures are in conftest.py."""

import re
import statistics
import threading
import time

import numpy as np
import pytest

from benchmarks.browser import (
    app_ready,
    app_server,
    choose,
    draw_and_read,
    draw_and_save,
    launch,
    no_exception,
    open_app,
    open_tab,
    playwright_in_thread,
    reset_canvas,
    set_epochs,
)
from benchmarks.synthetic import random_drawing
from mnist_core import TrainConfig, load_or_train
from mnist_core.cache import cache_key

pytestmark = pytest.mark.browser


@pytest.mark.slow
def test_double_click_two_tabs_and_a_closed_tab_train_once(newcomer, server):
    url, _, proc, _, cache, _ = server
    a, c, drawer = (newcomer.new_page() for _ in range(3))  # three tabs of one browser
    for page in (a, c, drawer):
        open_app(page, url)
    set_epochs(a, 2)
    set_epochs(c, 2)
    train_a = a.get_by_role("button", name="Train", exact=True)
    train_a.click()
    train_a.click()  # a double click
    c.get_by_role("button", name="Train", exact=True).click()  # the same settings in another tab
    a.get_by_text("Training: epoch").first.wait_for(timeout=60000)
    a.close()  # closed mid-training
    rng = np.random.default_rng(5)
    read = []
    for i in range(4):  # another tab keeps classifying meanwhile, with the shipped model
        strokes, _ = random_drawing(i % 10, rng)
        read.append(draw_and_read(drawer, strokes, timeout_ms=30000)[0])
        reset_canvas(drawer, timeout_ms=30000)
    assert sum(shown == str(i % 10) for i, shown in enumerate(read)) >= 3, read
    c.get_by_text("Using your model").wait_for(timeout=300000)
    assert no_exception(c) and no_exception(drawer)
    c.close()
    drawer.close()
    models = cache / "models"
    key = cache_key(TrainConfig(epochs=2))
    assert sorted(f.name for f in models.iterdir() if not f.name.endswith(".lock")) == \
        [f"{key}.json", f"{key}.keras", f"{key}.npz"]
    assert load_or_train(TrainConfig(epochs=2), cache_dir=models).source == "cache"  # sound
    assert proc.poll() is None


# Sessions drawing at once while one of them retrains: that the others' drawings are read meanwhile, and the trainer's
# next one by its new model, is the test. The load of a class (4 and 8 sessions) is measured by make bench, not here:
# six sessions took 45 CPU-s of the suite's ~400, three 24-28 (2026-12-04, measured after the test before it).
SESSIONS, DRAWINGS_EACH = 3, 2


@pytest.mark.slow
def test_sessions_draw_while_one_retrains(server):
    """Three browsers draw at once while one of them presses Train; then that one draws with its new model."""
    url, _, proc, *_ = server
    results, errors = [], []
    ready, opening = threading.Barrier(SESSIONS), threading.Lock()

    def session(k):
        try:
            with playwright_in_thread() as p:
                # A browser each: six contexts of one Chromium (threads connected over CDP) took more of the
                # machine than six browsers, 88-97 CPU-s and 48-54 s for this test against 75-82 and 43-46 (2026-12-04).
                b = launch(p)
                page = b.new_page(viewport={"width": 1400, "height": 900})
                with opening:  # one after another (six at once took 30-40 s on two cores); then all draw at once
                    open_app(page, url, timeout_ms=120000)
                ready.wait(timeout=180)
                if k == 0:
                    set_epochs(page, 1)  # not the double-click test's 2: this one must really retrain
                    page.get_by_role("button", name="Train", exact=True).click()
                rng = np.random.default_rng(50 + k)
                for i in range(DRAWINGS_EACH):
                    strokes, _ = random_drawing((i + k) % 10, rng)
                    shown, ms = draw_and_read(page, strokes, timeout_ms=60000)
                    results.append((k, shown, ms))
                    reset_canvas(page, timeout_ms=60000)
                if k == 0:  # the training shows as done, and its new model reads the next drawing
                    page.get_by_text("Using your model").wait_for(timeout=300000)
                    assert page.get_by_text("1 epoch").count() >= 1
                    strokes, _ = random_drawing(4, rng)
                    shown, _ = draw_and_read(page, strokes, timeout_ms=60000)
                    assert shown in list("0123456789")  # a digit, never blank
                if not no_exception(page):
                    errors.append(f"session {k} shows an exception")
                b.close()
        except Exception as e:
            errors.append(f"session {k}: {type(e).__name__}: {e}"[:300])
            ready.abort()

    threads = [threading.Thread(target=session, args=(k,)) for k in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == []
    assert len(results) == SESSIONS * DRAWINGS_EACH and all(s in list("0123456789") for _, s, _ in results)  # a digit, never blank
    lat = sorted(ms for *_, ms in results)
    p50 = lat[len(lat) // 2]
    print(f"\n{SESSIONS} sessions, one retraining: mouse-up to prediction p50 {p50:.0f} ms, max {lat[-1]:.0f} ms")
    assert proc.poll() is None  # the server stays up


def test_learn_my_handwriting_from_six_saved_drawings(browser, newcomer, server):
    """A person draws a random drawing of the digits 0-5 with the mouse (the shipped model reads at least 5 of
    the 6 right), corrects and saves each, presses "Learn my handwriting", and their next drawing is read by
    their adapted model; another browser's page still uses the shipped one. (Six, not ten: "a few drawings" is
    the promise, two different digits the page's minimum; each drawing saved here costs ~1.5 CPU-s of the suite.)"""
    from mnist_core.user_drawings import Drawings
    me, other = newcomer, browser.new_context(viewport={"width": 1400, "height": 1000})
    page, theirs = me.new_page(), other.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    for p in (page, theirs):
        open_app(p, server[0])
    rng = np.random.default_rng(11)
    read = [draw_and_save(page, random_drawing(digit, rng)[0], digit, saved=digit + 1) for digit in range(6)]
    right = sum(shown == str(digit) for digit, (shown, _) in enumerate(read))
    print(f"\nread {right}/6 correctly; mouse-up to prediction: median "
          f"{statistics.median(ms for _, ms in read):.0f} ms; wrong: "
          f"{[(d, shown) for d, (shown, _) in enumerate(read) if shown != str(d)]}")
    assert right >= 5, read
    mine = next(c["value"] for c in me.cookies() if c["name"] == "mnist_draw_id")
    assert sorted(Drawings(server[3], owner=mine).arrays()[2].tolist()) == list(range(6))
    page.get_by_role("button", name="Learn my handwriting").click()
    page.get_by_text("Using your model: the shipped model, adapted to your handwriting").wait_for(timeout=60000)
    page.get_by_text("This model learned your handwriting from your first 6 drawings").wait_for(timeout=30000)
    shown, _ = draw_and_read(page, random_drawing(3, rng)[0])
    assert shown in {str(d) for d in range(10)}
    assert page.get_by_text("adapted to your handwriting").count() >= 1  # the next drawing was read by it
    page.reload()  # a reload keeps the model in use
    app_ready(page)
    page.get_by_text("Using your model: the shipped model, adapted to your handwriting").wait_for(timeout=30000)
    theirs.reload()
    app_ready(theirs)
    assert theirs.get_by_text("Using the shipped model").count() == 1
    assert no_exception(page) and no_exception(theirs)
    other.close()

def _worker_pids(proc) -> list[int]:
    from benchmarks.browser import children
    return [c for c in children(proc.pid) if b"mnist_core\0worker" in open(f"/proc/{c}/cmdline", "rb").read()]


@pytest.mark.slow
def test_the_server_runs_without_tensorflow_and_a_worker_killed_mid_training_is_reported(browser, tmp_path,
                                                                                      data_cache):
    """A fresh server's process, checked from outside while it serves: no TensorFlow (nor Keras, which imports
    it) mapped in, RSS within 300 MiB, after a drawing and after a training. Its worker, killed with SIGKILL
    mid-training: the page says so in plain words, reads the next drawing, and a new worker takes over.
    (Not the file's server: after the sessions of the tests before this one, when six of them drew at once, it held
    302 MiB in a fresh clone's run; a fresh server holds ~210 after a drawing, ~260 after one person's tour.)"""
    with app_server(cache_dir=data_cache(tmp_path / "cache"), db=tmp_path / "drawings.sqlite",
                    env={"MNIST_DRAW_BROKER": ""}, log=tmp_path / "app.log") as (url, _, proc):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            _server_and_its_worker(context, url, proc)
        except Exception:
            print((tmp_path / "app.log").read_text()[-4000:])  # shown with the failure
            raise
        finally:
            context.close()


def _server_and_its_worker(context, url, proc):
    import os
    import signal
    from benchmarks.browser import process_report
    page = context.new_page()
    open_app(page, url)
    rng = np.random.default_rng(11)
    assert draw_and_read(page, random_drawing(4, rng)[0], timeout_ms=30000)[0] == "4"
    report = process_report(proc.pid)
    assert not report["tensorflow"] and report["rss_mib"] <= 300, report
    set_epochs(page, 60)
    page.get_by_role("button", name="Train", exact=True).click()
    # Some epochs done, whichever the page showed: it looks every second, and an epoch on an idle machine takes
    # less, so "epoch 1/60" itself can pass unseen (the test once waited for it in vain while the worker trained on).
    page.get_by_text(re.compile(r"Training: epoch [1-9]\d*/60")).first.wait_for(timeout=120000)
    [worker] = _worker_pids(proc)
    assert process_report(worker)["tensorflow"]  # the training is there
    os.kill(worker, signal.SIGKILL)
    page.get_by_text("The worker training it stopped").first.wait_for(timeout=60000)
    assert "Training failed" in page.inner_text("body") and no_exception(page)
    reset_canvas(page, timeout_ms=30000)
    assert draw_and_read(page, random_drawing(7, rng)[0], timeout_ms=30000)[0] == "7"
    deadline = time.monotonic() + 30
    while not (new := _worker_pids(proc)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert new and new != [worker]  # the server started a new worker
    report = process_report(proc.pid)
    assert not report["tensorflow"] and report["rss_mib"] <= 300, report


@pytest.mark.slow
def test_two_trainings_side_by_side_one_click_back_and_a_reload_keeps_them(browser, newcomer, server):
    """Train 1 and 2 epochs from the sidebar; the Training tab lists both; both chosen, one chart names both;
    one click makes the first the model in use; a reload keeps the list and the model; another browser's
    list does not show them, and the class table counts them. (1 and 2 epochs are the settings the tests before
    it in this file trained: after them, both come from the cache, as a class's repeated settings do; alone, the
    test trains them. 3 epochs cost the suite ~15 CPU-s of training.)"""
    url = server[0]
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = newcomer.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    open_app(page, url)
    for epochs in (1, 2):
        set_epochs(page, epochs)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(f"Using your model: {epochs} epoch").first.wait_for(timeout=180000)
    open_tab(page, "3 · Training and testing")
    page.get_by_text("Your trainings").wait_for(timeout=30000)
    grid = page.locator('[data-testid="stDataFrame"]').filter(has_text="in use").first
    for name in ("1 epoch", "2 epochs"):
        choose(page, "Compare (up to four)", name)
    page.get_by_text("What changed:").wait_for(timeout=30000)
    assert "2 epochs instead of 1 epoch" in page.inner_text("body")
    chart = page.locator('[data-testid="stVegaLiteChart"]').last
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(server[4] / "trainings.png"), full_page=True)
    legend = chart.inner_text() if chart.count() else ""
    svg = chart.locator("svg").first.inner_html() if chart.locator("svg").count() else ""
    assert "1 epoch" in legend + svg and "2 epochs" in legend + svg
    assert grid.count() == 1
    choose(page, "A training", "1 epoch")
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Use this model").click()
    page.get_by_text("Using your model: 1 epoch").first.wait_for(timeout=30000)
    page.reload()
    app_ready(page)
    page.get_by_text("Using your model: 1 epoch").first.wait_for(timeout=30000)
    open_tab(page, "3 · Training and testing")
    page.get_by_text("Compare (up to four)").wait_for(timeout=30000)
    assert page.get_by_text("2 epochs instead").count() == 0  # nothing chosen after a reload, but the list is there
    body = page.inner_text("body")
    assert "Your trainings" in body and no_exception(page)
    theirs = other.new_page()
    open_app(theirs, url)
    open_tab(theirs, "3 · Training and testing")
    theirs.get_by_text("Each model you train").wait_for(timeout=30000)  # their own list is empty
    theirs.get_by_text("What the class found").click()
    theirs.locator("td[role=gridcell]", has_text="2 epochs").first.wait_for(state="attached", timeout=30000)
    assert no_exception(theirs)
    other.close()
