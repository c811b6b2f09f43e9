"""Trainings as the page sees them: one job per config, on the training queue (broker.py), run by workers.

A web page reruns its script on every click and may be closed at any time; a job outlives both. The
page's process never trains: it puts the job on the queue, and one thread of its own (the watcher)
reads each job's place, epochs and outcome from the broker, so the page itself only reads this
module's fields. Jobs wait in order of request (learning a person's handwriting, about a second,
first); identical settings share one job; whoever asked can withdraw, and a job nobody wants any
more is cancelled (before it starts, or at the end of its current epoch). A worker that dies
mid-training (killed, out of memory) makes its job fail with a plain reason; the page goes on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from . import broker
from .broker import BROKER_ENV, LIMIT_ENV, BrokerError, limit, settings_problem, start_local_workers  # noqa: F401
from .config import TrainConfig
from .network import TrainResult

KEEP_FINISHED = 8  # finished jobs kept (with their models) once their owners have taken them (see collect)
KEEP_UNCOLLECTED = 64  # finished jobs kept at most, taken or not: a bound on memory (~2 MB a model)
# Seconds an epoch takes before any has been measured in this process, by _kind: (new images each
# epoch, dropout). Measured epochs replace them (see _measured); make bench measured 0.5-1.0 s for the
# reference run and 2.2-2.4 s for the shipped recipe's epochs on two cores.
GUESS_EPOCH_SECONDS = {(False, False): 1.0, (True, False): 1.5, (False, True): 1.6, (True, True): 2.4}
ADAPT_SECONDS = 1.0  # learning one person's handwriting (adapt.py), on a warm worker
POLL = 0.25  # seconds between the watcher's looks at the broker
LOST_AFTER = 30.0  # seconds a job may be off the queue with no worker saying it has it, before it is lost


def expected_seconds(config: TrainConfig) -> float:
    """About how long config trains here: its epochs at the seconds per epoch last measured in this process
    (or first guessed), for settings of its kind."""
    return ADAPT_SECONDS if config.adapted_to else _measured[_kind(config)] * config.epochs


@dataclass(eq=False)
class TrainingJob:
    config: TrainConfig
    task_id: str = ""
    epochs: list[dict] = field(default_factory=list)  # one logs dict per finished epoch
    result: TrainResult | None = None
    error: str | None = None
    cancelled: bool = False
    requested: float = field(default_factory=time.monotonic)
    started: float | None = None  # when a worker took it
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    owners: set[str] = field(default_factory=set)  # who asked for it and has not withdrawn
    collected: bool = False  # an owner's page has taken its outcome
    _position: int | None = 1
    _left_queue: float | None = None  # when the watcher first saw it off the queue

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
        return None if self.started is not None or self.done.is_set() else self._position

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
        if left is None:
            left = expected_seconds(self.config) * (1 - self.fraction)
        return left

    def seconds_to_start(self) -> float:
        """Estimated wait before a queued job starts: the training ahead of it (this page's jobs, and the
        others on the queue by their settings), shared among the workers alive."""
        position = self.position
        if position is None:
            return 0.0
        with _guard:
            ahead = sum(j._expected_left() for j in _jobs.values() if j.state == "running")
        ahead += sum(expected_seconds(c) for c in _pending[:position - 1])
        return ahead / max(1, _status["workers"])

    def cancel(self, owner: str = "") -> bool:
        """owner withdraws; with nobody left the job is cancelled: at once if queued, else at the end of its
        current epoch. Returns whether the job is (being) cancelled; others' interest keeps it going."""
        with _guard:
            self.owners.discard(owner)
            if self.owners or self.done.is_set():
                return self.cancelled
            self.cancelled = True
            try:
                h = broker.huey()
                h.put(f"cancel:{self.task_id}", True)  # if a worker has it (or takes it now): after its epoch
                if self.started is None:
                    h.revoke_by_id(self.task_id)  # a worker that takes it skips it
                    self._finish()
            except Exception:  # the broker is down: it is cancelled here; a worker may still train it
                self._finish()
        return True

    def collect(self) -> None:
        """An owner's page has taken the finished job's outcome: it may be forgotten from now on."""
        self.collected = True

    def _finish(self, result: TrainResult | None = None, error: str | None = None) -> None:
        """Called with _guard held."""
        self.result, self.error = result, error
        self.finished = time.monotonic()
        self.done.set()
        _jobs[self.config] = _jobs.pop(self.config)  # finished jobs stand in order of finishing
        _forget_finished()

    def _take_epochs(self, progress: dict) -> None:
        if self.started is None:
            self.started = time.monotonic()
        new = progress["epochs"][len(self.epochs):]
        if new:
            _measured[_kind(self.config)] = progress["elapsed"] / len(progress["epochs"])
            self.epochs.extend(new)

    def _fetch(self, h, pending: list[str]) -> dict:
        """What the broker says of the job now (the watcher's thread, without _guard: a slow broker never
        holds the page). Takes its result off the broker, so _apply must follow."""
        if self.task_id in pending:
            return {"place": pending.index(self.task_id) + 1}
        progress = h.get(f"progress:{self.task_id}", peek=True)
        outcome = h.get(self.task_id)  # the task's result, taken off the broker
        if outcome is not None:
            h.delete(f"progress:{self.task_id}")
            if isinstance(outcome, dict) and outcome["state"] == "done":
                try:
                    outcome = dict(outcome, result=_received(self.config, outcome))
                except Exception as e:  # taken off the broker: said, not lost
                    outcome = {"state": "failed", "error": f"the trained model could not be kept here "
                                                          f"({type(e).__name__}: {e})"}
        dead = outcome is None and bool(progress) and broker.is_dead(progress, _seen)
        return {"progress": progress, "outcome": outcome, "dead": dead}

    def _apply(self, news: dict) -> None:
        """Bring the job up to date with _fetch's news (with _guard held)."""
        if self.done.is_set():
            return  # cancelled here meanwhile
        if "place" in news:
            self._position = news["place"]
            return
        self._left_queue = self._left_queue or time.monotonic()
        progress, outcome = news["progress"], news["outcome"]
        if progress:
            self._take_epochs(progress)
        if outcome is None:
            if news["dead"]:
                self._finish(error=f"The worker training it stopped (killed, out of memory or crashed) after "
                                   f"{len(self.epochs)} of {self.config.epochs} epochs; nothing of it was kept. "
                                   "Press Train to try again.")
            elif not progress and time.monotonic() - self._left_queue > LOST_AFTER:
                self._finish(error="A worker took it off the queue and was not heard of again. Press Train to try again.")
        elif not isinstance(outcome, dict):  # Huey's record of an exception the task itself did not catch
            self._finish(error=str(getattr(outcome, "metadata", {}).get("error", outcome)))
        elif outcome["state"] == "cancelled":
            self.cancelled = True
            self._finish()
        elif outcome["state"] == "failed":
            self._finish(error=outcome["error"])
        else:
            self._finish(result=outcome["result"])


def _received(config: TrainConfig, outcome: dict) -> TrainResult:
    """The finished model, from this machine's cache: put there from the worker's files if it is not yet."""
    from .cache import entry_path, is_cached, load_cached, put_entry_files
    if not is_cached(config):
        put_entry_files(outcome["files"], entry_path(config))
    result = load_cached(config)
    result.source = outcome["source"]  # "trained", or "cache" where a worker found it trained already
    return result


_jobs: dict[TrainConfig, TrainingJob] = {}  # every job still known, in order of request (finished: of finishing)
_pending: list[TrainConfig] = []  # the broker's queue, first to start first (every page's and client's)
_status = {"workers": 0, "problem": None}  # workers alive; what is wrong with the broker, if anything
_seen: dict[str, tuple] = {}  # worker id -> (last beat, when it changed here): see broker.workers_alive
_measured: dict[tuple, float] = dict(GUESS_EPOCH_SECONDS)  # latest seconds per epoch, by _kind
_guard = threading.RLock()
_wake = threading.Event()
_watcher: threading.Thread | None = None


def _kind(config: TrainConfig) -> tuple[bool, bool]:
    """What an epoch's time depends on most: new images each epoch, and dropout (it trains without XLA)."""
    return config.new_images_each_epoch, bool(config.dropout)


def _watch() -> None:
    """The watcher: keeps every unfinished job and the queue's status up to date."""
    while True:
        with _guard:
            active = [j for j in _jobs.values() if j.running]
        if not active:
            _wake.wait(5)
            _wake.clear()
        try:
            h = broker.huey()
            tasks = h.pending()
            ids = [t.id for t in tasks]
            news = [(job, job._fetch(h, ids)) for job in active if job.running]
            with _guard:
                _pending[:] = [TrainConfig.from_dict(t.args[0]) for t in tasks]
                for job, said in news:
                    job._apply(said)
            _status.update(workers=broker.workers_alive(_seen), problem=None)
            broker.restart_local_workers()
        except Exception as e:  # the broker is down or set wrong: said on the page; the jobs wait
            _status["problem"] = broker.unreachable(e) if not isinstance(e, BrokerError) else str(e)
        time.sleep(POLL)


def status() -> dict:
    """{"workers": how many are alive, "problem": what is wrong with the broker, or None}."""
    return dict(_status)


def _forget_finished() -> None:
    """Forget finished jobs beyond KEEP_FINISHED, those that finished first going first, but none that its
    owners' pages have not taken yet (up to KEEP_UNCOLLECTED): 30 trainings asked for at once and finishing
    in any order each reach their owner. Called with _guard held, whenever a job finishes."""
    finished = [c for c, j in _jobs.items() if not j.running]  # in order of finishing
    taken = [c for c in finished if _jobs[c].collected][:max(0, len(finished) - KEEP_FINISHED)]
    left = [c for c in finished if c not in taken]
    for c in taken + left[:max(0, len(left) - KEEP_UNCOLLECTED)]:
        del _jobs[c]


def _drawings_for(config: TrainConfig) -> dict | None:
    """The saved drawings config trains on, by fingerprint, to send with the task (a worker elsewhere has
    no access to this server's database)."""
    prints = [p for p in (config.user_drawings, config.adapted_to) if p]
    if not prints:
        return None
    from .user_drawings import Drawings
    store = Drawings()
    return {p: store.for_training(p) for p in prints}


def start_training(config: TrainConfig, owner: str = "") -> TrainingJob:
    """The job for config, joined by owner: a queued or running one, a finished one that succeeded, or a
    new one at the back of the queue (if none, or the last one failed or was cancelled). Before anything
    is queued, a ValueError if $MNIST_DRAW_TRAININGS is not a number of trainings, a BrokerError if the
    queue cannot be reached."""
    global _watcher
    limit()
    with _guard:
        job = _jobs.get(config)
        if job is None or job.error is not None or job.cancelled:
            priority = broker.ADAPT_PRIORITY if config.adapted_to else 0
            task_id = broker.enqueue(config.to_dict(), _drawings_for(config), priority)
            _jobs.pop(config, None)
            job = _jobs[config] = TrainingJob(config, task_id)
            _forget_finished()
        job.owners.add(owner)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch, name="training-watcher", daemon=True)
            _watcher.start()
    _wake.set()
    broker.start_local_workers()
    return job


def get_job(config: TrainConfig) -> TrainingJob | None:
    with _guard:
        return _jobs.get(config)


def overview() -> list[dict]:
    """The trainings this page's process knows of, unfinished first: {settings, state, place, who (the people
    who want it, by their codes), waited (seconds before a worker took it, or so far), epochs ("3/10")}, for
    the teacher."""
    from .views import anonymous, run_name
    now = time.monotonic()
    with _guard:
        jobs = list(_jobs.values())
    rows = [{"settings": run_name(j.config), "state": j.state, "place": j.position,
             "who": ", ".join(sorted(anonymous(o) for o in j.owners)),
             "waited": (j.started or (j.finished if j.done.is_set() else now)) - j.requested,
             "epochs": f"{len(j.epochs)}/{j.config.epochs}"} for j in jobs]
    return sorted(rows, key=lambda r: (r["state"] not in ("running", "queued"), r["place"] or 0))
