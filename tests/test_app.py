"""The page's logic, run headless by Streamlit's AppTest."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_core import TrainConfig, default_model, views
from mnist_core.config import settings
from mnist_core.handwriting import shipped_split
from benchmarks.synthetic import TEMPLATES
from mnist_core.strokes import render
from mnist_core.jobs import get_job
from ui.sidebar import look_every

APP = str(Path(__file__).resolve().parent.parent / "page.py")


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def open_tab(at, label):
    """Click a tab: only the open tab runs (st.tabs with on_change="rerun")."""
    at.session_state["tab"] = label
    at.run()
    assert not at.exception


def canvas_value(rgba: np.ndarray | None, data_url: str | None = None) -> dict:
    """What st_canvas keeps in session_state under its key: Fabric JSON and a PNG data URL."""
    if rgba is not None:
        buf = io.BytesIO()
        Image.fromarray(rgba).save(buf, format="PNG")
        data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return {"drawing": {"raw": {"objects": [{"type": "path"}], "background": "#FFFFFF"}, "data": data_url},
            "backgroundFit": None}


def drawn(digit: int) -> np.ndarray:
    """A digit drawn black on white, as the page's canvas sends it (RGBA, opaque)."""
    ink = render(TEMPLATES[digit][0], 180, (60, 50), brush=20)
    rgba = np.full((280, 280, 4), 255, np.uint8)
    rgba[..., :3] = (255 * (1 - ink[..., None])).astype(np.uint8)
    return rgba


@pytest.fixture
def at():
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    assert not app.exception
    return app


def test_first_visit_shows_everything_with_the_shipped_model(at):
    assert metric(at, "Prediction") == "–"  # blank canvas
    assert [m.label for m in at.metric] == ["Prediction"]  # the hidden tabs did not run
    epochs = next(n for n in at.number_input if n.label == "Epochs")
    assert (epochs.value, epochs.min, epochs.max) == (10, 1, 200)  # the config's own limits
    assert next(s for s in at.select_slider if s.label == "Batch size").value == 128
    assert [b for b in at.button if b.label == "Train"]
    # The figure kept with the model, shown under Draw: the test writers', with its uncertainty.
    hw = default_model().extra["real_handwriting"]
    test = shipped_split().test
    assert hw["part"] == "test" and hw["writers"] == len(set(test.writers.tolist())) and hw["digits"] == len(test)
    assert any(f"{hw['accuracy']:.1%} (95% interval {hw['interval'][0]:.1%}-{hw['interval'][1]:.1%}) of "
               f"{hw['drawings']:,} drawings of {hw['digits']:,} real pen-written digits by {hw['writers']} people it "
               "never saw and no setting was chosen on" in c.value for c in at.caption)
    for f in settings():  # the sidebar offers the settings the config marks for the page, with its limits
        widgets = [w for kind in (at.number_input, at.select_slider, at.checkbox, at.slider) for w in kind
                   if w.label == f.metadata["label"]]
        assert len(widgets) == f.metadata["page"], f.name
    open_tab(at, "1 · The data")
    assert metric(at, "Training images") == "60,000" and metric(at, "Test images") == "10,000"
    assert "Real handwriting: 6,731 digits written with a pen by 120 people" in [h.value for h in at.subheader]
    assert any("UNIPEN" in c.value and "CC BY 4.0" in c.value for c in at.caption)  # the attribution
    open_tab(at, "2 · The network")
    layers = next(df.value for df in at.dataframe if "layer" in df.value.columns)  # the layer table
    assert list(layers["layer"]) == ["input", "deskew", "hidden", "dropout", "output"]
    from mnist_core.views import network_code
    assert all(f'name="{name}"' in network_code() for name in layers["layer"][1:])  # the names the code shows
    # The shipped model deskews first, and the page says so.
    assert "Input(784) → Deskew → Dense(512, relu) → Dropout(0.2) → Dense(10, softmax)" in [h.value for h in at.subheader]
    assert any("This model deskews first" in m.value for m in at.markdown)
    open_tab(at, "3 · Training and testing")
    assert metric(at, "Test accuracy") == f"{default_model().test_accuracy:.2%}"
    assert any(b.proto.label == "Download this model (.zip)" for b in at.get("download_button"))
    open_tab(at, "4 · Where it fails")
    assert any("test digits misread" in h.value for h in at.subheader)
    wrong = round((1 - hw["accuracy"]) * hw["drawings"])  # the Draw tab's figure; these drawings are its errors
    assert f"Real handwriting: {wrong} of {hw['drawings']:,} drawings by the {hw['writers']} test writers misread" in \
        [h.value for h in at.subheader]
    shown = [i.caption for img in at.get("image") for i in img.proto.imgs]
    assert sum(" read as " in c for c in shown) >= min(wrong, 12)


@pytest.mark.parametrize("digit", [0, 3, 7])
def test_a_drawing_in_the_canvas_is_classified(at, digit):
    at.session_state["canvas"] = canvas_value(drawn(digit))
    at.run()
    assert not at.exception
    assert metric(at, "Prediction") == str(digit)


def test_a_broken_canvas_value_shows_a_message_not_a_traceback(at):
    at.session_state["canvas"] = canvas_value(None, "data:image/png;base64,bm90IGEgcG5n")
    at.run()
    assert not at.exception
    assert metric(at, "Prediction") == "–"
    assert any("Could not read the drawing" in e.value for e in at.error)


def _png_bomb(side: int) -> bytes:
    """A valid grey PNG side x side px of zeros, compressed to a few hundred kB, made a row at a time."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z, rows = zlib.compressobj(9), []
    row = bytes(side + 1)  # filter byte, then the row
    for _ in range(side):
        rows.append(z.compress(row))
    rows.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("what, png, words", [
    ("20 MB sent as the drawing", b"\x89PNG\r\n\x1a\n" + bytes(20_000_000), "20.0 MB, more than a canvas drawing"),
    ("a 20,000 px square that decodes to 400 MB", None, "20000x20000 px, larger than a canvas"),
])
def test_an_oversized_canvas_message_is_refused_before_it_is_decoded(at, what, png, words):
    import resource
    png = png if png is not None else _png_bomb(20000)
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    at.session_state["canvas"] = canvas_value(None, url)
    at.run()
    assert not at.exception
    assert any(words in e.value for e in at.error), what
    assert metric(at, "Prediction") == "–"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 150 * 1024, what  # nothing decoded


def test_train_one_epoch_updates_the_test_metrics(workers, at):
    workers(1)
    next(n for n in at.number_input if n.label == "Epochs").set_value(1)
    next(s for s in at.select_slider if s.label == "Batch size").set_value(1024)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    job = get_job(TrainConfig(epochs=1, batch_size=1024))
    assert job is not None and job.done.wait(180) and job.error is None
    at.run()
    at.run()  # the progress fragment notices the finished job and reruns the page
    assert not at.exception
    assert any("Using your model" in s.value for s in at.success)
    open_tab(at, "3 · Training and testing")
    assert metric(at, "Test accuracy") == f"{job.result.test_accuracy:.2%}"
    assert metric(at, "Test loss") == f"{job.result.test_loss:.4f}"


def test_save_a_corrected_drawing_and_see_it_under_your_drawings(at):
    from mnist_core.user_drawings import Drawings
    store = Drawings()
    before = store.count()
    at.session_state["canvas"] = canvas_value(drawn(7))
    at.run()
    assert metric(at, "Prediction") == "7"
    next(s for s in at.selectbox if s.label == "Correct label").set_value("1")  # the user corrects it
    next(b for b in at.button if b.label == "Save drawing").click()
    at.run()
    assert not at.exception
    assert store.count() == before + 1
    _, _, y = store.arrays()
    assert y[-1] == 1
    assert metric(at, "Read correctly").endswith(f"/ {before + 1}")
    assert not any(b.label == "Save drawing" for b in at.button)  # saved once: a second press saves no copy
    assert next(b for b in at.button if b.label == "Saved ✓").disabled
    at.session_state["canvas"] = canvas_value(drawn(3))  # the next drawing can be saved
    at.run()
    assert not next(b for b in at.button if b.label == "Save drawing").disabled


def test_a_corrupt_drawings_database_leaves_the_page_working(at):
    from mnist_core.user_drawings import Drawings
    path = Drawings().path
    saved = path.read_bytes() if path.exists() else None
    path.write_bytes(b"not a database at all" * 200)
    try:
        at.session_state["canvas"] = canvas_value(drawn(3))
        at.run()
        assert not at.exception
        assert metric(at, "Prediction") == "3"
        assert any("Your drawings are unavailable" in w.value for w in at.warning)
    finally:
        path.unlink()
        if saved is not None:
            path.write_bytes(saved)


def progress_texts(at):
    return [p.proto.text for p in at.get("progress")]


def _job(state="queued", adapted=False, seconds_to_start=0.0):
    """A stand-in for a TrainingJob: what look_every reads of one."""
    from types import SimpleNamespace
    return SimpleNamespace(running=state in ("queued", "running"), state=state, seconds_to_start=lambda: seconds_to_start,
                           config=SimpleNamespace(adapted_to="f" * 16 if adapted else ""))


@pytest.mark.parametrize("job, workers, every", [
    (None, 1, None),
    (_job("done"), 1, None),
    (_job("running", adapted=True), 1, 0.25),  # learning a handwriting: about a second
    (_job("running"), 1, 1.0),
    (_job("queued", seconds_to_start=0.0), 2, 1.0),  # a free worker takes it at once: its first epochs show
    (_job("queued", seconds_to_start=2.0), 1, 1.0),
    (_job("queued", seconds_to_start=40.0), 1, 3.0),  # behind a training: the place moves only when it ends
    (_job("queued", seconds_to_start=0.0), 0, 3.0),  # no worker alive yet
], ids=["no job", "finished", "adapting", "running", "a free worker", "next within 3 s", "behind a training",
        "no worker"])
def test_a_page_looks_at_its_training_as_often_as_it_can_change(job, workers, every):
    assert look_every(job, workers) == every


def test_a_training_waits_its_turn_then_runs_and_can_be_cancelled(workers, at):
    from mnist_core import jobs
    workers(1)
    ahead = jobs.start_training(TrainConfig(epochs=200, batch_size=32, seed=401), "another student")
    next(n for n in at.number_input if n.label == "Epochs").set_value(200)
    next(s for s in at.select_slider if s.label == "Batch size").set_value(32)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert any("number 1 in the queue" in t for t in progress_texts(at)), progress_texts(at)  # queued
    mine = get_job(TrainConfig(epochs=200, batch_size=32))
    while ahead.state != "running" or mine.position != 1:  # as the queue's watcher has seen them
        ahead.done.wait(0.1)
    assert look_every(mine, workers=1) == 3.0  # behind 200 epochs: its place moves only when they end
    at.run()
    assert any("number 1 in the queue" in t for t in progress_texts(at)), progress_texts(at)
    ahead.cancel("another student")  # the slot frees: this page's training starts
    while not mine.epochs and not mine.done.is_set():
        mine.done.wait(0.1)
    at.run()
    assert any(t.startswith("Training: epoch ") for t in progress_texts(at)), progress_texts(at)  # running
    assert look_every(mine, workers=1) == 1.0
    next(b for b in at.button if b.label == "Cancel training").click()
    at.run()
    assert mine.done.wait(120) and mine.state == "cancelled"
    at.run()  # the progress fragment notices the end and reruns the page, which says so once
    assert not at.exception
    assert any("Training cancelled" in i.value for i in at.info)  # cancelled
    assert any("Using the shipped model" in i.value for i in at.info)  # the model in use did not change


def test_a_teacher_with_the_servers_token_sees_the_whole_class(monkeypatch):
    from ui.identity import TEACHER_ENV
    from mnist_core.user_drawings import Drawings
    monkeypatch.setenv(TEACHER_ENV, "s3cret")
    for label in (1, 7):
        Drawings(owner="a student elsewhere").save(drawn(label)[::10, ::10, 0], label)  # 28x28
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    open_tab(at, "Teacher")
    for wrong in ("wrong", "é", "s3cret "):  # a non-ASCII token is refused like any other, not a traceback
        next(t for t in at.text_input if t.label == "Teacher token").set_value(wrong).run()
        assert not at.exception
        assert any("not this server's teacher token" in e.value for e in at.error), wrong
        assert not any("drawings by" in m.value for m in at.markdown)  # none of the class's figures
        assert not any(b.proto.label.startswith("Export the class") for b in at.get("download_button"))
    next(t for t in at.text_input if t.label == "Teacher token").set_value("s3cret").run()
    assert not at.exception
    counts = Drawings().owners()
    people = f"{len(counts)} {'person' if len(counts) == 1 else 'people'}"
    assert any(f"{sum(counts.values())} drawings by {people}" in m.value for m in at.markdown)
    assert any(b.proto.label == "Export the class's drawings (.npz)" for b in at.get("download_button"))
    assert any(b.proto.label == "Export the list of drawings (.csv)" for b in at.get("download_button"))
    people = next(df.value for df in at.dataframe if "person" in df.value.columns)
    student = views.anonymous("a student elsewhere")
    assert student in set(people["person"]) and "a student elsewhere" not in str(people.values)  # no ids shown
    before = int(people.loc[people["person"] == student, "drawings"].iloc[0])
    at.selectbox(key="gallery_whose").set_value(student).run()
    assert at.get("imgs") or at.get("image")
    next(b for b in at.button if b.label == "Remove this drawing").click().run()
    assert not at.exception
    people = next(df.value for df in at.dataframe if "person" in df.value.columns)
    assert int(people.loc[people["person"] == student, "drawings"].iloc[0]) == before - 1  # the owner's, by one


def test_a_non_ascii_server_token_can_be_typed(monkeypatch):
    from ui.identity import TEACHER_ENV
    monkeypatch.setenv(TEACHER_ENV, "clé-ünï")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    open_tab(at, "Teacher")
    next(t for t in at.text_input if t.label == "Teacher token").set_value("clé-ünï").run()
    assert not at.exception and not at.error
    assert any(b.proto.label == "Export the class's drawings (.npz)" for b in at.get("download_button"))


def test_a_model_in_use_gone_from_the_cache_is_not_retrained_in_the_page(at, monkeypatch):
    """Training runs in the queue, within its limit: a model in use that the cache no longer holds gives a
    message and the shipped model, not a training in the page's thread."""
    from mnist_core import cache
    trained = []
    monkeypatch.setattr(cache, "train", lambda config, on_epoch=None: trained.append(config))
    at.session_state["config"] = TrainConfig(epochs=3, seed=987)  # chosen once; gone from the cache since
    at.run()
    assert not at.exception and trained == []
    assert any("Could not load your trained model" in e.value for e in at.error)
    assert any("Using the shipped model" in i.value for i in at.info)


def test_look_inside_shows_the_drawing_its_units_and_the_whole_model(at):
    open_tab(at, "5 · Look inside")
    assert any("Draw a digit in the" in i.value for i in at.info)  # nothing drawn yet
    at.session_state["canvas"] = canvas_value(drawn(3))
    at.run()
    assert metric(at, "Prediction") == "3"
    assert any(m.value.startswith("**Your drawing reads as a 3**") for m in at.markdown)
    captions = [i.caption for img in at.get("image") for i in img.proto.imgs]
    assert any("The 512 hidden units" in c for c in captions)
    assert any("pushed towards the 3" in c for c in captions)
    assert sum(c.startswith("unit ") and "%" in c for c in captions) >= 1  # the top units, with shares
    assert sum(c.startswith("unit ") and "%" not in c for c in captions) == 24  # the gallery
    assert [c for c in captions if c in list("0123456789")] == list("0123456789")  # the digit templates


def test_a_number_is_read_digit_by_digit(at):
    from benchmarks.numbers import number_canvas
    from mnist_core.strokes import render
    inks = [render(TEMPLATES[d][0], 180, (60, 50), brush=20) for d in (2, 0, 2, 6)]
    rgba = number_canvas(inks, np.random.default_rng(0))
    at.session_state["canvas"] = canvas_value(np.dstack([np.full(rgba.shape[:2] + (3,), 0, np.uint8),
                                                         rgba[..., 3]]) if rgba.shape[2] == 4 else rgba)
    at.run()
    assert not at.exception
    assert metric(at, "Prediction") == "2026"
    assert [i.caption.split()[0] for img in at.get("image") for i in img.proto.imgs][-4:] == ["2", "0", "2", "6"]


def test_a_bad_training_limit_on_the_server_is_said_at_once_and_a_training_is_refused(monkeypatch, caplog):
    from mnist_core import jobs
    monkeypatch.setenv(jobs.LIMIT_ENV, "two")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()  # the first page, before anyone presses Train: the page and the server's log say it
    assert not at.exception
    assert any("This server's settings are wrong: $MNIST_DRAW_TRAININGS must be a whole number" in e.value
               for e in at.error)
    assert any("Server settings: $MNIST_DRAW_TRAININGS" in r.getMessage() for r in caplog.records)
    next(n for n in at.number_input if n.label == "Epochs").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert any("Cannot train: $MNIST_DRAW_TRAININGS must be a whole number" in e.value for e in at.error)
    assert get_job(TrainConfig(epochs=3)) is None  # nothing was queued


@pytest.mark.slow
def test_learn_my_handwriting_makes_an_adapted_model_mine_and_there_is_a_way_back(workers, at):
    workers(1)
    from mnist_core import canvas_to_mnist
    from mnist_core.user_drawings import Drawings
    mine = Drawings(owner=at.session_state["who"])
    for d in range(10):
        mine.save(canvas_to_mnist(drawn(d)), d)
    at.run()
    learn = next(b for b in at.button if b.label == "Learn my handwriting")
    learn.click()
    at.run()
    assert not at.exception
    job = get_job(TrainConfig.from_dict({**default_model().config.to_dict(), "adapted_to": mine.fingerprint()}))
    assert job is not None and job.done.wait(120) and job.error is None, job and job.error
    at.run()
    at.run()  # the progress fragment notices the finished job and reruns the page
    assert not at.exception
    assert any("Using your model: the shipped model, adapted to your handwriting" in s.value for s in at.success)
    assert any("This model learned your handwriting** from your first 10 drawings" in m.value for m in at.markdown)
    report = next(df.value for df in at.dataframe if "read right on" in df.value.columns)
    assert list(report["read right on"])[:2] == ["your drawings, all (10)", "MNIST test set (10,000)"]
    assert report["after"].iloc[0] == 1.0  # it reads the drawings it learned from
    open_tab(at, "3 · Training and testing")  # its own test figures; the training figures are its base's, said so
    assert any("fine-tuned on your 10 saved drawings" in m.value for m in at.markdown)
    labels = [m.label for m in at.metric]
    assert "Test accuracy before adapting" in labels and "Training accuracy (last epoch)" not in labels
    assert any("Overfitting in numbers (the model it was adapted from)" in m.value for m in at.markdown)
    open_tab(at, "✏️ Draw a digit")
    next(b for b in at.button if b.label == "Back to the model I had").click()
    at.run()
    assert any("Using the shipped model" in i.value for i in at.info)
    # Nobody else's page changed: a new session still uses the shipped model.
    other = AppTest.from_file(APP, default_timeout=120)
    other.run()
    assert any("Using the shipped model" in i.value for i in other.info)


def test_a_recipe_sets_the_sidebar_and_says_what_it_costs(at):
    shipped = default_model().config
    button = next(b for b in at.button if b.label == "Shipped model's recipe")
    assert "about" in button.help and "min the first time" in button.help  # what it costs here
    button.click()
    at.run()
    assert next(n for n in at.number_input if n.label == "Epochs").value == shipped.epochs
    assert next(s for s in at.slider if s.label == "Dropout").value == pytest.approx(shipped.dropout)
    assert next(c for c in at.checkbox if c.label.startswith("Augment")).value is shipped.augment
    next(b for b in at.button if b.label == "Reference run").click()
    at.run()
    assert next(n for n in at.number_input if n.label == "Epochs").value == TrainConfig().epochs
    assert next(c for c in at.checkbox if c.label.startswith("Augment")).value is False


def test_with_no_worker_alive_a_training_says_it_waits_for_one_and_drawing_works(queue):
    import time
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    next(n for n in at.number_input if n.label == "Epochs").set_value(7)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    time.sleep(1)  # the watcher has looked at the queue: nobody takes trainings from it
    at.run()
    assert not at.exception
    assert any(t.startswith("Waiting for a training worker: number 1 in the queue") for t in progress_texts(at)), \
        progress_texts(at)
    at.session_state["canvas"] = canvas_value(drawn(3))
    at.run()
    assert metric(at, "Prediction") == "3"
    get_job(TrainConfig(epochs=7)).cancel(at.session_state["who"])


def test_a_broker_that_is_down_is_said_in_one_line_and_drawing_works(monkeypatch):
    import socket
    from mnist_core import broker
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv(broker.BROKER_ENV, f"redis://127.0.0.1:{port}/0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    next(n for n in at.number_input if n.label == "Epochs").set_value(8)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert any(e.value.startswith(f"Cannot train: The training queue (redis://127.0.0.1:{port}/0) cannot be "
                                  "reached") and e.value.endswith("drawing works.") for e in at.error), \
        [e.value for e in at.error]
    at.session_state["canvas"] = canvas_value(drawn(2))
    at.run()
    assert metric(at, "Prediction") == "2"


def train_from_sidebar(at, epochs, batch_size=1024):
    next(n for n in at.number_input if n.label == "Epochs").set_value(epochs)
    next(s for s in at.select_slider if s.label == "Batch size").set_value(batch_size)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    job = get_job(TrainConfig(epochs=epochs, batch_size=batch_size))
    assert job is not None and job.done.wait(180) and job.error is None
    at.run()
    at.run()  # the progress fragment notices the finished job and reruns the page
    assert not at.exception
    return job


def test_your_trainings_side_by_side_one_click_to_use_and_a_damaged_entry_is_a_note(workers, at):
    from mnist_core.cache import cache_key, entry_path
    from mnist_core.user_drawings import Drawings
    workers(1)
    first, second = train_from_sidebar(at, 1), train_from_sidebar(at, 2)
    broken = TrainConfig(epochs=3, batch_size=1024)  # on the list, but its cache entry is damaged
    entry_path(broken).with_suffix(".json").write_text("{ torn")
    Drawings(owner=at.session_state["who"]).add_training(cache_key(broken), broken.to_dict())
    open_tab(at, "3 · Training and testing")
    table = next(df.value for df in at.dataframe if "in use" in df.value.columns)
    assert list(table["run"]) == ["1 epoch, batch size 1024", "2 epochs, batch size 1024"]
    assert list(table["test accuracy"]) == [first.result.test_accuracy, second.result.test_accuracy]
    assert list(table["in use"]) == ["", "✓"]
    assert any('"3 epochs, batch size 1024" cannot be shown' in c.value for c in at.caption)
    at.multiselect(key="compare").set_value(list(table["run"]))
    at.run()
    assert not at.exception
    chart = at.get("vega_lite_chart")[-1].proto.spec  # the last chart on the tab: the runs side by side
    assert '"run"' in chart and "strokeDash" in chart
    assert any(m.value.startswith("**What changed:** 2 epochs instead of 1 epoch: test accuracy")
               for m in at.markdown), [m.value[:80] for m in at.markdown]
    at.selectbox(key="run_action").set_value("1 epoch, batch size 1024")
    at.run()
    next(b for b in at.button if b.label == "Use this model").click()
    at.run()
    assert any("Using your model: 1 epoch, batch size 1024" in s.value for s in at.success)
    other = AppTest.from_file(APP, default_timeout=120)  # another browser: not on its list
    other.run()
    open_tab(other, "3 · Training and testing")
    assert not any("in use" in df.value.columns for df in other.dataframe)
    classes = next(df.value for df in other.dataframe if "people" in df.value.columns)
    assert {"1 epoch, batch size 1024", "2 epochs, batch size 1024"} <= set(classes["run"])
