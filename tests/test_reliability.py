"""Hostile cache files and many finished jobs: nothing crashes or is lost (the browser's double
clicks, closed tabs and sessions drawing while one retrains are in test_browser_training.py)."""

import pickle

import numpy as np
import pytest

from mnist_core import TrainConfig, load_or_train
from mnist_core.cache import cache_key
from mnist_core.jobs import start_training


def test_finished_jobs_are_bounded_once_their_owners_took_them(workers, monkeypatch):
    from mnist_core import jobs
    workers(1)
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 1)  # the rule, not the number, is under test
    started = [start_training(TrainConfig(epochs=1, batch_size=2048, seed=100 + k)) for k in range(4)]
    for job in started:
        assert job.done.wait(300) and job.error is None
    with jobs._guard:
        assert all(job.config in jobs._jobs for job in started)  # nobody took them yet: all kept
    for job in started:
        job.collect()
    finish(start_training(TrainConfig(epochs=1, batch_size=2048, seed=99)))  # a further job finishes
    with jobs._guard:  # held by a job from finishing until it has tidied up
        kept = [c for c in jobs._jobs if c.seed in range(99, 104)]
    assert kept == [TrainConfig(epochs=1, batch_size=2048, seed=99)]  # the taken ones went, the untaken stayed
    assert load_or_train(started[0].config).source == "cache"  # their models are still on disk


def finish(job):
    assert job.done.wait(300) and job.error is None


class _Touch:
    """Unpickling it creates a file: a stand-in for code hidden in a cache file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (__import__("pathlib").Path(self.path).touch, ())


def test_a_cached_model_that_would_run_code_is_refused_and_retrained(tmp_path, small_training):
    """The page reads a model's weights from its .npz with numpy, never unpickling: a cache entry whose
    arrays hide pickled code is refused without running it, and trained again."""
    config = TrainConfig(epochs=1, batch_size=2048, seed=12)
    marker = tmp_path / "code-ran"
    sound = load_or_train(config, cache_dir=tmp_path)
    key = cache_key(config)
    evil = np.empty(1, dtype=object)
    evil[0] = _Touch(marker)
    with open(tmp_path / f"{key}.npz", "wb") as f:
        np.savez(f, layers=evil)  # pickled inside the .npz
    pickle.loads(pickle.dumps(evil[0]))  # the premise: unpickled, it would run
    assert marker.exists()
    marker.unlink()
    result = load_or_train(config, cache_dir=tmp_path)
    assert result.source == "trained" and not marker.exists()
    assert result.test_accuracy == sound.test_accuracy


def test_a_torn_entry_that_load_or_train_opens_is_discarded_and_retrained(tmp_path, small_training):
    """A writer killed mid-save leaves a temporary file; an entry torn under its metadata (its model cut
    short) is opened, refused and trained again, never served."""
    from mnist_core.cache import read_entry
    config = TrainConfig(epochs=1, batch_size=2048, seed=13)
    key = cache_key(config)
    sound = load_or_train(config, cache_dir=tmp_path)
    model_path, meta_path = tmp_path / f"{key}.keras", tmp_path / f"{key}.json"
    (tmp_path / f".{key}.123.tmp.keras").write_bytes(b"half a model")  # a writer killed mid-save
    weights = model_path.with_suffix(".npz")
    weights.write_bytes(weights.read_bytes()[:2000])  # the weights under the metadata, torn
    with pytest.raises(Exception):
        read_entry(model_path, meta_path, "cache")  # load_or_train does open this one
    again = load_or_train(config, cache_dir=tmp_path)
    assert again.source == "trained" and again.test_accuracy == sound.test_accuracy  # the same settings, again
    assert read_entry(model_path, meta_path, "cache").test_accuracy == sound.test_accuracy  # sound on disk
