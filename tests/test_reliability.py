"""Double clicks, several tabs, closed tabs, hostile cache files and load: nothing crashes or is lost."""

import threading
import time

import keras
import numpy as np
import pytest

from mnist_core import TrainConfig, load_or_train
from mnist_core.cache import cache_key, write_entry
from benchmarks.synthetic import random_drawing
from mnist_core.jobs import start_training
from mnist_core.train import TrainResult


def test_finished_jobs_are_bounded(small_training, monkeypatch):
    from mnist_core import jobs
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 2)  # the rule, not the number, is under test
    started = [start_training(TrainConfig(epochs=1, batch_size=2048, seed=100 + k))
               for k in range(jobs.KEEP_FINISHED + 3)]
    for job in started:
        assert job.done.wait(300) and job.error is None
    start_training(TrainConfig(epochs=1, batch_size=2048, seed=99)).done.wait(300)  # the next start tidies up
    kept = [c for c in jobs._jobs if c.seed >= 99]
    assert len(kept) <= jobs.KEEP_FINISHED + 1 and started[0].config not in jobs._jobs  # the oldest went
    assert load_or_train(started[0].config).source == "cache"  # its model is still on disk


def test_a_cached_model_that_would_run_code_is_refused_and_retrained(tmp_path, small_training):
    """Keras's safe mode: a Lambda layer's pickled code in a cache file is never executed."""
    config = TrainConfig(epochs=1, batch_size=2048, seed=12)
    marker = tmp_path / "code-ran"
    evil = keras.Sequential([keras.Input((784,)),
                             keras.layers.Lambda(eval(  # no closure: the path is a constant in its code
                                 f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")),
                             keras.layers.Dense(10, activation="softmax")])
    key = cache_key(config)
    fake = TrainResult(evil, config, {"loss": [0.1], "accuracy": [0.99]}, 0.1, 0.99, 1.0)
    write_entry(fake, tmp_path / f"{key}.keras", tmp_path / f"{key}.json")
    marker.unlink(missing_ok=True)  # building the model above ran the lambda once, here in the test
    result = load_or_train(config, cache_dir=tmp_path)
    assert result.source == "trained" and not marker.exists()
    assert [type(l).__name__ for l in result.model.layers] == ["Dense", "Dense"]


def test_a_crashed_writer_leaves_nothing_that_breaks_the_cache(tmp_path, small_training):
    config = TrainConfig(epochs=1, batch_size=2048, seed=13)
    key = cache_key(config)
    (tmp_path / f".{key}.123.tmp.keras").write_bytes(b"half a model")  # a writer killed mid-save
    (tmp_path / f"{key}.keras").write_bytes(b"PK\x03\x04 torn")  # model written, metadata never was
    result = load_or_train(config, cache_dir=tmp_path)
    assert result.source == "trained"
    assert load_or_train(config, cache_dir=tmp_path).source == "cache"


# ------------------------------------------------------------------------------ in the browser
import benchmarks.browser as browser_mod  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_cache):
    cache = data_cache(tmp_path_factory.mktemp("cache"))
    with browser_mod.app_server(cache_dir=cache) as (url, _, proc):
        yield url, cache, proc


def _settings(page, epochs):
    page.get_by_label("Epochs", exact=True).and_(page.locator("input")).fill(str(epochs))
    page.keyboard.press("Tab")
    time.sleep(0.7)


def _no_exception(page):
    return page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.browser
@pytest.mark.slow
def test_double_click_two_tabs_and_a_closed_tab_train_once(server):
    url, cache, proc = server
    with sync_playwright() as p:
        b = browser_mod.launch(p)
        a, c, drawer = (b.new_page(viewport={"width": 1400, "height": 900}) for _ in range(3))
        for page in (a, c, drawer):
            browser_mod.open_app(page, url)
        _settings(a, 2)
        _settings(c, 2)
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
            read.append(browser_mod.draw_and_read(drawer, strokes, timeout_ms=30000)[0])
            browser_mod.reset_canvas(drawer, timeout_ms=30000)
        assert sum(shown == str(i % 10) for i, shown in enumerate(read)) >= 3, read
        c.get_by_text("Using your model").wait_for(timeout=300000)
        assert _no_exception(c) and _no_exception(drawer)
        b.close()
    models = cache / "models"
    key = cache_key(TrainConfig(epochs=2))
    assert sorted(f.name for f in models.iterdir() if not f.name.endswith(".lock")) == [f"{key}.json", f"{key}.keras"]
    assert load_or_train(TrainConfig(epochs=2), cache_dir=models).source == "cache"  # sound
    assert proc.poll() is None


DRAWINGS_EACH = 2  # six sessions drawing at once while one retrains: the load, not the count, is the test


@pytest.mark.browser
@pytest.mark.slow
def test_six_sessions_draw_while_one_retrains(server):
    url, _, proc = server
    results, errors = [], []
    ready = threading.Barrier(6)

    def session(k):
        try:
            with browser_mod.playwright_in_thread() as p:
                b = browser_mod.launch(p)
                page = b.new_page(viewport={"width": 1400, "height": 900})
                browser_mod.open_app(page, url, timeout_ms=120000)
                ready.wait(timeout=180)
                if k == 0:
                    _settings(page, 1)  # not the double-click test's 2: this one must really retrain
                    page.get_by_role("button", name="Train", exact=True).click()
                rng = np.random.default_rng(50 + k)
                for i in range(DRAWINGS_EACH):
                    strokes, _ = random_drawing((i + k) % 10, rng)
                    shown, ms = browser_mod.draw_and_read(page, strokes, timeout_ms=60000)
                    results.append((k, shown, ms))
                    browser_mod.reset_canvas(page, timeout_ms=60000)
                if k == 0:
                    page.get_by_text("Using your model").wait_for(timeout=300000)
                if not _no_exception(page):
                    errors.append(f"session {k} shows an exception")
                b.close()
        except Exception as e:
            errors.append(f"session {k}: {type(e).__name__}: {e}"[:300])
            ready.abort()

    threads = [threading.Thread(target=session, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == []
    assert len(results) == 6 * DRAWINGS_EACH and all(s in list("0123456789") for _, s, _ in results)  # a digit, never blank
    lat = sorted(ms for *_, ms in results)
    p50 = lat[len(lat) // 2]
    print(f"\n6 sessions, one retraining: mouse-up to prediction p50 {p50:.0f} ms, max {lat[-1]:.0f} ms")
    assert proc.poll() is None  # the server stays up
