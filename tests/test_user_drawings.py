"""The user's drawings database: saving, reading, exporting, concurrency and damage."""

import io
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mnist_core import TrainConfig
from mnist_core.train import train
from mnist_core.evaluate import measure
from mnist_core.user_drawings import Drawings, DrawingsError

ROOT = Path(__file__).resolve().parent.parent


def test_saved_drawings_come_back_shaped_like_mnist(tmp_path, mnist):
    store = Drawings(tmp_path / "d.sqlite")
    (x, y), _ = mnist
    for i in range(5):
        store.save(x[i].astype(np.float32) / 255, int(y[i]), predicted_label=int(y[i]), canvas_png=b"png")
    ids, dx, dy = store.arrays()
    assert dx.shape == (5, 28, 28) and dx.dtype == np.uint8 and dy.dtype == np.uint8
    assert np.array_equal(dx, x[:5]) and np.array_equal(dy, y[:5])
    with np.load(io.BytesIO(store.export_npz())) as z:  # export round-trips through numpy
        assert np.array_equal(z["x"], x[:5]) and np.array_equal(z["y"], y[:5])
    assert store.delete([ids[0]]) == 1 and store.count() == 4
    assert store.delete() == 4 and store.count() == 0 and store.fingerprint() == ""


@pytest.mark.parametrize("image, label, png, error", [
    (np.zeros((27, 28)), 3, None, "28x28"),
    (np.zeros((28, 28)), 10, None, "0-9"),
    (np.zeros((28, 28)), -1, None, "0-9"),
    (np.zeros((28, 28)), 1, bytes(20_000_000), "more than a drawing's"),  # the canvas image is bounded too
])
def test_bad_drawings_are_refused_with_a_reason(tmp_path, image, label, png, error):
    store = Drawings(tmp_path / "d.sqlite")
    with pytest.raises(ValueError, match=error):
        store.save(image, label, canvas_png=png)
    assert store.count() == 0


SAVER = """
import sys, numpy as np
from mnist_core.user_drawings import Drawings
store = Drawings(sys.argv[1])
for i in range(40):
    store.save(np.full((28, 28), i, np.uint8), i % 10, model_key=sys.argv[2])
"""


def test_concurrent_saves_from_two_sessions_and_two_processes_lose_nothing(tmp_path):
    path = tmp_path / "d.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", SAVER, str(path), f"proc{k}"], cwd=ROOT) for k in range(2)]
    store = Drawings(path)
    threads = [threading.Thread(target=lambda: [store.save(np.zeros((28, 28), np.uint8), 1) for _ in range(40)])
               for _ in range(2)]  # two app sessions are two threads of one server
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(120) for p in procs] == [0, 0]
    ids, _, _ = store.arrays()
    assert store.count() == 160 and len(set(ids.tolist())) == 160


@pytest.mark.parametrize("damage", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_database_gives_a_clear_error(tmp_path, damage):
    path = tmp_path / "d.sqlite"
    path.write_bytes(damage)
    with pytest.raises(DrawingsError, match="d.sqlite"):
        Drawings(path).arrays()


def test_training_can_mix_in_the_drawings(tmp_path, mnist):
    store = Drawings(tmp_path / "d.sqlite")
    (x, y), _ = mnist
    for i in range(50):
        store.save(x[-1 - i], int(y[-1 - i]))
    config = TrainConfig(epochs=1, batch_size=2048, user_drawings=store.fingerprint())
    result = train(config, data=mnist, drawings=store)
    _, dx, dy = store.arrays()
    assert result.extra["user_drawings"] == {"count": 50, "repeated": 24}  # 2% of 60,000 images
    assert measure(result.model, dx, dy)["accuracy"] > 0.85 and result.test_accuracy > 0.85
    store.save(x[0], int(y[0]))  # the set changed: the old setting no longer describes it
    with pytest.raises(ValueError, match="user_drawings"):
        train(config, data=mnist, drawings=store)


def test_each_person_keeps_their_own_model_in_use(tmp_path):
    ann, bob = Drawings(tmp_path / "d.sqlite", owner="ann"), Drawings(tmp_path / "d.sqlite", owner="bob")
    assert ann.remembered_model() is None  # a newcomer: the shipped model
    ann.remember_model({"epochs": 3})
    bob.remember_model({"epochs": 5})
    ann.remember_model({"epochs": 4})  # the last choice counts
    assert ann.remembered_model() == {"epochs": 4} and bob.remembered_model() == {"epochs": 5}
    ann.remember_model(None)  # back to the shipped model
    assert ann.remembered_model() is None and bob.remembered_model() == {"epochs": 5}
    with pytest.raises(ValueError, match="one person"):
        Drawings(tmp_path / "d.sqlite").remember_model({"epochs": 3})


def test_a_teacher_with_no_drawings_of_their_own_trains_on_those_of_before_owners(tmp_path):
    """The teacher's view is their own drawings and the unowned ones: a training (which looks among
    everyone's) finds that set by its fingerprint even when the teacher saved none of their own."""
    from mnist_core.user_drawings import UNOWNED
    path = tmp_path / "d.sqlite"
    for d in (1, 2):
        Drawings(path, owner=UNOWNED).save(np.full((28, 28), 50 * d, np.uint8), d)
    Drawings(path, owner="a student").save(np.full((28, 28), 9, np.uint8), 7)
    teacher = Drawings(path, owner="the teacher", with_unowned=True)
    x, y = Drawings(path).for_training(teacher.fingerprint())
    assert sorted(y.tolist()) == [1, 2]


def test_files_are_written_without_os_fchmod(tmp_path, monkeypatch):
    """os.fchmod does not exist on Windows before Python 3.13."""
    import os
    from mnist_core.paths import atomic_write_bytes
    monkeypatch.delattr(os, "fchmod", raising=False)
    atomic_write_bytes(tmp_path / "f.bin", b"data")
    assert (tmp_path / "f.bin").read_bytes() == b"data" and (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o644
