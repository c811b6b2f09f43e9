"""The training queue: workers take jobs in order of request, one each; shared, cancellable, failure-proof.

The queue's rules are tested with workers in threads of this process (the same loop a worker process
runs: worker.serve), each training real Keras on 2,000 MNIST images (small_training): the rules are
under test, not the network. Then real worker processes: on this machine's queue file and on a Redis
server, trained, cancelled and killed."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from mnist_core import TrainConfig, broker, jobs, load_or_train
from mnist_core.cache import _entry_paths
from mnist_core.jobs import start_training
from mnist_core.paths import CACHE_ENV


def config(seed, epochs=1, batch_size=2048, **kw):
    return TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, **kw)


def finish(*started):
    for job in started:
        assert job.done.wait(300), job.config


def taken(job):
    """Wait until a worker has started job: from then on it is mid-training."""
    while job.started is None and not job.done.is_set():
        time.sleep(0.05)


def not_cached(c):
    _, model_path, meta_path = _entry_paths(c, None)
    return not model_path.exists() and not meta_path.exists() and \
        not list(model_path.parent.glob(f".{model_path.stem}.*"))  # no half-written file either


def test_workers_take_jobs_in_order_of_request_one_each(workers):
    started = [start_training(config(210 + k, epochs=2)) for k in range(3)]
    time.sleep(0.6)  # the watcher has read the queue
    assert [j.state for j in started] == ["queued"] * 3 and [j.position for j in started] == [1, 2, 3]
    assert started[-1].seconds_to_start() > 0
    workers(2)
    finish(*started)
    assert all(j.state == "done" and j.error is None and len(j.epochs) == 2 for j in started)
    assert sorted(started, key=lambda j: j.started)[:2] != started[2:]  # the last asked was not among the first two
    for job in started:  # when a job started, at most 2 jobs were running, itself included
        assert sum(o.started <= job.started < o.finished for o in started) <= 2
    assert started[0].result.model.get_weights()[0].shape == (784, 512)  # a Network, read from the cache


def test_identical_settings_share_one_job_and_one_cache_entry(workers):
    workers(1)
    c = config(11)
    started = [start_training(c, owner) for owner in ("ann", "bob", "ann")]
    assert started[0] is started[1] is started[2] and started[0].owners == {"ann", "bob"}
    finish(started[0])
    assert started[0].error is None and len(started[0].epochs) == 1  # trained once, one epoch reported
    assert start_training(c) is started[0]  # done: the trained model is reused, not retrained
    assert load_or_train(c).source == "cache"


def test_cancel_while_queued(workers):
    ahead, waiting = start_training(config(301, epochs=3)), start_training(config(302), "ann")
    time.sleep(0.6)
    assert waiting.state == "queued" and waiting.position == 2
    assert waiting.cancel("ann")
    assert waiting.state == "cancelled" and waiting.done.is_set() and waiting.position is None
    workers(1)
    finish(ahead)
    time.sleep(1)  # the worker would have taken it by now
    assert ahead.state == "done" and waiting.started is None and not_cached(waiting.config)
    again = start_training(waiting.config, "ann")  # asking again makes a new job
    assert again is not waiting
    finish(again)
    assert again.state == "done"


def test_cancel_while_running_stops_after_the_epoch_and_caches_nothing(workers):
    workers(1)
    job = start_training(config(311, epochs=60, batch_size=64), "ann")
    while not job.epochs and not job.done.is_set():
        job.done.wait(0.05)
    assert job.cancel("ann")
    finish(job)
    assert job.state == "cancelled" and job.error is None and job.result is None
    assert 1 <= len(job.epochs) < 60 and not_cached(job.config)


def test_a_job_someone_else_still_wants_keeps_going(workers):
    workers(1)
    job = start_training(config(321, epochs=2), "ann")
    start_training(config(321, epochs=2), "bob")
    assert not job.cancel("ann")  # bob still waits for it
    finish(job)
    assert job.state == "done" and job.result is not None


def test_a_failing_training_is_reported_and_the_queue_goes_on(workers, monkeypatch):
    from mnist_core import cache
    workers(1)
    with pytest.raises(ValueError, match="user_drawings does not match"):  # the page reads the drawings it sends
        start_training(config(331, user_drawings="0123456789abcdef"))
    small = cache.train

    def train(config, on_epoch=None, drawings=None):
        if config.seed == 331:
            raise MemoryError("out of memory in epoch 1")
        return small(config, on_epoch, drawings)
    monkeypatch.setattr(cache, "train", train)
    failing = start_training(config(331))
    after = start_training(config(332))
    finish(failing, after)
    assert failing.state == "failed" and failing.error == "MemoryError: out of memory in epoch 1"
    assert after.state == "done" and not_cached(failing.config)
    assert start_training(failing.config) is not failing  # a failed job is retried when asked again


def test_the_limit_comes_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv(jobs.LIMIT_ENV, "3")
    assert jobs.limit() == 3
    monkeypatch.delenv(jobs.LIMIT_ENV)
    monkeypatch.setattr(broker.os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    assert jobs.limit() == 3  # one per two cores
    monkeypatch.setattr(broker.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert jobs.limit() == 1  # at least one
    for bad in ("0", "two"):
        monkeypatch.setenv(jobs.LIMIT_ENV, bad)
        with pytest.raises(ValueError, match=jobs.LIMIT_ENV):
            jobs.limit()


@pytest.mark.parametrize("address", ["mysql://host/db", "localhost:6379"])
def test_a_bad_broker_address_is_said_when_the_server_starts(monkeypatch, address):
    monkeypatch.setenv(broker.BROKER_ENV, address)
    problem = jobs.settings_problem()
    assert problem is not None and broker.BROKER_ENV in problem and "redis://host:6379/0" in problem


def test_a_broker_that_is_down_gives_a_clear_message(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv(broker.BROKER_ENV, f"redis://127.0.0.1:{port}/0")
    with pytest.raises(jobs.BrokerError, match="cannot be reached.*drawing works"):
        start_training(config(341))


@pytest.mark.slow
def test_twelve_owners_each_get_their_model_whatever_order_the_trainings_finish_in(workers):
    """12 people press Train at once with settings of their own; the first two train longest, so the
    trainings finish in an order unlike the order asked. Each page then takes its own outcome. (More than
    the 8 latest requested that the queue once kept: it dropped the early ones as they finished.)"""
    workers(3)
    started = [start_training(config(300 + k, epochs=4 if k < 2 else 1), owner=f"person {k}") for k in range(12)]
    finish(*started)
    finished = sorted(started, key=lambda j: j.finished)
    assert finished != started  # the premise: they finished in another order
    for k, job in enumerate(started):  # each person's page, later, in the order they asked
        mine = jobs.get_job(job.config)
        assert mine is job and mine.state == "done" and f"person {k}" in mine.owners, k
        mine.collect()


def test_an_idle_worker_warms_up_learning_and_the_test_writers_drawings(monkeypatch):
    """What a worker does while nothing waits, once: compiles adapting's trainer on the shipped model, then
    makes the test writers' page drawings that every model is measured on after it trains or adapts (on a new
    install the first Learn my handwriting took 15 s to report, making them; 3 s once a worker had).
    The order only: adapting and drawing are tested for real in test_adapt.py and test_handwriting.py."""
    from mnist_core import adapt, default_model, handwriting, worker
    done = []
    monkeypatch.setattr(adapt, "adapt", lambda model, x, y: done.append(("adapt", model, x.shape, y.shape)))
    monkeypatch.setattr(handwriting, "reading_set", lambda part_name: done.append(("reading_set", part_name)))
    assert worker._warm_up() is False  # not again
    assert done == [("adapt", default_model().model, (20, 28, 28), (20,)), ("reading_set", "test")]


# Real worker processes, training the real network on all of MNIST.

def worker_process(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mnist_core", "worker"], env=dict(os.environ, **env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ticks_by_nice(pid: int) -> dict[int, int]:
    """CPU time (clock ticks) of a process's live threads, summed by nice value (Linux)."""
    out = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = open(f"/proc/{pid}/task/{task}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that has just ended
        out[int(fields[16])] = out.get(int(fields[16]), 0) + int(fields[11]) + int(fields[12])
    return out


@pytest.mark.slow
def test_a_worker_process_trains_at_a_lower_priority_reports_epochs_and_is_cancelled(queue, tmp_path):
    """The page's process never trains; a worker process of its own does, all of it at
    process.BACKGROUND_NICE (a process's nice value: nothing depends on which thread made which pool).
    SIGTERM mid-training (a service manager's stop; Ctrl-C goes the same way) fails that training with the reason
    and stops the worker with a line, not a traceback, leaving nothing in its temporary folder (TensorFlow's
    generated files were left there by a worker SIGTERM killed)."""
    from mnist_core import process
    temporary = tmp_path / "worker-tmp"
    temporary.mkdir()
    proc = worker_process({broker.BROKER_ENV: os.environ[broker.BROKER_ENV], "TMPDIR": str(temporary)})
    try:
        done = start_training(config(351, epochs=1, batch_size=256), "ann")  # one epoch of all MNIST (a second cost the suite ~1.5 CPU-s)
        finish(done)
        assert done.state == "done" and len(done.epochs) == 1 and done.result.test_accuracy > 0.9, done.error
        used = ticks_by_nice(proc.pid)
        assert set(used) == {process.BACKGROUND_NICE} and used[process.BACKGROUND_NICE] > 0, used
        assert os.getpriority(os.PRIO_PROCESS, 0) == 0  # this process (the page's part) at its own priority
        job = start_training(config(352, epochs=50, batch_size=256), "ann")
        taken(job)
        assert job.cancel("ann")  # at the end of the epoch it is in
        finish(job)
        assert job.state == "cancelled" and 1 <= len(job.epochs) < 50 and not_cached(job.config)
        stopped = start_training(config(353, epochs=50, batch_size=256), "ann")
        taken(stopped)
        assert list(temporary.iterdir())  # TensorFlow's generated files, while it runs
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + signal.SIGTERM and b"mnist_core worker: stopped" in err \
            and b"Traceback" not in err, err
        finish(stopped)
        assert stopped.state == "failed" and "stopped mid-training" in stopped.error and not_cached(stopped.config)
        assert list(temporary.iterdir()) == []
    finally:
        proc.kill()
        proc.wait()


def test_a_second_stop_signal_while_the_worker_stops_is_ignored(monkeypatch):
    """The page's Ctrl-C, its stop and its death can each signal its worker at once. The first stops it; the next
    returns at once, taking no lock (a handler that set a threading.Event waited forever on its lock when a
    second signal came inside the first) and raising nothing into the clean-up."""
    from mnist_core import worker
    monkeypatch.setattr(worker, "_stopping", [])
    with pytest.raises(KeyboardInterrupt):
        worker._on_stop(signal.SIGTERM, None)
    assert worker._on_stop(signal.SIGINT, None) is None and worker._on_stop(signal.SIGTERM, None) is None
    assert worker.exit_code() == 128 + signal.SIGTERM  # the first one's


PAGE = """
import sys, threading
from mnist_core import broker
started = []
timer = threading.Thread(target=lambda: started.extend(broker.start_local_workers()))
timer.start()
timer.join()
print(started[0].pid, flush=True)
sys.stdin.read()
"""


def test_the_pages_workers_outlive_the_thread_that_started_them_and_end_with_the_page(tmp_path):
    """The page starts its workers from a timer and from script runs, threads that end at once. A worker ends
    with the page's process (Linux's PR_SET_PDEATHSIG), which counts the thread that started it as its parent:
    they were killed as soon as they started, and the first training waited for a cold worker."""
    env = dict(os.environ, **{broker.LIMIT_ENV: "1", CACHE_ENV: str(tmp_path)})
    env.pop(broker.BROKER_ENV, None)
    page = subprocess.Popen([sys.executable, "-c", PAGE], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    worker = int(page.stdout.readline())
    try:
        time.sleep(2.0)  # the death signal would have come at once
        assert broker._gone_from_here({"pid": worker, "here": broker.here()}) is False
        page.kill()  # the page dies hard: its worker goes too
        page.wait()
        deadline = time.monotonic() + 10
        while not broker._gone_from_here({"pid": worker, "here": broker.here()}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert broker._gone_from_here({"pid": worker, "here": broker.here()})
    finally:
        page.kill()
        page.stdout.close()
        if not broker._gone_from_here({"pid": worker, "here": broker.here()}):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.slow
def test_a_worker_killed_mid_training_fails_its_job_with_a_reason_and_the_next_worker_goes_on(queue, monkeypatch):
    """On the worker's own machine its death is known at once (its process is gone): with the heartbeat rule
    out of the way (an hour), the job still fails, with the reason."""
    monkeypatch.setattr(broker, "DEAD_AFTER", 3600.0)
    env = {broker.BROKER_ENV: os.environ[broker.BROKER_ENV]}
    proc = worker_process(env)
    job = start_training(config(361, epochs=50, batch_size=256), "ann")
    taken(job)
    following = worker_process(env)  # the next worker, starting meanwhile
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finish(job)
    assert job.state == "failed" and "worker training it stopped" in job.error and job.result is None
    assert not_cached(job.config)
    try:
        again = start_training(config(361, epochs=1, batch_size=256), "ann")
        finish(again)
        assert again.state == "done", again.error
    finally:
        following.kill()
        following.wait()


def test_a_worker_elsewhere_counts_as_dead_once_its_heartbeat_stands_still(queue, monkeypatch):
    """A worker on another machine (its pid means nothing here) is dead after DEAD_AFTER seconds without a
    heartbeat; one here whose process has ended is dead at once, a live one is not."""
    monkeypatch.setattr(broker, "DEAD_AFTER", 1.0)
    h, seen = broker.huey(), {}
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    elsewhere = {"worker": "other-host-1-abc", "pid": ended.pid, "here": "another machine"}
    h.put("beat:other-host-1-abc", (7, time.time()))
    assert not broker.is_dead(elsewhere, seen)
    time.sleep(1.2)
    assert broker.is_dead(elsewhere, seen)  # the beat stood still
    h.put("beat:other-host-1-abc", (8, time.time()))
    assert not broker.is_dead(elsewhere, seen)  # it beat again
    monkeypatch.setattr(broker, "DEAD_AFTER", 3600.0)
    assert broker.is_dead(dict(elsewhere, here=broker.here()), seen)  # here, and its process is gone
    assert not broker.is_dead(dict(elsewhere, here=broker.here(), pid=os.getpid()), seen)


@pytest.fixture
def redis_server(tmp_path):
    """Debian's redis-server on a free port, no config file, nothing saved to disk."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert os.path.exists(exe), "make test installs redis-server (apt-get install redis-server)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait()


@pytest.mark.slow
def test_a_redis_broker_that_machines_share_with_a_worker_in_another_process(redis_server, monkeypatch, tmp_path):
    """The page sends the job to Redis; a worker with a cache of its own (as on another machine) trains
    it; the model comes back through Redis into the page's cache."""
    monkeypatch.setenv(broker.BROKER_ENV, redis_server)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(os.path.join(os.environ["MNIST_DRAW_CACHE_DIR"], "mnist"), elsewhere / "mnist")
    assert broker.start_local_workers() == []  # a shared broker: the page starts no workers of its own
    proc = worker_process({broker.BROKER_ENV: redis_server, "MNIST_DRAW_CACHE_DIR": str(elsewhere)})
    try:
        c = config(371, epochs=1, batch_size=256)
        job = start_training(c, "ann")
        finish(job)
        assert job.state == "done" and len(job.epochs) == 1, job.error
        assert job.result.source == "trained" and not_cached(c) is False  # in the page's cache now
        assert list((elsewhere / "models").glob("*.npz"))  # trained in the worker's own cache
        assert jobs.status()["workers"] == 1 and jobs.status()["problem"] is None
    finally:
        proc.kill()
        proc.wait()
    assert json.loads(json.dumps(job.history))["test_accuracy"][-1] == job.result.test_accuracy


def test_the_teachers_view_of_the_queue_says_who_waits_how_long_by_their_codes(queue):
    from mnist_core.views import anonymous
    job = start_training(config(381, epochs=5), "ann")
    start_training(config(381, epochs=5), "bob")
    time.sleep(0.6)
    row = next(r for r in jobs.overview() if r["settings"] == "5 epochs, batch size 2048, seed 381")
    assert row["state"] == "queued" and row["place"] == 1 and row["epochs"] == "0/5" and row["waited"] > 0.5
    assert row["who"] == ", ".join(sorted([anonymous("ann"), anonymous("bob")])) and "ann" not in row["who"]
    job.cancel("ann")
    job.cancel("bob")
