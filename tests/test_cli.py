"""python -m mnist_core, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "mnist_core", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, **kw)


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("train", "evaluate", "bench-drawn", "bench"):
        assert cmd in out.stdout
    assert "--batch-size" in run("train", "--help").stdout


def test_train_shows_progress_then_caches(tmp_path):
    first = run("train", "--epochs", "2", "--batch-size", "1024", "--cache-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "epoch   1/2" in first.stderr and "epoch   2/2" in first.stderr and "s left" in first.stderr
    assert "test accuracy 0.9" in first.stdout and "cached at" in first.stdout
    second = run("train", "--epochs", "2", "--batch-size", "1024", "--cache-dir", str(tmp_path))
    assert "loaded from the cache" in second.stdout and "epoch" not in second.stderr


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "epochs must be from 1 to 200"),
    (["--batch-size", "70000"], "batch_size must be from 1 to 60000"),
    (["--dropout", "1.5"], "dropout"),
])
def test_bad_settings_give_one_clear_line(args, words):
    out = run("train", *args)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr


def test_evaluate_the_shipped_model_on_the_test_set():
    out = run("evaluate")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["test_accuracy"] >= 0.98
    assert report["test_accuracy"] == pytest.approx(report["recorded_test_accuracy"], abs=1e-3)


def test_export_and_evaluate_saved_drawings(tmp_path, mnist):
    import numpy as np

    from mnist_core.drawings import Drawings
    db = tmp_path / "d.sqlite"
    (x, y), _ = mnist
    for i in range(6):
        Drawings(db).save(x[i], int(y[i]))
    out = run("export-drawings", "--db", str(db), "--out", str(tmp_path / "mine.npz"))
    assert out.returncode == 0 and "6 drawings" in out.stdout
    with np.load(tmp_path / "mine.npz") as z:
        assert np.array_equal(z["x"], x[:6]) and np.array_equal(z["y"], y[:6])
    report = json.loads(run("evaluate", "--drawings", "--db", str(db)).stdout.strip().splitlines()[-1])
    assert report["your_drawings"]["total"] == 6


def test_a_corrupt_drawings_database_is_one_clear_line(tmp_path):
    db = tmp_path / "d.sqlite"
    db.write_bytes(b"garbage" * 500)
    out = run("export-drawings", "--db", str(db), "--out", str(tmp_path / "x.npz"))
    assert out.returncode == 2 and "d.sqlite" in out.stderr and "Traceback" not in out.stderr
