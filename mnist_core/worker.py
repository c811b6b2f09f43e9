"""A training worker: takes trainings off the queue (broker.py) one at a time and runs them, in a
process of its own at a lower CPU priority than the page. `python -m mnist_core worker`.

The process stays up between trainings, so its compiled trainers stay warm: learning a person's
handwriting takes about a second after the first (see train._Trainer, adapt.py).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

from . import broker, process
from .config import TrainConfig

WORKER_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
FORGET_WORKERS_AFTER = 60.0  # seconds of a worker's silence (by its own wall clock) before others drop its id
IDLE_POLL = 0.2  # seconds between looks at an SQLite queue with nothing on it (Redis waits for work itself)


# Ctrl-C (make run's terminal sends it to the page's workers too) or SIGTERM (a service manager's stop, and what
# a page's own workers get when the page's process ends): the training in hand fails with that reason, then this
# worker stops, its exit handlers run (TensorFlow's among them, which remove the ~5 files it writes into the
# temporary folder: a worker killed by SIGTERM's default left them there). Huey's execute takes a
# KeyboardInterrupt for the task's alone, so _stopping says it. A page's worker often gets two or more signals
# at once (the page's Ctrl-C, its stop, its death): the handler takes no lock and acts on the first alone. It set a
# threading.Event, whose lock a second signal inside the first handler waited on forever: a worker, orphaned,
# held 850 MiB for an hour and a half (seen once, by py-spy: five handlers deep, in the idle wait).
_stopping: list[int] = []  # the signal that stopped this worker, once one has


def _on_stop(signum, frame):
    if _stopping:  # stopping already: its clean-up and exit handlers go on undisturbed
        return
    _stopping.append(signum)
    raise KeyboardInterrupt


def exit_code() -> int:
    """A stopped worker's exit status, as a shell gives a process its signal ended: 130 (Ctrl-C), 143 (SIGTERM)."""
    return 128 + (_stopping[0] if _stopping else signal.SIGINT)


class Cancelled(Exception):
    """Raised inside a training whose every requester withdrew; nothing of it is cached."""


class _Given:
    """The page's drawings sent with a task, by fingerprint: what user_drawings.Drawings.for_training gives."""

    def __init__(self, drawings: dict):
        self.drawings = drawings

    def for_training(self, fingerprint: str):
        return self.drawings[fingerprint]


def run(config: dict, drawings: dict | None, task_id: str) -> dict:
    """One training, as the task's result: {"state": "done", "source", "files"} (the cache entry's files,
    see cache.entry_files), {"state": "cancelled"} or {"state": "failed", "error"}. Its epochs go to
    progress:<task_id> as they finish; a cancel:<task_id> flag stops it at the end of an epoch."""
    from .cache import entry_files, load_or_train
    h = broker.huey()
    start = time.monotonic()
    progress = {"worker": WORKER_ID, "pid": os.getpid(), "here": broker.here(), "epochs": [], "elapsed": 0.0}
    h.put(f"progress:{task_id}", progress)

    def on_epoch(epoch: int, logs: dict) -> None:
        progress["epochs"].append(logs)
        progress["elapsed"] = time.monotonic() - start
        h.put(f"progress:{task_id}", progress)
        if h.get(f"cancel:{task_id}", peek=True):
            raise Cancelled(f"training cancelled after epoch {epoch}")
    try:
        result = load_or_train(TrainConfig.from_dict(config), on_epoch=on_epoch,
                               drawings=_Given(drawings) if drawings else None)
        return {"state": "done", "source": result.source, "files": entry_files(Path(result.extra["cache_path"]))}
    except Cancelled:
        return {"state": "cancelled"}
    except KeyboardInterrupt:
        return {"state": "failed", "error": "its worker was stopped mid-training; press Train to train it again"}
    except Exception as e:  # reported on the page, in one line
        return {"state": "failed", "error": f"{type(e).__name__}: {e}"}
    finally:
        h.delete(f"cancel:{task_id}")


def _heartbeat(h, stop: threading.Event) -> None:
    beat = 0
    while not stop.is_set():
        beat += 1
        h.put(f"beat:{WORKER_ID}", (beat, time.time()))
        stop.wait(broker.BEAT)


def _register(h) -> None:
    """Add this worker to the broker's list, dropping ids silent for FORGET_WORKERS_AFTER seconds."""
    h.put(f"beat:{WORKER_ID}", (0, time.time()))
    alive = []
    for wid in h.get("workers", peek=True) or []:
        beat = h.get(f"beat:{wid}", peek=True)
        if beat is not None and time.time() - beat[1] < FORGET_WORKERS_AFTER:
            alive.append(wid)
        else:
            h.delete(f"beat:{wid}")
    h.put("workers", alive + [WORKER_ID])


def _warm_up() -> bool:
    """While nothing waits, the first time: learn a few MNIST digits into the shipped model, so that the
    data is loaded and adapting's trainer compiled (~2 s) before a person presses Learn my handwriting;
    then the test writers' page drawings, which every model is measured on once it has trained or adapted,
    if this cache has none yet (~7 s, once per cache: on a new install the first Learn my handwriting took
    15 s to report, not 3). Returns False (done: not again)."""
    from .adapt import adapt
    from .cache import default_model
    from .data import load_mnist
    from .handwriting import reading_set
    try:
        (x, y), _ = load_mnist()
        adapt(default_model().model, x[:20], y[:20])
        reading_set("test")
    except Exception as e:  # only a head start lost
        print(f"MNIST Draw worker {WORKER_ID}: warming up failed ({type(e).__name__}: {e})", flush=True)
    return False


def serve(parent: int | None = None, stop: threading.Event | None = None) -> None:
    """Take trainings off the queue until stopped (or, with parent, until that process is gone)."""
    own_process = stop is None
    if own_process:  # all of it at the lower priority, before it starts any thread
        process.in_background()
        process.without_pandas()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, _on_stop)
    stop = stop or threading.Event()
    from . import train  # noqa: F401  (TensorFlow, before this worker is seen: importing it holds Python for
    # seconds, heartbeats included, and a busy machine could take it for dead)
    h = broker.huey()
    _register(h)
    beating = threading.Thread(target=_heartbeat, args=(h, stop), name="heartbeat", daemon=True)
    beating.start()
    print(f"MNIST Draw worker {WORKER_ID}: taking trainings from {broker.address() or 'this machine'}'s queue",
          flush=True)
    warm = own_process  # warmed up in a worker process, not in a test's thread
    try:
        while not stop.is_set() and (parent is None or os.getppid() == parent):
            if _stopping:  # during a task: it has been reported
                raise KeyboardInterrupt
            task = h.dequeue()
            if task is not None:
                h.execute(task)
                process.give_back_memory()
            elif warm:
                warm = _warm_up()
                process.give_back_memory()
            else:
                stop.wait(IDLE_POLL)
    finally:
        stop.set()
