"""`python -m benchmarks speed` (`make bench`): speed and memory, each figure beside its plain baseline, one table."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import keras
import numpy as np

from mnist_core.canvas import canvas_to_mnist
from mnist_core.config import TrainConfig
from mnist_core.data import load_mnist
from mnist_core.network import prepare_images
from mnist_core.paths import CACHE_ENV
from mnist_core.predict import predict_proba
from mnist_core.strokes import as_canvas, render

from .load import bench_queue, bench_training, drawing_while_training
from .synthetic import random_drawing


def pct(values, q):
    return float(np.percentile(values, q))


def time_calls(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_classify(n=300):
    """The page's numpy forward pass on the shipped model's weights, beside Keras's on the same model."""
    from mnist_core.cache import default_model, read_model_file
    from mnist_core.paths import DEFAULT_MODEL_DIR
    network, (model, _) = default_model().model, read_model_file(DEFAULT_MODEL_DIR / "model.keras")
    strokes, brush = random_drawing(8, np.random.default_rng(3))
    canvas = as_canvas(render(strokes, 1.0, (0.0, 0.0), brush), "rgba-transparent")  # (280, 280, 4)
    ours = time_calls(lambda: predict_proba(network, canvas_to_mnist(canvas)), n)
    x = prepare_images((canvas_to_mnist(canvas)[None] * 255).astype(np.uint8))
    keras_predict = time_calls(lambda: model.predict(x, verbose=0), max(30, n // 10))
    direct = time_calls(lambda: model(x, training=False), n)
    return [("canvas → probabilities (canvas_to_mnist + predict_proba), ms",
             f"p50 {pct(ours, 50):.2f} / p95 {pct(ours, 95):.2f}",
             f"model.predict p50 {pct(keras_predict, 50):.1f} / p95 {pct(keras_predict, 95):.1f}; "
             f"model(x) p50 {pct(direct, 50):.2f}", "p50 ≤ 2")]


def bench_load():
    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get(CACHE_ENV)
        os.environ[CACHE_ENV] = tmp
        try:
            t = time.perf_counter()
            load_mnist()
            cold = time.perf_counter() - t
            from mnist_core.data import MNIST_DIR, _load
            warm = min(time_calls(lambda: _load(MNIST_DIR), 3)) / 1000  # a new process: the disk cache
        finally:
            if old is None:
                del os.environ[CACHE_ENV]
            else:
                os.environ[CACHE_ENV] = old
    return [("load_mnist, s", f"warm {warm:.3f} (later calls in a process: the shared copy)",
             f"cold (gunzip, verify, decode) {cold:.2f}", "warm ≤ 0.3")]


def bench_cache_hit():
    """load_or_train of a config trained before, in a fresh folder, beside training it."""
    from mnist_core.cache import load_or_train
    with tempfile.TemporaryDirectory() as folder:
        config = TrainConfig(epochs=1)
        trained = load_or_train(config, cache_dir=folder).seconds
        hits = time_calls(lambda: load_or_train(config, cache_dir=folder), 5)
    return [("load_or_train, cache hit (1-epoch reference config), s", f"p50 {pct(hits, 50) / 1000:.3f}",
             f"training it: {trained:.1f}", "< 1")]


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(script: Path | None, cache: str) -> tuple[float, float | None]:
    """Seconds from starting the server to a page in Chromium ready to read a drawing (the canvas and the
    Prediction read-out shown), and for the app, ms from the mouse-up of its first drawing (a 1) to its
    Prediction; for a baseline page, seconds to its title."""
    from playwright.sync_api import sync_playwright

    from .browser import app_server, draw_and_read, launch, open_app
    first_ms = None
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        kwargs = {"script": script} if script else {}
        with app_server(cache_dir=cache, **kwargs) as (url, healthy, proc):
            start = time.perf_counter() - healthy
            if script:
                page.goto(url)
                page.locator("h1").first.wait_for(timeout=60000)
                page.locator("canvas.upper-canvas").or_(page.get_by_text("A bare Streamlit page")).first.wait_for()
            else:
                open_app(page, url)
            seconds = time.perf_counter() - start
            if not script:
                shown, first_ms = draw_and_read(page, [np.array([[280, 60], [280, 220]], float)])
                assert shown == "1"
        browser.close()
    return seconds, first_ms


def bench_browser(drawings=20):
    from .browser import app_server
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        shutil.copytree(data_folder(), Path(cache) / "mnist")
        starts = {"bare": [], "canvas": [], "app": []}
        for _ in range(3):  # alternated: the machine's speed drifts
            starts["bare"].append(_start(Path(__file__).with_name("bare_app.py"), cache))
            starts["canvas"].append(_start(Path(__file__).with_name("canvas_app.py"), cache))
            starts["app"].append(_start(None, cache))
        m = {k: float(np.median([s for s, _ in v])) for k, v in starts.items()}
        rows.append(("app start: server start → the page in Chromium ready to read a drawing (canvas and read-out "
                     "shown), s (median of 3, alternated); then its first drawing's mouse-up → Prediction, ms",
                     f"{m['app']:.2f} (each {', '.join(f'{s:.2f}' for s, _ in starts['app'])}); first drawing "
                     f"{float(np.median([ms for _, ms in starts['app']])):.0f} ms",
                     f"a bare Streamlit page {m['bare']:.2f}; a bare page with the canvas alone {m['canvas']:.2f}",
                     "≤ 3"))
    with tempfile.TemporaryDirectory() as cache:
        shutil.copytree(data_folder(), Path(cache) / "mnist")
        with app_server(cache_dir=cache, env={"MNIST_DRAW_TRAININGS": "2"}) as (url, healthy, proc):
            rows += _one_server(url, proc, drawings)
            for sessions in (1, 4, 8):  # one server: its memory after each round is a class's, so far
                rows.append(_concurrent(url, proc, sessions))
    return rows


def _one_server(url, proc, drawings) -> list[tuple]:
    """Drawing idle, the page's memory, drawing while two trainings run, and after a training."""
    from playwright.sync_api import sync_playwright

    from .browser import children, draw_and_read, launch, open_app, process_report, reset_canvas, set_epochs
    rows = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_app(page, url)
        lat, correct = [], 0
        rng = np.random.default_rng(11)
        for i in range(drawings):
            strokes, _ = random_drawing(i % 10, rng)
            shown, ms = draw_and_read(page, strokes, quick=False)  # every point, as measured before
            lat.append(ms)
            correct += shown == str(i % 10)
            reset_canvas(page)
        rows.append((f"browser: mouse-up → Prediction shown, ms ({drawings} drawings, {correct} read right)",
                     f"p50 {pct(lat, 50):.0f} / p95 {pct(lat, 95):.0f}", "the canvas's own debounce: 200",
                     "p50 ≤ 300"))
        web = process_report(proc.pid)
        rows.append(("memory: the page's process (Streamlit), page loaded and 20 digits drawn: RSS MiB; "
                     "TensorFlow or Keras loaded", f"{web['rss_mib']:.0f}; {'yes' if web['tensorflow'] else 'no'}",
                     "", "≤ 300; no"))
        rows.append(drawing_while_training(url, browser, page, trainings=2, drawings=drawings))
        set_epochs(page, 1)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Using your model").wait_for(timeout=300000)
        web = process_report(proc.pid)
        workers = [_rss_peak_mb(c) for c in children(proc.pid)]
        rows.append(("memory: the page's process after trainings finished (2 cancelled, 1 epoch trained), RSS "
                     "MiB; TensorFlow or Keras loaded", f"{web['rss_mib']:.0f}; {'yes' if web['tensorflow'] else 'no'}",
                     f"peak RSS of each training worker (they trained all three): "
                     f"{', '.join(f'{w:.0f}' for w in workers)}", "≤ 300; no; workers ≤ 800"))
        browser.close()
    return rows


def data_folder() -> Path:
    """This machine's prepared data (decoded MNIST, the test writers' page drawings), made if missing."""
    from mnist_core.handwriting import reading_set
    from mnist_core.paths import cache_dir
    load_mnist()
    reading_set("test")
    return cache_dir() / "mnist"


def _concurrent(url, proc, sessions, per_session=5):
    from .browser import draw_and_read, launch, open_app, playwright_in_thread, process_report, reset_canvas
    lat, errors = [], []
    ready = threading.Barrier(sessions)

    def user(k):
        try:
            with playwright_in_thread() as p:
                b = launch(p)
                page = b.new_page(viewport={"width": 1400, "height": 900})
                open_app(page, url)
                ready.wait(timeout=300)
                rng = np.random.default_rng(100 + k)
                for i in range(per_session):
                    strokes, _ = random_drawing((i + k) % 10, rng)
                    lat.append(draw_and_read(page, strokes, timeout_ms=30000, quick=False)[1])
                    reset_canvas(page, timeout_ms=30000)
                b.close()
        except Exception as e:  # counted and reported, not hidden
            errors.append(f"{type(e).__name__}: {e}"[:200])
            print(f"session {k} failed: {errors[-1]}", file=sys.stderr)
            ready.abort()

    threads = [threading.Thread(target=user, args=(k,)) for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figure = f"p50 {pct(lat, 50):.0f} / p95 {pct(lat, 95):.0f}" if lat else "none"
    rss = process_report(proc.pid)["rss_mib"]  # the sessions closed: what the server keeps of everyone so far
    return (f"concurrency: {sessions} browser session(s) drawing at once, mouse-up → Prediction, ms; the page's "
            "process's RSS after them, MiB",
            f"{figure}; {rss:.0f}", f"{len(lat)} drawings, {len(errors)} failed sessions", "report; ≤ 300")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import tensorflow as tf
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; {platform.platform()}; Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, numpy {np.__version__}")


NOTES = """Notes:
- Each figure is beside its baseline measured in the same run, on the same data. Absolute
  figures move with the shared machine: on 2026-11-26 `model(x)` took 8-17 ms from one minute to
  the next (5.9 ms on 2026-11-25), and canvas → probabilities 2.1-3.4 ms, the code of 2026-11-25
  read alternately with today's on the same drawing the same (its canvas_to_mnist and
  predict_proba are unchanged): read a figure against its baseline.
- Training runs each epoch as one XLA program: a loop over the epoch's batches (mnist_core/train.py,
  _Trainer) that reads the uint8 images from the one shared copy of MNIST, then measures the test
  set with a numpy forward pass. Keras's fit calls into TensorFlow once per batch (with
  steps_per_execution too): its epochs took 1.3-2.6 s here, the loop's 0.8-1.1 s. Both sides run in
  fresh processes, cold (compilation included), and reach the same test accuracy. The product's
  figure includes what the notebook does not do: loading the shipped model, the test pass after
  every epoch, and measuring real handwriting by held-out writers at the end (~0.15 s). Every fresh
  process gets this machine's prepared data (decoded MNIST, the held-out writers' drawings), which
  are made once and kept on disk. On this shared machine epochs swing by ±30% from one minute to
  the next: read the ratio to about ±0.05.
- Augmented epochs: the distortion is two XLA calls per chunk, warp then re-stroke, made in a
  background thread while the previous epoch trains. In one call XLA fused the warp's sampling into
  each of the 18 neighbour reads of the re-stroking and redid it: 2.8 s for 60,000 images, now 0.6-0.7.
  The first augmented epoch also flags some 1s and strikes some 0s through (~4 s and ~6 s).
- Memory, step by step (2026-11-27): importing TensorFlow and Keras 562 MiB (343 of it shared
  libraries' pages; Keras also imports pandas, installed for Streamlit: +76), mnist_core +12, MNIST
  +53 (the training images are one TensorFlow tensor that numpy views: no second copy), the shipped
  model +11, the first epoch +136-150 (XLA's first compilation: a trivial XLA program alone costs
  +58; the epoch's program peaks ~+150), later epochs +0-7. Without XLA the peak is ~720 MiB but
  epochs take 1.5-1.75 s. Kept: oneDNN off (-6 to -20 MiB), two malloc arenas (-5 to -15), the test
  set measured 1024 images at a time (-60: no float copy, no 20 MB activations), the epoch's own
  loss and accuracy rather than Keras's metric objects in the loop (-10 to -20). Tried and not kept:
  XLA's persistent compilation cache (TF_XLA_FLAGS=--tf_xla_persistent_cache_directory): a later
  process loads the compiled program and peaks at 724 MiB, but one damaged or unwritable cache file
  fails every training; a fixed malloc mmap threshold (-20, epochs 20-40% slower); XLA flags that
  shrink its compilation (fusion emitters off: 748 MiB, epochs 1.5 s).
- RSS counts the shared libraries' pages a process has mapped, and how many depends on the kernel's page
  cache: the files pip has just written stay cached in large pieces that are mapped whole, and until
  2026-12-04 the same code read ~90-140 MiB more right after an install (importing TensorFlow and Keras
  705 MiB, RssFile 481, against 567 and 343 once those files had left the cache; each training worker
  832-872 against 734-761). So `make setup` now writes the virtualenv's files to disk and drops them from
  the cache (tools/settle_install.py): in a clone installed minutes before, the import reads 567 MiB, and
  this table's `make bench` (run at once after a fresh clone's `make setup`) each worker 741-766.
- The queue (2026-12-01): trainings run in worker processes (mnist_core/worker.py) that take them off
  a Huey queue; the page's process imports no TensorFlow and reads every model from numpy arrays. The
  queue rows run one worker (one per two cores); "peak RSS of the page's side" is the process that
  asked for the trainings and received every model. A worker's peak: TensorFlow and Keras alone take
  ~560 MiB; a reference training went from 815-850 MiB to 733-755 (2026-12-02) because a worker does
  not import pandas (Keras imports it only to accept DataFrames: -55), gives the heap's free pages back
  after each task and after warming up (malloc_trim), converts arrays to tensors flat (TensorFlow held
  two copies of a 3-D uint8 array), and augments in chunks of 1,000 padded to one compiled shape. Its
  warm-up (adapting the shipped model to a few digits while idle, so that "Learn my handwriting" does
  not wait for a compilation) is given back before the first training. An augmented training still
  peaks ~960 MiB. One browser-row worker read 819 once (of 4; 752 beside it) and was not reproduced.
  Every TensorFlow process's peak moves with the machine: on 2026-12-04 the same code read 714-766 in the
  morning, 828-870 in the afternoon (an install an hour old: the page cache, above) and 717-762 in the
  evening, the notebook's 1214, 1321 and 1215. The import alone shows where: file pages of TensorFlow's shared
  library mapped in, not memory of our own. Importing TensorFlow and Keras read RssAnon 224 MiB and RssFile
  450 that afternoon (libtensorflow_cc.so.2 alone 315), 229 and 351 that evening, ~219 and 343 on 2026-11-27
  (/proc/self/status after `import tensorflow, keras`). XLA flags that might shrink the first epoch's
  compilation changed nothing that evening (a reference training of 2 epochs, twice each: 711-722 MiB as
  shipped; 707-718 with --xla_cpu_parallel_codegen_split_count=1, --xla_llvm_disable_expensive_passes or
  --xla_backend_optimization_level=1).
  The page's workers start from one long-lived thread: Linux ends a child whose parent *thread* ends
  (PR_SET_PDEATHSIG), and until 2026-12-02 they were started from a timer and so died at once: the
  first training or adaptation waited for a cold worker (on the page, 9.3 s from the click to an
  adapted model; now 2.5 s).
- Start-up: the page is ready when Chromium shows the canvas and the Prediction read-out. app.py is an
  st.App whose lifespan hook, at the server's start and in a thread while the server already answers,
  imports what the first run would (pandas among them: Streamlit imports it to look at the canvas's
  settings, 0.42 s) and scipy.ndimage (reading a drawing imports it: a first drawing soon after the start
  read in 337 ms, not 449), loads MNIST's arrays and the shipped model's, and checks the settings; the
  page's workers start 6 s later (their TensorFlow import slowed a first page that overlapped it: by ~0.9 s
  when they started with it, by ~0.15 s when they started 3 s after the server). The script's first run
  then takes ~0.25 s instead of ~0.95; the rest is Chromium rendering the page (its Vega-Lite chart's
  library, 0.77 MB, among it: leaving the chart out until the first drawing made the page ready 0.13 s
  sooner and that drawing 10 ms slower, not worth an empty space). The tabs' modules are imported 6 s
  after the start or when their tab opens, Altair only with a chart.
  page.py served alone (as app.py was until 2026-12-03) against app.py, alternated in one run: median
  2.88 → 2.55 s, and 3.71 → 3.14 s on a slower hour (a bare page 1.49 and 1.79).
- Drawing while the queue is full: the workers run at nice 10 as whole processes
  (mnist_core/process.py), so a drawing's Prediction comes first.
- Concurrency: every session is its own headless Chromium on the same 2 cores as the server, so
  at 4 and 8 sessions the browsers' own rendering takes most of the CPU (a drawing costs its
  renderer ~0.8 s of CPU, a page load ~3 s); the figures show how the whole machine degrades, not the
  server alone. No drawing went without a prediction.
- Browser latency runs from the last mouse-up until the Prediction for the whole drawing shows
  (the read-out is then left still for 0.7 s to be sure it is final), and includes the canvas's
  own 200 ms debounce. Traced in Chromium (DevTools timestamps): the canvas sends its PNG 202-205 ms
  after mouse-up, the server answers within 10-25 ms, and the browser renders the new read-out in
  30-50 ms. Two fixes took the p50 from 285-347 ms to about 255: long-lived objects are frozen out
  of Python's garbage collector (Streamlit and Keras each ran a full collection after every run,
  70-180 ms with TensorFlow loaded), and only the open tab is rendered. The p50 moves by 10-20 ms
  from run to run."""


def main(args) -> int:
    benches = [bench_classify, bench_load, bench_cache_hit]
    if not args.quick:
        benches += [bench_training, bench_queue, bench_browser, bench_list_of_runs]
    rows, failed = [], 0
    for bench in benches:
        try:
            rows += bench()
        except Exception as e:  # the table says which part failed; the run fails too
            failed += 1
            rows.append((getattr(bench, "__name__", "bench"), "FAILED", f"{type(e).__name__}: {e}"[:160], ""))
        print(*rows[-1], sep=" | ", flush=True)
    header = ("what", "ours", "baseline, same run", "target")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(
            "# Benchmarks\n\nMeasured by `make bench` (`python -m benchmarks speed --out BENCHMARKS.md`) on "
            f"{time.strftime('%Y-%m-%d')}.\n\nMachine: {machine()}.\n\n{table}\n\n{NOTES}\n")
        print(f"written to {args.out}")
    return 1 if failed else 0


def bench_list_of_runs(runs: int = 20, drawings: int = 20, rounds: int = 2) -> list[tuple]:
    """Mouse-up → Prediction for a person with `runs` trainings on their list against one with none, in the
    same server, alternated: the list lives in the Training tab and must cost a drawing nothing. The runs are
    one trained model's cache entry copied under twenty settings (seeds): the page reads them as trainings."""
    import json

    from playwright.sync_api import sync_playwright

    from mnist_core.cache import cache_key, entry_path, load_or_train
    from mnist_core.user_drawings import Drawings

    from .browser import app_server, draw_and_read, launch, open_app, open_tab, reset_canvas
    lat = {0: [], runs: []}
    with tempfile.TemporaryDirectory() as cache:
        shutil.copytree(data_folder(), Path(cache) / "mnist")
        db = Path(cache) / "drawings.sqlite"
        models = Path(cache) / "models"
        trained = load_or_train(TrainConfig(epochs=1), cache_dir=models)
        source = Path(trained.extra["cache_path"])
        people = {0: "0" * 32, runs: "f" * 32}  # two browser ids, as the page writes them
        for k in range(runs):
            config = TrainConfig(epochs=1, seed=100 + k)
            target = entry_path(config, models)
            meta = json.loads(source.with_suffix(".json").read_text())
            meta["config"] = config.to_dict()
            for suffix in ("keras", "npz"):
                shutil.copy(source.with_suffix("." + suffix), target.with_suffix("." + suffix))
            target.with_suffix(".json").write_text(json.dumps(meta))
            Drawings(db, owner=people[runs]).add_training(cache_key(config), config.to_dict())
        with app_server(cache_dir=cache, db=db) as (url, _, _), sync_playwright() as p:
            browser = launch(p)
            pages = {}
            for n, who in people.items():
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_cookies([{"name": "mnist_draw_id", "value": who, "url": url}])
                pages[n] = context.new_page()
                open_app(pages[n], url)
                open_tab(pages[n], "3 · Training and testing")  # the list shown once
                pages[n].get_by_text("Your trainings").first.wait_for(timeout=60000)
                open_tab(pages[n], "✏️ Draw a digit")
            rng = np.random.default_rng(13)
            for i in range(rounds * drawings):
                n = (0, runs)[i % 2]  # alternated
                pages[n].bring_to_front()
                strokes, _ = random_drawing(i % 10, rng)
                lat[n].append(draw_and_read(pages[n], strokes, timeout_ms=30000, quick=False)[1])
                reset_canvas(pages[n], timeout_ms=30000)
            browser.close()
    return [(f"browser: mouse-up → Prediction with {runs} trainings on the person's list, ms ({len(lat[runs])} "
             "drawings, alternated with a person with none)",
             f"p50 {pct(lat[runs], 50):.0f} (ratio {pct(lat[runs], 50) / pct(lat[0], 50):.2f})",
             f"no trainings on the list: p50 {pct(lat[0], 50):.0f}", "ratio 0.9-1.1")]
