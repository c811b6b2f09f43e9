"""Training speed, memory and the queue under a class's load, each measured in a fresh process.

`python -m benchmarks.load KIND EPOCHS` runs one training and prints its figures as JSON:
KIND is `plain` (the reference notebook's own Keras code), `ours` (the product: load MNIST and the
shipped model, then train the reference configuration) or `augmented` (the same with --augment).
`python -m benchmarks.load queue N` asks for N different short trainings at once through
mnist_core.jobs (this machine's queue, its own worker processes), as N students pressing Train in the
same minute, and prints the waits and memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_core.paths import CACHE_ENV


def peak_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _plain(epochs: int) -> dict:
    """The reference notebook's code, on the MNIST files shipped with the project."""
    import keras

    from mnist_core.data import load_mnist
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    train_images = x_train.reshape((60000, 28 * 28)).astype("float32") / 255
    test_images = x_test.reshape((10000, 28 * 28)).astype("float32") / 255
    ends = []
    model.fit(train_images, keras.utils.to_categorical(y_train), epochs=epochs, batch_size=128, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(time.perf_counter()))])
    _, accuracy = model.evaluate(test_images, keras.utils.to_categorical(y_test), verbose=0)
    return {"seconds": time.perf_counter() - start, "test_accuracy": float(accuracy), "epoch_ends": ends,
            "start": start}


def _ours(epochs: int, augment: bool) -> dict:
    from mnist_core import process
    process.without_pandas()  # as a training worker is (worker.serve)
    from mnist_core import TrainConfig, default_model, load_mnist
    from mnist_core.train import train
    start = time.perf_counter()
    load_mnist()
    default_model()  # what the app holds while someone trains
    ends = []
    result = train(TrainConfig(epochs=epochs, augment=augment), on_epoch=lambda e, logs: ends.append(time.perf_counter()))
    return {"seconds": time.perf_counter() - start, "test_accuracy": result.test_accuracy, "epoch_ends": ends,
            "start": start}


def _queue(n: int) -> dict:
    """n different one-epoch trainings requested at once; waits, failures, memory, and a drawing's
    read-out (canvas_to_mnist + predict_proba, the per-stroke work) while they train."""
    from mnist_core import TrainConfig, canvas_to_mnist, default_model, jobs, load_mnist, predict_proba
    from mnist_core.strokes import as_canvas, render

    from .synthetic import random_drawing
    load_mnist()
    model = default_model().model
    strokes, brush = random_drawing(5, np.random.default_rng(3))
    canvas = as_canvas(render(strokes, 1.0, (0.0, 0.0), brush), "rgba-transparent")
    start = time.perf_counter()
    started = [jobs.start_training(TrainConfig(epochs=1, seed=1000 + k), owner=f"student {k}") for k in range(n)]
    reads = []
    while not all(j.done.is_set() for j in started):
        t = time.perf_counter()
        predict_proba(model, canvas_to_mnist(canvas))
        reads.append((time.perf_counter() - t) * 1000)
        time.sleep(0.25)  # a stroke every quarter second
    waits = [j.started - j.requested for j in started if j.started is not None]
    from mnist_core import broker
    workers = [peak_mib(p.pid) for procs in broker._local.values() for p in procs]
    return {"n": n, "limit": jobs.limit(), "seconds": time.perf_counter() - start, "waits": waits,
            "failed": sum(j.state != "done" for j in started), "read_ms": reads, "worker_peaks": workers}


def child(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "queue":
        out = _queue(int(argv[1]))
    elif kind == "plain":
        out = _plain(int(argv[1]))
    else:
        out = _ours(int(argv[1]), augment=kind == "augmented")
    out["peak_mib"] = peak_mib()
    print("RESULT " + json.dumps(out))


def fresh(*args: str) -> dict:
    """Run child(args) in a fresh Python process with an empty model cache and this machine's prepared
    data (decoded MNIST, the test writers' page drawings): made once and kept on disk, so the
    first training after installing pays for them, not every training (make the data here if missing)."""
    import shutil

    from mnist_core.data import load_mnist
    from mnist_core.handwriting import reading_set
    from mnist_core.paths import cache_dir
    load_mnist()
    reading_set("test")
    with tempfile.TemporaryDirectory() as cache:
        shutil.copytree(cache_dir() / "mnist", Path(cache) / "mnist")
        env = dict(os.environ, **{CACHE_ENV: cache})
        if args[0] == "plain":  # the notebook runs with TensorFlow's defaults; importing mnist_core turns oneDNN off
            env["TF_ENABLE_ONEDNN_OPTS"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")
        out = subprocess.run([sys.executable, "-m", "benchmarks.load", *args], env=env, capture_output=True,
                             text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def _epochs(r: dict) -> list[float]:
    ends = r["epoch_ends"]
    return [b - a for a, b in zip([r["start"]] + ends, ends)]


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def bench_training(epochs: int = 10, rounds: int = 2) -> list[tuple]:
    """The reference configuration against the notebook's code, alternating, each in a fresh process
    (cold: imports, data, compilation included); the best round of each."""
    plain, ours = [], []
    for _ in range(rounds):
        plain.append(fresh("plain", str(epochs)))
        ours.append(fresh("ours", str(epochs)))
    p, o = min(plain, key=lambda r: r["seconds"]), min(ours, key=lambda r: r["seconds"])
    aug = fresh("augmented", "6")
    ref_epoch, aug_epoch = float(np.median(_epochs(o))), float(np.median(_epochs(aug)))
    return [
        (f"training the reference configuration, s/epoch ({epochs} epochs, batch 128, fresh processes, "
         f"best of {rounds})",
         f"{o['seconds'] / epochs:.2f} (ratio {o['seconds'] / p['seconds']:.2f}); test accuracy {o['test_accuracy']:.4f}",
         f"the notebook's plain Keras {p['seconds'] / epochs:.2f}; test accuracy {p['test_accuracy']:.4f}",
         "ratio ≤ 0.5"),
        ("augmented training (--augment), median s/epoch (6 epochs; the next epoch's images made while one trains)",
         f"{aug_epoch:.2f} (ratio {aug_epoch / ref_epoch:.2f})", f"a reference epoch {ref_epoch:.2f}", "ratio ≤ 2"),
        ("memory: peak RSS of one process that loads MNIST and the shipped model and trains the reference "
         f"configuration, MiB (highest of {rounds} fresh processes)", f"{max(r['peak_mib'] for r in ours):.0f}",
         f"the notebook's code alone {max(r['peak_mib'] for r in plain):.0f}", "≤ 800"),
    ]


def bench_queue(sizes=(12, 30)) -> list[tuple]:
    rows = []
    for n in sizes:
        r = fresh("queue", str(n))
        w = r["waits"]
        rows.append((f"queue: {n} different 1-epoch trainings requested at once ({r['limit']} run at once), "
                     "wait to start, s",
                     f"p50 {pct(w, 50):.1f} / p95 {pct(w, 95):.1f} / max {max(w):.1f}; {r['failed']} failed",
                     f"all done in {r['seconds']:.0f} s", "none lost"))
        rows.append((f"queue: {n} trainings requested at once, peak RSS of the page's side (queue, watcher, "
                     "models received), MiB", f"{r['peak_mib']:.0f}",
                     f"each training worker's peak: {', '.join(f'{w:.0f}' for w in r['worker_peaks'])}",
                     "page ≤ 300, workers ≤ 800"))
        rows.append((f"queue: {n} trainings requested at once, canvas → probabilities while they train, ms",
                     f"p50 {pct(r['read_ms'], 50):.1f} / p95 {pct(r['read_ms'], 95):.1f}",
                     f"{len(r['read_ms'])} reads", "report"))
    return rows


def drawing_while_training(url: str, browser, page, trainings: int = 3, drawings: int = 10) -> tuple:
    """Mouse-up → Prediction in Chromium while other people's trainings fill the queue: `trainings`
    more browsers each press Train with different settings, then this page draws."""
    from .browser import draw_and_read, open_app, reset_canvas, set_epochs
    from .synthetic import random_drawing
    others = []
    for k in range(trainings):  # long trainings (100 epochs and more), so that the queue stays full
        other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        open_app(other, url)
        set_epochs(other, 100 + k)
        other.get_by_role("button", name="Train", exact=True).click()
        other.get_by_text("Training: epoch").or_(other.get_by_text("in the queue")).first.wait_for(timeout=60000)
        others.append(other)
    lat, correct = [], 0
    rng = np.random.default_rng(12)
    for i in range(drawings):
        strokes, _ = random_drawing(i % 10, rng)
        shown, ms = draw_and_read(page, strokes, timeout_ms=30000)
        lat.append(ms)
        correct += shown == str(i % 10)
        reset_canvas(page, timeout_ms=30000)
    running = sum(o.get_by_text("Training: epoch").count() > 0 for o in others)
    queued = sum(o.get_by_text("in the queue").count() > 0 for o in others)
    for other in others:  # withdraw them, so that they do not slow what is measured next
        other.get_by_role("button", name="Cancel training").click()
        other.context.close()
    return (f"browser: mouse-up → Prediction while {trainings} trainings fill the queue, ms "
            f"({drawings} drawings, {correct} read right)",
            f"p50 {pct(lat, 50):.0f} / p95 {pct(lat, 95):.0f}",
            f"at the end {running} training, {queued} queued", f"p50 ≤ {300 if trainings == 0 else 350}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("plain", "ours", "augmented", "queue"):
        sys.exit(__doc__)
    child(sys.argv[1:])
