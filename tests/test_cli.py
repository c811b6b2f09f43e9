"""python -m mnist_core and python -m benchmarks, as a user runs them (in-process: main([...]))."""

import json
import re

import numpy as np
import pytest

from benchmarks.__main__ import main as bench_main
from mnist_core.__main__ import main
from mnist_core.config import settings


def run(capsys, *args, entry=main):
    code = entry(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_commands_and_every_setting(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(cmd in out for cmd in ("train", "evaluate", "export-drawings"))
    _, out, _ = run(capsys, "train", "--help")
    for f in settings():  # one flag per setting, made from the config itself
        assert ("--" + f.name.replace("_", "-") in out) == f.metadata["cli"], f.name
    code, out, _ = run(capsys, "--help", entry=bench_main)
    assert code == 0 and all(cmd in out for cmd in ("drawn", "handwriting", "ceiling", "learn", "numbers", "speed"))


def test_the_flags_make_the_config_they_name(capsys, monkeypatch):
    from mnist_core import __main__ as cli
    seen = []

    def record(config, **kw):  # what training would have been asked for; then stop
        seen.append(config)
        raise ValueError("stop here")

    monkeypatch.setattr(cli, "load_or_train", record)
    code, _, err = run(capsys, "train", "--epochs", "3", "--batch-size", "64", "--seed", "4", "--augment",
                       "--deskew", "--dropout", "0.1", "--as-drawn", "0.5", "--real-handwriting", "0.2",
                       "--validation-split", "0.1")
    assert code == 2 and "stop here" in err
    from mnist_core import TrainConfig
    assert seen == [TrainConfig(epochs=3, batch_size=64, seed=4, augment=True, deskew=True, dropout=0.1,
                                as_drawn=0.5, real_handwriting=0.2, validation_split=0.1)]


def test_train_shows_progress_then_caches(capsys, tmp_path, small_training):
    code, out, err = run(capsys, "train", "--epochs", "2", "--batch-size", "1024", "--cache-dir", str(tmp_path))
    assert code == 0, err
    assert "epoch   1/2" in err and "epoch   2/2" in err and "s left" in err
    assert re.search(r"test accuracy 0\.\d", out) and "cached at" in out
    code, out, err = run(capsys, "train", "--epochs", "2", "--batch-size", "1024", "--cache-dir", str(tmp_path))
    assert "loaded from the cache" in out and "epoch" not in err


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "epochs must be from 1 to 200"),
    (["--batch-size", "70000"], "batch_size must be from 1 to 60000"),
    (["--dropout", "1.5"], "dropout must be from 0.0 to 1.0"),
    (["--real-handwriting", "2"], "real_handwriting must be from 0.0 to 1.0"),
])
def test_bad_settings_give_one_clear_line(capsys, args, words):
    code, _, err = run(capsys, "train", *args)
    assert code == 2 and words in err and "Traceback" not in err


def test_evaluate_the_shipped_model(capsys):
    code, out, err = run(capsys, "evaluate")
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["test_accuracy"] >= 0.985
    assert report["test_accuracy"] == pytest.approx(report["recorded_test_accuracy"], abs=1e-3)
    from mnist_core.handwriting import shipped_split
    test = shipped_split().test  # the shipped model's figure is the test writers', read as the page reads
    assert report["real_handwriting"]["part"] == "test" and report["real_handwriting"]["digits"] == len(test)


def test_export_and_evaluate_saved_drawings(capsys, tmp_path, mnist):
    from mnist_core.user_drawings import Drawings
    db = tmp_path / "d.sqlite"
    (x, y), _ = mnist
    for i in range(6):
        Drawings(db).save(x[i], int(y[i]))
    code, out, _ = run(capsys, "export-drawings", "--db", str(db), "--out", str(tmp_path / "mine.npz"))
    assert code == 0 and "6 drawings" in out
    with np.load(tmp_path / "mine.npz") as z:
        assert np.array_equal(z["x"], x[:6]) and np.array_equal(z["y"], y[:6])
    code, out, _ = run(capsys, "evaluate", "--drawings", "--db", str(db))
    report = json.loads(out.strip().splitlines()[-1])
    assert report["your_drawings"]["total"] == 6 and report["your_drawings"]["correct"] >= 5


def test_a_corrupt_drawings_database_is_one_clear_line(capsys, tmp_path):
    db = tmp_path / "d.sqlite"
    db.write_bytes(b"garbage" * 500)
    code, _, err = run(capsys, "export-drawings", "--db", str(db), "--out", str(tmp_path / "x.npz"))
    assert code == 2 and "d.sqlite" in err and "Traceback" not in err


@pytest.mark.slow
def test_the_product_cli_is_a_module_that_runs(tmp_path):
    """One real subprocess: `python -m mnist_core` starts and answers (the rest run in-process)."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "mnist_core", "train", "--epochs", "0"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "epochs must be from 1 to 200" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_the_server_reports_a_bad_setting_in_its_log_when_it_starts(tmp_path):
    """`streamlit run app.py` with a bad $MNIST_DRAW_TRAININGS: the server's log says so before any page is
    opened (app.py's warm-up checks the settings at the start), and the server still serves."""
    import time
    import urllib.request

    from benchmarks.browser import app_server
    log = tmp_path / "app.log"
    with app_server(log=log, db=tmp_path / "drawings.sqlite", env={"MNIST_DRAW_TRAININGS": "abc"}) as (url, _, proc):
        deadline = time.monotonic() + 60
        while "Server settings:" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ("Server settings: $MNIST_DRAW_TRAININGS must be a whole number of trainings, got 'abc'"
                in log.read_text())
        with urllib.request.urlopen(url, timeout=10) as page:  # no page had been asked for until now
            assert page.status == 200
        assert proc.poll() is None


def test_the_drawn_digit_benchmark_prints_its_tables(capsys):
    code, out, err = run(capsys, "drawn", "--per-digit", "2", "--bench-seed", "3", entry=bench_main)
    assert code == 0, err
    assert "20 pen-stroke drawings (templates, seed 3)" in out and "20 MNIST test digits redrawn" in out
    rows = [line for line in out.splitlines() if line.strip().startswith("all")]
    assert len(rows) == 2 and all(line.count("%") == 2 for line in rows)  # plain resize and canvas_to_mnist


@pytest.mark.parametrize("benchmark", ["adaptation", "handwriting"])
def test_settings_are_never_chosen_on_writers_the_model_trained_on(capsys, benchmark):
    """The shipped model trained on the validation writers: measured on them, it would flatter a setting."""
    code, out, err = run(capsys, benchmark, "--writers", "validation", entry=bench_main)
    assert code == 2 and "trained on the validation writers" in err and "--with-validation-writers" in err
    assert out == "" and "Traceback" not in err


def test_the_adaptation_is_chosen_on_training_writers_each_in_one_fold_that_its_model_never_saw():
    """benchmarks folds: a fold's writers are training writers (never validation or test), in one fold
    only, each with enough of every digit to adapt on one and read the rest."""
    from benchmarks.folds import FOLDS, fold_writers
    from mnist_core.handwriting import shipped_split
    split = shipped_split()
    folds = [set(fold_writers(split.train, k)) for k in range(FOLDS)]
    assert all(len(f) >= 8 for f in folds) and not set.intersection(*folds)
    assert set.union(*folds) <= set(split.train.writers.tolist())
    for w in set.union(*folds):
        assert np.bincount(split.train.labels[split.train.writers == w], minlength=10).min() >= 3


@pytest.mark.parametrize("setting, words", [
    ("mine=64,rate=0.1", "'rate=0.1': the adaptation's settings are steps, mine, learning_rate, distill, spread"),
    ("mine=lots", "'mine=lots': mine takes a number"),
    ("distill=yes", "'distill=yes': distill takes a number"),
    ("mine=128", "mine from 1 to 127"),  # no MNIST left in a batch: it would forget everything
    ("steps=0", "steps >= 1"),
    ("learning_rate=-1e-3", "learning rate above 0"),
    ("spread=3", "a spread from 0 to 2"),
])
@pytest.mark.parametrize("command", [["folds"], ["adaptation", "--settings"]])
def test_a_bad_adaptation_setting_is_one_clear_line_before_anything_trains(capsys, setting, words, command):
    code, out, err = run(capsys, *command, setting, entry=bench_main)
    assert code == 2 and words in err and "Traceback" not in err and out == ""


def test_a_ceiling_of_no_epochs_is_one_clear_line_before_anything_trains(capsys):
    code, out, err = run(capsys, "ceiling", "--epochs", "0", entry=bench_main)
    assert code == 2 and "--epochs must be at least 1, got 0" in err and "Traceback" not in err and out == ""


def test_learning_from_more_drawings_than_a_writer_has_of_a_digit_is_one_clear_line(capsys):
    code, out, err = run(capsys, "adaptation", "--per-digit", "4", entry=bench_main)
    assert code == 2 and "--per-digit must be from 1 to 3" in err and "Traceback" not in err and out == ""


def test_the_misread_sheet_draws_a_row_for_each_misread_writer(tmp_path):
    from PIL import Image

    from benchmarks.handwriting import misread_sheet
    from mnist_core import default_model
    from mnist_core.handwriting import misread_by_writer
    misread = misread_by_writer(default_model().model)["by_writer"]
    misread_sheet(misread, tmp_path / "sheet.png", per_row=40)
    assert Image.open(tmp_path / "sheet.png").height == len(misread) * (28 * 2 + 6 + 12) > 0


@pytest.mark.slow
def test_a_downloaded_model_loads_in_a_fresh_process_and_predicts_the_same(tmp_path, one_epoch, mnist, capsys):
    """The page's Download (cache.bundle) round trip: a zip someone takes away and brings back."""
    import subprocess
    import sys
    import zipfile

    from mnist_core.cache import bundle
    from mnist_core.predict import predict_proba
    result, _ = one_epoch
    path = tmp_path / "mnist-draw-model.zip"
    path.write_bytes(bundle(result))
    zipfile.ZipFile(path).extractall(tmp_path)
    x = mnist[1][0][:50]
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, keras, mnist_core; "
            "m = keras.saving.load_model(sys.argv[1], safe_mode=True); "
            "np.save(sys.argv[2], np.asarray(m(np.load(sys.argv[3]).reshape(-1, 784).astype('float32') / 255)))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.keras"), str(tmp_path / "p.npy"),
                    str(tmp_path / "x.npy")], check=True)
    assert np.allclose(np.load(tmp_path / "p.npy"), predict_proba(result.model, x), atol=1e-5)
    assert json.loads((tmp_path / "model.json").read_text())["config"] == result.config.to_dict()
    assert main(["evaluate", "--model-file", str(path)]) == 0  # the CLI measures the file
    report = json.loads(capsys.readouterr().out)
    assert report["test_accuracy"] == round(result.test_accuracy, 4) and report["recorded_test_accuracy"] == result.test_accuracy


def _zip(path, files: dict) -> None:
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


def _bad_model_file(kind, tmp_path, model_bytes):
    if kind == "empty":
        (tmp_path / "model.keras").write_bytes(b"")
        return tmp_path / "model.keras"
    if kind == "text named .zip":
        (tmp_path / "model.zip").write_text("my notes, not a model\n" * 50)
        return tmp_path / "model.zip"
    if kind == "not a keras zip":
        _zip(tmp_path / "model.keras", {"readme.txt": "hello"})
        return tmp_path / "model.keras"
    if kind == "hdf5":
        (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(2000))
        return tmp_path / "model.h5"
    if kind == "model.json a list":
        _zip(tmp_path / "model.zip", {"model.keras": model_bytes, "model.json": "[1, 2]"})
        return tmp_path / "model.zip"
    if kind == "zip bomb":  # 100 MB of zeros in a few hundred kB
        _zip(tmp_path / "model.zip", {"model.keras": bytes(100_000_000), "model.json": "{}"})
        return tmp_path / "model.zip"


@pytest.mark.parametrize("kind, words", [
    ("empty", "the file is empty"),
    ("text named .zip", "neither a .keras file nor the model zip"),
    ("not a keras zip", "not a model MNIST Draw can read"),
    ("hdf5", "HDF5 (.h5) model, which MNIST Draw never loads"),
    ("model.json a list", "model.json is not a JSON object"),
    ("zip bomb", "would unpack to 100 MB"),
])
def test_evaluating_a_bad_model_file_says_so_naming_the_users_file(tmp_path, capsys, one_epoch, kind, words,
                                                                    monkeypatch):
    import resource
    import tempfile
    from pathlib import Path
    # A temp folder of this process's own: other processes of the suite (TensorFlow's autograph) write to /tmp.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    from mnist_core.cache import bundle
    import zipfile, io
    with zipfile.ZipFile(io.BytesIO(bundle(one_epoch[0]))) as z:
        model_bytes = z.read("model.keras")
    bad = _bad_model_file(kind, tmp_path, model_bytes)
    temps = set(Path(tempfile.gettempdir()).iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, _, err = run(capsys, "evaluate", "--model-file", str(bad))
    assert code == 2 and words in err and "Traceback" not in err, err
    assert f"error: {bad}" in err and len(err.strip().splitlines()) == 1  # the user's file, in one line
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 50 * 1024  # nothing unpacked
    assert set(Path(tempfile.gettempdir()).iterdir()) <= temps  # no temp folder left behind


def test_cache_dir_flag_and_environment_lay_out_one_cache(tmp_path, capsys, small_training, monkeypatch):
    from mnist_core import TrainConfig
    from mnist_core.cache import cache_key
    code, out, err = run(capsys, "train", "--epochs", "1", "--batch-size", "2048", "--cache-dir", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "models" / f"{cache_key(TrainConfig(epochs=1, batch_size=2048))}.keras").exists()
    monkeypatch.setenv("MNIST_DRAW_CACHE_DIR", str(tmp_path))
    code, out, err = run(capsys, "train", "--epochs", "1", "--batch-size", "2048")
    assert code == 0 and "loaded from the cache" in out  # the same folder either way


def test_export_to_a_missing_folder_and_evaluate_with_no_drawings_say_so(tmp_path, capsys):
    code, _, err = run(capsys, "export-drawings", "--db", str(tmp_path / "d.sqlite"),
                       "--out", str(tmp_path / "missing" / "x.npz"))
    assert code == 2 and "cannot be written (No such file or directory)" in err and "Traceback" not in err
    code, out, err = run(capsys, "evaluate", "--drawings", "--db", str(tmp_path / "d.sqlite"))
    assert code == 0, err
    mine = json.loads(out.strip().splitlines()[-1])["your_drawings"]
    assert mine["total"] == 0 and mine["accuracy"] is None  # no figure, rather than an accuracy of 0


def test_the_numbers_benchmark_prints_its_figures(capsys):
    code, out, err = run(capsys, "numbers", "--numbers", "4", "--bench-seed", "5", entry=bench_main)
    assert code == 0, err
    rows = {line[:38].strip(): line[38:].split() for line in out.splitlines()[2:4]}
    assert set(rows) == {"our generated drawings", "real handwriting, test writers"}
    assert all(len(v) == 2 and all(x.endswith("%") for x in v) for v in rows.values())
