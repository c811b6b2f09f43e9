"""Trainings in background threads: one job per config, at most limit() running, the rest queued fairly.

A web page reruns its script on every click and may be closed at any time; a job outlives both.
It trains through load_or_train (so its model lands in the disk cache) and records its progress
for whoever watches. Many people share one server: each training takes all the cores it gets, so
running more than the cores allow only slows every one of them and holds more memory. Jobs wait in
order of request; identical settings share one job; whoever asked can withdraw, and a job nobody
wants any more is cancelled (before it starts, or at the end of its current epoch).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from . import process
from .cache import cache_key, load_or_train
from .config import TrainConfig
from .train import TrainResult

LIMIT_ENV = "MNIST_DRAW_TRAININGS"  # how many trainings may run at once; see limit()
KEEP_FINISHED = 8  # finished jobs kept (with their models) once their owners have taken them (see collect)
KEEP_UNCOLLECTED = 64  # finished jobs kept at most, taken or not: a bound on memory (~2 MB a model)
# Seconds an epoch takes before any has been measured in this process, by _kind: (new images each
# epoch, dropout). Measured epochs replace them (see _measured); make bench measured 0.5-1.0 s for the
# reference run and 2.2-2.4 s for the shipped recipe's epochs on two cores.
GUESS_EPOCH_SECONDS = {(False, False): 1.0, (True, False): 1.5, (False, True): 1.6, (True, True): 2.4}
ADAPT_SECONDS = 1.0  # learning one person's handwriting (adapt.py), on a warm trainer


class Cancelled(Exception):
    """Raised inside a training whose every requester withdrew; nothing of it is cached."""


def limit() -> int:
    """Trainings that may run at once: $MNIST_DRAW_TRAININGS, else one per two cores (at least one).

    One training already keeps two cores busy (TensorFlow spreads each step over them)."""
    value = os.environ.get(LIMIT_ENV, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"${LIMIT_ENV} must be a whole number of trainings, got {value!r}") from None
        if n < 1:
            raise ValueError(f"${LIMIT_ENV} must be at least 1, got {n}")
        return n
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // 2)


def expected_seconds(config: TrainConfig) -> float:
    """About how long config trains here: its epochs at the seconds per epoch last measured in this process
    (or first guessed), for settings of its kind."""
    return _measured[_kind(config)] * config.epochs


def settings_problem() -> str | None:
    """What is wrong with the server's settings for training ($MNIST_DRAW_TRAININGS), or None: checked when
    the server starts, so that the log and the page say it at once, not first to whoever presses Train."""
    try:
        limit()
    except ValueError as e:
        return str(e)
    return None


@dataclass(eq=False)
class TrainingJob:
    config: TrainConfig
    epochs: list[dict] = field(default_factory=list)  # one logs dict per finished epoch
    result: TrainResult | None = None
    error: str | None = None
    cancelled: bool = False
    requested: float = field(default_factory=time.monotonic)
    started: float | None = None  # when it left the queue
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    owners: set[str] = field(default_factory=set)  # who asked for it and has not withdrawn
    collected: bool = False  # an owner's page has taken its outcome

    @property
    def running(self) -> bool:
        """Not finished yet: queued or training."""
        return not self.done.is_set()

    @property
    def state(self) -> str:
        """"queued", "running", "done", "failed" or "cancelled"."""
        if self.done.is_set():
            return "cancelled" if self.cancelled else "failed" if self.error is not None else "done"
        return "running" if self.started is not None else "queued"

    @property
    def position(self) -> int | None:
        """1 for the next to start, 2 after it, ...; None once it has started."""
        with _guard:
            return _queue.index(self) + 1 if self in _queue else None

    @property
    def fraction(self) -> float:
        return len(self.epochs) / self.config.epochs

    @property
    def history(self) -> dict[str, list[float]]:
        """Metric name -> one value per finished epoch, like TrainResult.history."""
        epochs = list(self.epochs)
        return {k: [e[k] for e in epochs] for k in epochs[0]} if epochs else {}

    def seconds_left(self) -> float | None:
        """Estimated seconds until it finishes once running; None before its first epoch."""
        if not self.epochs or self.started is None:
            return None
        per_epoch = (time.monotonic() - self.started) / len(self.epochs)
        return per_epoch * (self.config.epochs - len(self.epochs))

    def _expected_left(self) -> float:
        """Seconds of training still ahead of it, measured or guessed."""
        left = self.seconds_left()
        if left is None and self.config.adapted_to:
            return ADAPT_SECONDS
        if left is None:
            left = _measured[_kind(self.config)] * (self.config.epochs - len(self.epochs))
        return left

    def seconds_to_start(self) -> float:
        """Estimated wait before a queued job starts: the training ahead of it, shared among the slots."""
        with _guard:
            if self not in _queue:
                return 0.0
            ahead = [j for j in _running] + _queue[:_queue.index(self)]
        return sum(j._expected_left() for j in ahead) / limit()

    def cancel(self, owner: str = "") -> bool:
        """owner withdraws; with nobody left the job is cancelled: at once if queued, else at the end of its
        current epoch. Returns whether the job is (being) cancelled; others' interest keeps it going."""
        with _guard:
            self.owners.discard(owner)
            if self.owners or self.done.is_set():
                return self.cancelled
            self.cancelled = True
            if self in _queue:
                _queue.remove(self)
                self.finished = time.monotonic()
                self.done.set()
        return True

    def collect(self) -> None:
        """An owner's page has taken the finished job's outcome: it may be forgotten from now on."""
        self.collected = True

    def _on_epoch(self, epoch: int, logs: dict) -> None:
        seconds = time.monotonic() - (self.started or time.monotonic())
        _measured[_kind(self.config)] = seconds / epoch
        self.epochs.append(logs)
        if self.cancelled:
            raise Cancelled(f"training cancelled after epoch {epoch}")

    def _run(self) -> None:
        process.in_background()  # people's drawings are answered first
        try:
            if self.cancelled:
                raise Cancelled("training cancelled before it started")
            self.result = load_or_train(self.config, on_epoch=self._on_epoch)
        except Cancelled:
            pass
        except Exception as e:  # reported on the page; the thread must not die silently
            self.error = f"{type(e).__name__}: {e}"
        finally:
            with _guard:
                _running.remove(self)
                self.finished = time.monotonic()
                self.done.set()
                _jobs[self.config] = _jobs.pop(self.config)  # finished jobs stand in order of finishing
                _forget_finished()
                _start_next()


_jobs: dict[TrainConfig, TrainingJob] = {}  # every job still known, in order of request
_queue: list[TrainingJob] = []  # waiting, first to start first
_running: list[TrainingJob] = []
_measured: dict[tuple, float] = dict(GUESS_EPOCH_SECONDS)  # latest seconds per epoch, by _kind


def _kind(config: TrainConfig) -> tuple[bool, bool]:
    """What an epoch's time depends on most: new images each epoch, and dropout (it trains without XLA)."""
    return config.new_images_each_epoch, bool(config.dropout)
_guard = threading.RLock()


def _start_next() -> None:
    """Start queued jobs while there is room (called with _guard held)."""
    while _queue and len(_running) < limit():
        job = _queue.pop(0)
        job.started = time.monotonic()
        _running.append(job)
        threading.Thread(target=job._run, name=f"train-{cache_key(job.config)}", daemon=True).start()


def _forget_finished() -> None:
    """Forget finished jobs beyond KEEP_FINISHED, those that finished first going first, but none that its
    owners' pages have not taken yet (up to KEEP_UNCOLLECTED): 30 trainings asked for at once and finishing
    in any order each reach their owner. Called with _guard held, whenever a job finishes."""
    finished = [c for c, j in _jobs.items() if not j.running]  # in order of finishing
    taken = [c for c in finished if _jobs[c].collected][:max(0, len(finished) - KEEP_FINISHED)]
    left = [c for c in finished if c not in taken]
    for c in taken + left[:max(0, len(left) - KEEP_UNCOLLECTED)]:
        del _jobs[c]


def start_training(config: TrainConfig, owner: str = "") -> TrainingJob:
    """The job for config, joined by owner: a queued or running one, a finished one that succeeded, or a
    new one at the back of the queue (if none, or the last one failed or was cancelled). A ValueError,
    before anything is queued, if $MNIST_DRAW_TRAININGS is not a number of trainings."""
    limit()
    with _guard:
        job = _jobs.get(config)
        if job is None or job.error is not None or job.cancelled:
            _jobs.pop(config, None)
            job = _jobs[config] = TrainingJob(config)
            _queue.append(job)
            _forget_finished()
        job.owners.add(owner)
        _start_next()
        return job


def get_job(config: TrainConfig) -> TrainingJob | None:
    with _guard:
        return _jobs.get(config)
