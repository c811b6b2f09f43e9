"""Training in a background thread, at most one job per config in this process.

A web page reruns its script on every click and may be closed at any time; a job outlives both.
It trains through load_or_train (so its model lands in the disk cache) and records its progress
for whoever watches: the session that started it, another tab, or nobody.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .cache import cache_key, load_or_train
from .config import TrainConfig
from .train import TrainResult


@dataclass
class TrainingJob:
    config: TrainConfig
    epochs: list[dict] = field(default_factory=list)  # one logs dict per finished epoch
    result: TrainResult | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    @property
    def fraction(self) -> float:
        return len(self.epochs) / self.config.epochs

    @property
    def history(self) -> dict[str, list[float]]:
        """Metric name -> one value per finished epoch, like TrainResult.history."""
        epochs = list(self.epochs)
        return {k: [e[k] for e in epochs] for k in epochs[0]} if epochs else {}

    def seconds_left(self) -> float | None:
        if not self.epochs:
            return None
        per_epoch = (time.monotonic() - self.started) / len(self.epochs)
        return per_epoch * (self.config.epochs - len(self.epochs))

    def _run(self) -> None:
        try:
            self.result = load_or_train(self.config, on_epoch=lambda e, logs: self.epochs.append(logs))
        except Exception as e:  # reported on the page; the thread must not die silently
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()


KEEP_FINISHED = 8  # finished jobs kept (with their models); older ones are in the disk cache anyway
_jobs: dict[TrainConfig, TrainingJob] = {}  # in order of start
_guard = threading.Lock()


def start_training(config: TrainConfig) -> TrainingJob:
    """The running job for config, or a new one; a finished job is replaced only if it failed."""
    with _guard:
        job = _jobs.get(config)
        if job is None or job.error is not None:
            _jobs.pop(config, None)
            job = _jobs[config] = TrainingJob(config)
            threading.Thread(target=job._run, name=f"train-{cache_key(config)}", daemon=True).start()
            finished = [c for c, j in _jobs.items() if not j.running]
            for c in finished[:max(0, len(finished) - KEEP_FINISHED)]:
                del _jobs[c]
        return job


def get_job(config: TrainConfig) -> TrainingJob | None:
    with _guard:
        return _jobs.get(config)
