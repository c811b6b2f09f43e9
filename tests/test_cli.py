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
