"""The training queue: at most limit() at once, in order of request, shared, cancellable, failure-proof.

Every training here is real Keras on 2,000 MNIST images (small_training): the queue's rules are under
test, not the network."""

import pytest

from mnist_core import TrainConfig, jobs, load_or_train
from mnist_core.cache import _entry_paths
from mnist_core.jobs import start_training


def config(seed, epochs=1, batch_size=2048, **kw):
    return TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, **kw)


def finish(*started):
    for job in started:
        assert job.done.wait(300), job.config


def not_cached(c):
    _, model_path, meta_path = _entry_paths(c, None)
    return not model_path.exists() and not meta_path.exists() and \
        not list(model_path.parent.glob(f".{model_path.stem}.*"))  # no half-written file either


@pytest.fixture
def one_at_a_time(monkeypatch, small_training):
    monkeypatch.setenv(jobs.LIMIT_ENV, "1")
    finish(*list(jobs._running) + list(jobs._queue))  # nothing from an earlier test holds a slot


@pytest.mark.parametrize("limit", [1, 2])
def test_at_most_limit_run_at_once_in_order_of_request(monkeypatch, small_training, limit):
    monkeypatch.setenv(jobs.LIMIT_ENV, str(limit))
    started = [start_training(config(200 + 10 * limit + k, epochs=2)) for k in range(3)]
    assert [j.state for j in started] == ["running"] * limit + ["queued"] * (3 - limit)
    assert [j.position for j in started] == [None] * limit + list(range(1, 4 - limit))
    assert started[-1].seconds_to_start() > 0
    finish(*started)
    assert all(j.state == "done" and j.error is None and len(j.epochs) == 2 for j in started)
    starts = sorted(started, key=lambda j: j.started)
    assert starts == started  # first come, first served
    for job in started:  # when a job started, at most limit jobs were running, itself included
        assert sum(o.started <= job.started < o.finished for o in started) <= limit


def test_identical_settings_share_one_job_and_one_cache_entry(small_training):
    c = config(11)
    started = [start_training(c, owner) for owner in ("ann", "bob", "ann")]
    assert started[0] is started[1] is started[2] and started[0].owners == {"ann", "bob"}
    finish(started[0])
    assert started[0].error is None and len(started[0].epochs) == 1  # trained once, one epoch reported
    assert start_training(c) is started[0]  # done: the trained model is reused, not retrained
    assert load_or_train(c).source == "cache"


def test_cancel_while_queued(one_at_a_time):
    ahead, waiting = start_training(config(301, epochs=3)), start_training(config(302), "ann")
    assert waiting.state == "queued" and waiting.position == 1
    assert waiting.cancel("ann")
    assert waiting.state == "cancelled" and waiting.done.is_set() and waiting.position is None
    finish(ahead)
    assert ahead.state == "done" and waiting.started is None and not_cached(waiting.config)
    again = start_training(waiting.config, "ann")  # asking again makes a new job
    assert again is not waiting
    finish(again)
    assert again.state == "done"


def test_cancel_while_running_stops_after_the_epoch_and_caches_nothing(one_at_a_time):
    job = start_training(config(311, epochs=60, batch_size=64), "ann")
    while not job.epochs and not job.done.is_set():
        job.done.wait(0.05)
    assert job.cancel("ann")
    finish(job)
    assert job.state == "cancelled" and job.error is None and job.result is None
    assert 1 <= len(job.epochs) < 60 and not_cached(job.config)


def test_a_job_someone_else_still_wants_keeps_going(one_at_a_time):
    job = start_training(config(321, epochs=2), "ann")
    start_training(config(321, epochs=2), "bob")
    assert not job.cancel("ann")  # bob still waits for it
    finish(job)
    assert job.state == "done" and job.result is not None


def test_a_failing_training_is_reported_and_the_queue_goes_on(one_at_a_time):
    failing = start_training(config(331, user_drawings="0123456789abcdef"))  # no such drawings
    after = start_training(config(332))
    finish(failing, after)
    assert failing.state == "failed" and "user_drawings does not match" in failing.error
    assert after.state == "done" and not_cached(failing.config)
    assert start_training(failing.config) is not failing  # a failed job is retried when asked again


def test_the_limit_comes_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv(jobs.LIMIT_ENV, "3")
    assert jobs.limit() == 3
    monkeypatch.delenv(jobs.LIMIT_ENV)
    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    assert jobs.limit() == 3  # one per two cores
    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert jobs.limit() == 1  # at least one
    for bad in ("0", "two"):
        monkeypatch.setenv(jobs.LIMIT_ENV, bad)
        with pytest.raises(ValueError, match=jobs.LIMIT_ENV):
            jobs.limit()


PRIORITY = """
import glob, json
from mnist_core import TrainConfig, load_mnist, process
from mnist_core import cache
from mnist_core.jobs import start_training
from mnist_core.train import train


def ticks_by_nice():  # CPU time (clock ticks) of this process's live threads, summed by nice value (Linux)
    out = {}
    for stat in glob.glob("/proc/self/task/*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that has just ended
        out[int(fields[16])] = out.get(int(fields[16]), 0) + int(fields[11]) + int(fields[12])
    return out


(x, y), (xt, yt) = load_mnist()
cache.train = lambda config, on_epoch=None: train(config, on_epoch, data=((x[:6000], y[:6000]), (xt[:1000], yt[:1000])))
before = ticks_by_nice()
job = start_training(TrainConfig(epochs=3, batch_size=256, seed=77))
assert job.done.wait(300) and job.error is None, job.error
after = ticks_by_nice()
print(json.dumps({"used": {n: max(0, t - before.get(n, 0)) for n, t in after.items()}, "background": process.BACKGROUND_NICE}))
"""


def test_a_training_does_its_maths_at_a_lower_priority_than_the_page():
    """People's drawings are answered first: the threads that train (TensorFlow's pools and the job's
    own) run at process.BACKGROUND_NICE, the rest of the process at its normal priority. In a process of
    its own, as a server is: which thread first made TensorFlow's pools must not be whichever test ran
    before in this one."""
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", PRIORITY], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    used = {int(k): v for k, v in report["used"].items()}
    background = used.get(report["background"], 0)
    assert background > 0 and background >= 0.8 * sum(used.values()), used


def test_thirty_owners_each_get_their_model_whatever_order_the_trainings_finish_in(monkeypatch, small_training):
    """30 people press Train at once with settings of their own; the early ones train longest, so the
    trainings finish in an order unlike the order asked. Each page then takes its own outcome."""
    monkeypatch.setenv(jobs.LIMIT_ENV, "3")
    started = [start_training(config(300 + k, epochs=4 if k < 6 else 1), owner=f"person {k}") for k in range(30)]
    finish(*started)
    finished = sorted(started, key=lambda j: j.finished)
    assert finished != started  # the premise: they finished in another order
    for k, job in enumerate(started):  # each person's page, later, in the order they asked
        mine = jobs.get_job(job.config)
        assert mine is job and mine.state == "done" and f"person {k}" in mine.owners, k
        mine.collect()
