"""Hostile cache files and many finished jobs: nothing crashes or is lost (the browser's double
clicks, closed tabs and six sessions at once are in test_browser.py)."""

import keras
import pytest

from mnist_core import TrainConfig, load_or_train
from mnist_core.cache import cache_key, write_entry
from mnist_core.jobs import start_training
from mnist_core.network import TrainResult


def test_finished_jobs_are_bounded_once_their_owners_took_them(small_training, monkeypatch):
    from mnist_core import jobs
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


def test_a_cached_model_that_would_run_code_is_refused_and_retrained(tmp_path, small_training):
    """Keras's safe mode: a Lambda layer's pickled code in a cache file is never executed."""
    config = TrainConfig(epochs=1, batch_size=2048, seed=12)
    marker = tmp_path / "code-ran"
    evil = keras.Sequential([keras.Input((784,)),
                             keras.layers.Lambda(eval(  # no closure: the path is a constant in its code
                                 f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")),
                             keras.layers.Dense(10, activation="softmax")])
    key = cache_key(config)
    fake = TrainResult(evil, config, {"loss": [0.1], "accuracy": [0.99]}, 0.1, 0.99, 1.0)
    write_entry(fake, tmp_path / f"{key}.keras", tmp_path / f"{key}.json")
    marker.unlink(missing_ok=True)  # building the model above ran the lambda once, here in the test
    result = load_or_train(config, cache_dir=tmp_path)
    assert result.source == "trained" and not marker.exists()
    assert [type(l).__name__ for l in result.model.layers] == ["Dense", "Dense"]


def test_a_torn_entry_that_load_or_train_opens_is_discarded_and_retrained(tmp_path, small_training):
    """A writer killed mid-save leaves a temporary file; an entry torn under its metadata (its model cut
    short) is opened, refused and trained again, never served."""
    from mnist_core.cache import read_entry
    config = TrainConfig(epochs=1, batch_size=2048, seed=13)
    key = cache_key(config)
    sound = load_or_train(config, cache_dir=tmp_path)
    model_path, meta_path = tmp_path / f"{key}.keras", tmp_path / f"{key}.json"
    (tmp_path / f".{key}.123.tmp.keras").write_bytes(b"half a model")  # a writer killed mid-save
    model_path.write_bytes(model_path.read_bytes()[:2000])  # the model under the metadata, torn
    with pytest.raises(Exception):
        read_entry(model_path, meta_path, "cache")  # load_or_train does open this one
    again = load_or_train(config, cache_dir=tmp_path)
    assert again.source == "trained" and again.test_accuracy == sound.test_accuracy  # the same settings, again
    assert read_entry(model_path, meta_path, "cache").test_accuracy == sound.test_accuracy  # sound on disk
