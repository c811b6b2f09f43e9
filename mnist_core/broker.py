"""The training queue: Huey, on a broker that one machine or many share; TensorFlow-free.

The page puts a training on the queue and reads its progress from there; worker processes
(worker.py, `python -m mnist_core worker`) take trainings off it, at a lower CPU priority, each in a
process of its own, so that a training that dies never takes the page down. Two brokers:
- unset $MNIST_DRAW_BROKER: an SQLite file in the cache folder (nothing to install), and the page
  starts $MNIST_DRAW_TRAININGS local workers itself, which stop with it;
- $MNIST_DRAW_BROKER=redis://host:6379/0: a Redis server that any machine's workers can reach; the
  page starts none (run `python -m mnist_core worker` where the trainings should run). Also
  sqlite:///path/queue.sqlite: a queue file whose workers (on this machine) are started apart.
A model comes back through the broker (its cache entry's files), so workers and page share nothing
but the broker. Tasks and results are pickled: the broker must be one only the class's machines reach.

Keys the page and workers share in the broker, besides Huey's queue and results:
progress:<task id> {"worker", "pid", "here", "epochs": [logs...]} once a worker has taken it; cancel:<task id>;
workers: [worker ids]; beat:<worker id> a counter each worker raises every BEAT seconds.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BROKER_ENV = "MNIST_DRAW_BROKER"
LIMIT_ENV = "MNIST_DRAW_TRAININGS"  # local workers the page starts (embedded broker only); see limit()
TASK_NAME = "mnist_draw.train"
BEAT = 1.0  # seconds between a worker's heartbeats
DEAD_AFTER = 20.0  # seconds without a heartbeat after which a worker counts as dead: a niced worker on a busy
# machine, in a compilation that holds Python, may beat late; a killed one is reported within this
ADAPT_PRIORITY = 10  # learning one person's handwriting (~1 s) goes before the trainings that wait


class BrokerError(Exception):
    """The queue cannot be reached or is set wrong: trainings cannot be asked for; drawing still works."""


def address() -> str:
    """$MNIST_DRAW_BROKER, or "" for this machine's own queue (an SQLite file in the cache folder)."""
    return os.environ.get(BROKER_ENV, "").strip()


def limit() -> int:
    """Local training workers: $MNIST_DRAW_TRAININGS, else one per two cores (at least one). One training
    already keeps two cores busy (TensorFlow spreads each step over them)."""
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


def settings_problem() -> str | None:
    """What is wrong with the server's training settings ($MNIST_DRAW_TRAININGS, $MNIST_DRAW_BROKER), or
    None: checked when the server starts, so that the log and the page say it at once."""
    try:
        limit()
        huey()
    except (ValueError, BrokerError) as e:
        return str(e)
    return None


def huey():
    """The Huey of address(), with the training task registered (one per address and cache folder)."""
    from .paths import cache_dir
    where = address()
    return _huey(where, "" if where else str(cache_dir() / "queue.sqlite"))


@functools.cache
def _huey(where: str, sqlite_file: str):
    import huey as huey_
    if not where:
        Path(sqlite_file).parent.mkdir(parents=True, exist_ok=True)
        h = huey_.SqliteHuey("mnist-draw", filename=sqlite_file, strict_fifo=True, utc=True)
    elif where.startswith("sqlite:///"):  # a queue file on this machine, its workers started apart
        Path(where[len("sqlite:///") - 1:]).parent.mkdir(parents=True, exist_ok=True)
        h = huey_.SqliteHuey("mnist-draw", filename=where[len("sqlite:///") - 1:], strict_fifo=True, utc=True)
    elif where.startswith(("redis://", "rediss://", "unix://")):
        try:  # bounded waits: a Redis that stops answering must not hold the page
            import redis
            pool = redis.ConnectionPool.from_url(where, socket_timeout=5, socket_connect_timeout=3)
            h = huey_.PriorityRedisHuey("mnist-draw", connection_pool=pool, utc=True)
        except Exception as e:
            raise BrokerError(f"${BROKER_ENV}={where!r} cannot be used: {e}") from None
    else:
        raise BrokerError(f"${BROKER_ENV} must be a Redis address such as redis://host:6379/0, or sqlite:///path "
                          f"(a queue file), or unset (this machine's own queue, with its own workers), got {where!r}")
    h.train = h.task(name=TASK_NAME, context=True)(_run)  # the one task, its wrapper kept with its Huey
    return h


def _run(config: dict, drawings=None, task=None):
    """The training task, as a worker runs it (see worker.run)."""
    from .worker import run
    return run(config, drawings, task.id)


def enqueue(config: dict, drawings=None, priority: int = 0) -> str:
    """Put a training on the queue; its task id. A BrokerError if the broker cannot be reached."""
    try:
        h = huey()
        return h.enqueue(h.train.s(config, drawings, priority=priority)).id
    except BrokerError:
        raise
    except Exception as e:
        raise BrokerError(unreachable(e)) from None


def unreachable(e: Exception) -> str:
    where = address() or "this machine's queue file"
    return (f"The training queue ({where}) cannot be reached: {type(e).__name__}: {e}. Trainings wait until it is "
            "back; drawing works.")


def _silent_for(h, worker: str, seen: dict[str, tuple]) -> tuple[object, float]:
    """(worker's last heartbeat or None, seconds since it last changed or since first looked at), by this
    process's clock (machines' clocks differ). seen: the caller's memory of worker id -> (beat, since)."""
    beat, now = h.get(f"beat:{worker}", peek=True), time.monotonic()
    if worker not in seen or seen[worker][0] != beat:
        seen[worker] = (beat, now)
    return beat, now - seen[worker][1]


def workers_alive(seen: dict[str, tuple]) -> int:
    """How many workers have beaten within DEAD_AFTER seconds (seen as in _silent_for)."""
    h = huey()
    beats = [_silent_for(h, wid, seen) for wid in h.get("workers", peek=True) or []]
    return sum(beat is not None and silent < DEAD_AFTER for beat, silent in beats)


def is_dead(progress: dict, seen: dict[str, tuple]) -> bool:
    """Whether the worker of a training's progress (see worker.run) is dead: its process gone from this
    machine, or its heartbeat standing still (or never come) for DEAD_AFTER seconds."""
    return _gone_from_here(progress) or _silent_for(huey(), progress["worker"], seen)[1] >= DEAD_AFTER


@functools.cache
def here() -> str:
    """Which machine and process-id space this process is in: a worker's pid means something only where
    this is the same (another machine, or another container with the same host name, has its own pids)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f"{f.read().strip()}:{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return socket.gethostname()


def _gone_from_here(progress: dict) -> bool:
    """Whether the training's worker ran here (see here()) and its process no longer exists: a kill -9 or the
    out-of-memory killer, known at once, not DEAD_AFTER later. A process that ended but was not yet waited
    for (a zombie) counts as gone too."""
    pid = progress.get("pid")
    if progress.get("here") != here() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    try:  # Linux: "<pid> (<name>) <state> ...", Z for a zombie
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


# Local workers: the page's own, for the embedded broker. Started with the page, stopped with it.
_local: dict[str, list[subprocess.Popen]] = {}
_local_guard = threading.Lock()


def restart_local_workers() -> None:
    """Replace any of this process's local workers that died (a kill, out of memory); none if it started none."""
    from .paths import cache_dir
    with _local_guard:
        started = bool(_local.get(str(cache_dir())))
    if started:
        start_local_workers()


# Local workers are started from this one thread, which lives as long as the process: Linux sends a
# child's death signal (see process.die_with_parent) when the *thread* that started it ends, and the
# page's threads come and go (a timer, a script run): workers started there were killed at once.
_spawner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="local-workers")


def start_local_workers() -> list[subprocess.Popen]:
    """Make sure limit() local worker processes serve this machine's queue (none for a Redis broker: its
    workers are started where they should run). Restarts any that died. Returns them."""
    if address():
        return []
    return _spawner.submit(_start_local_workers).result()


def _start_local_workers() -> list[subprocess.Popen]:
    from .paths import cache_dir
    key = str(cache_dir())
    with _local_guard:
        procs = [p for p in _local.get(key, []) if p.poll() is None]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        while len(procs) < limit():
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "mnist_core", "worker", "--parent", str(os.getpid())], env=env,
                stdin=subprocess.DEVNULL))
        _local[key] = procs
        return procs
