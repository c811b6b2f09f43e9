"""The reference network, real training for an epoch, the disk cache and fast prediction."""

import json
from pathlib import Path
import subprocess
import sys

import keras
import numpy as np
import pytest

from mnist_core import TrainConfig, load_or_train, predict_proba
from mnist_core.cache import cache_key
from mnist_core.model import build_model
from mnist_core.network import prepare_images, prepare_labels

ROOT = Path(__file__).resolve().parent.parent


def test_reference_network_shape_and_compile_settings():
    m = build_model()
    assert [type(l).__name__ for l in m.layers] == ["Dense", "Dense"]
    assert [l.units for l in m.layers] == [512, 10]
    assert [l.activation.__name__ for l in m.layers] == ["relu", "softmax"]
    assert m.input_shape == (None, 784)
    assert [l.count_params() for l in m.layers] == [784 * 512 + 512, 512 * 10 + 10]
    assert isinstance(m.optimizer, keras.optimizers.RMSprop)
    compiled = m.get_compile_config()
    assert compiled["loss"] == "categorical_crossentropy" and compiled["metrics"] == ["accuracy"]
    from mnist_core.views import architecture
    assert architecture(m) == "Input(784) → Dense(512, relu) → Dense(10, softmax)"


def test_images_and_labels_are_prepared_like_the_notebook(mnist):
    (x, y), _ = mnist
    px, py = prepare_images(x[:5]), prepare_labels(y[:5])
    assert px.shape == (5, 784) and px.dtype == np.float32 and px.min() == 0 and px.max() == 1
    assert py.shape == (5, 10) and py[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]  # label 5


def test_one_epoch_learns_and_reports_progress(one_epoch):
    result, calls = one_epoch
    assert [e for e, _ in calls] == [1]
    assert {"loss", "accuracy"} <= set(calls[0][1])
    assert result.history["accuracy"] == [calls[0][1]["accuracy"]]
    assert result.test_accuracy > 0.95  # one epoch of the reference run reaches ~96%
    assert 0 < result.test_loss < 0.2 and result.seconds > 0
    assert result.history["test_accuracy"] == [result.test_accuracy]


def test_measured_test_figures_match_keras_evaluate(one_epoch, mnist):
    result = one_epoch[0]
    _, (x_test, y_test) = mnist
    loss, acc = result.model.evaluate(prepare_images(x_test), prepare_labels(y_test), batch_size=1024, verbose=0)
    assert result.test_accuracy == pytest.approx(acc, abs=1e-4)
    assert result.test_loss == pytest.approx(loss, rel=1e-3)


def test_validation_split_reports_validation_metrics(mnist):
    from mnist_core.train import train
    (x, y), test = mnist
    result = train(TrainConfig(epochs=1, batch_size=512, validation_split=0.1), data=((x[:5000], y[:5000]), test))
    assert {"val_loss", "val_accuracy"} <= set(result.history)
    assert len(result.history["val_accuracy"]) == 1 and 0.5 < result.history["val_accuracy"][0] <= 1


def test_predict_proba_shapes_dtypes_and_agreement_with_keras(one_epoch, mnist):
    model = one_epoch[0].model
    _, (x_test, _) = mnist
    batch = predict_proba(model, x_test[:50])
    assert batch.shape == (50, 10) and batch.dtype == np.float32
    assert np.allclose(batch.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(batch, model.predict(prepare_images(x_test[:50]), verbose=0), atol=1e-5)
    one = predict_proba(model, x_test[0])  # one (28, 28) image
    assert one.shape == (1, 10) and np.allclose(one[0], batch[0], atol=1e-6)
    as_float = predict_proba(model, x_test[:3].astype(np.float32) / 255)  # float means 0-1
    assert np.allclose(as_float, batch[:3], atol=1e-6)
    flat = predict_proba(model, x_test[:3].reshape(3, 784))
    assert np.allclose(flat, batch[:3], atol=1e-6)
    many = predict_proba(model, x_test[:2500])  # more rows than one forward pass takes (ROWS_AT_ONCE)
    assert many.shape == (2500, 10) and np.allclose(many[:50], batch, atol=1e-6)
    assert np.allclose(many[1000:1100], model.predict(prepare_images(x_test[1000:1100]), verbose=0), atol=1e-5)


@pytest.mark.parametrize("bad, error", [
    (np.zeros((27, 28)), ValueError),
    (np.zeros((2, 28, 28, 1)), ValueError),
    (np.full((28, 28), np.nan), ValueError),
    (np.array([["a"] * 28] * 28), TypeError),
])
def test_predict_proba_rejects_bad_input(one_epoch, bad, error):
    with pytest.raises(error):
        predict_proba(one_epoch[0].model, bad)


def test_predict_proba_notices_further_training(one_epoch, mnist):
    """Its numpy copy of the weights must not go stale when the model trains on."""
    (x, y), _ = mnist
    model = keras.models.clone_model(one_epoch[0].model)
    model.set_weights(one_epoch[0].model.get_weights())
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    before = predict_proba(model, x[:20])
    model.fit(prepare_images(x[:2000]), prepare_labels(y[:2000]), epochs=1, verbose=0)
    assert np.allclose(predict_proba(model, x[:20]), model.predict(prepare_images(x[:20]), verbose=0), atol=1e-5)
    assert not np.allclose(before, predict_proba(model, x[:20]))


def test_cache_hit_trains_nothing(tmp_path, small_training):
    config = TrainConfig(epochs=1, batch_size=256)
    first = load_or_train(config, cache_dir=tmp_path)
    assert first.source == "trained"
    epochs_seen = []
    second = load_or_train(config, cache_dir=tmp_path, on_epoch=lambda e, l: epochs_seen.append(e))
    assert second.source == "cache" and epochs_seen == []  # its time is in the benchmark
    assert second.test_accuracy == first.test_accuracy and second.history == first.history
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    assert np.allclose(predict_proba(first.model, x), predict_proba(second.model, x), atol=1e-6)


DAMAGED = TrainConfig(epochs=1, batch_size=1024)


@pytest.fixture(scope="module")
def sound_entry(tmp_path_factory, mnist):
    """A sound cache entry of DAMAGED (trained once, on 2,000 images), for each test to damage a copy of."""
    from mnist_core.cache import write_entry
    from mnist_core.train import train
    (x, y), (x_test, y_test) = mnist
    folder = tmp_path_factory.mktemp("sound")
    key = cache_key(DAMAGED)
    write_entry(train(DAMAGED, data=((x[:2000], y[:2000]), (x_test[:1000], y_test[:1000]))),
                folder / f"{key}.keras", folder / f"{key}.json")
    return folder


@pytest.mark.parametrize("damage", ["truncate model", "garbage model", "garbage json", "delete model",
                                    "truncate weights", "delete weights"])
def test_damaged_cache_entry_is_discarded_and_retrained(tmp_path, damage, small_training, sound_entry):
    import shutil
    config = DAMAGED
    key = cache_key(config)
    for f in sound_entry.iterdir():
        shutil.copy(f, tmp_path)
    assert load_or_train(config, cache_dir=tmp_path).source == "cache"  # sound before the damage
    model_path, meta_path = tmp_path / f"{key}.keras", tmp_path / f"{key}.json"
    if damage == "truncate model":
        model_path.write_bytes(model_path.read_bytes()[:1000])
    elif damage == "garbage model":
        model_path.write_bytes(b"not a zip file at all")
    elif damage == "garbage json":
        meta_path.write_text("{ torn")
    elif damage == "truncate weights":
        weights = model_path.with_suffix(".npz")
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "delete weights":
        model_path.with_suffix(".npz").unlink()
    else:
        model_path.unlink()
    again = load_or_train(config, cache_dir=tmp_path)
    assert again.source == "trained" and again.test_accuracy > 0.5  # a sound model, trained on 2,000 images
    assert load_or_train(config, cache_dir=tmp_path).source == "cache"  # and the entry is sound again
    json.loads(meta_path.read_text())


TRAINER = """
import sys
from mnist_core import TrainConfig, load_or_train
r = load_or_train(TrainConfig(epochs=1, batch_size=2048), cache_dir=sys.argv[1])
print(r.source, r.test_accuracy)
"""


@pytest.mark.slow
def test_two_processes_training_one_config_train_it_once(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", TRAINER, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, cwd=ROOT) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(o[0] for o in outs) == ["cache", "trained"]  # one trained; the other waited for it
    assert len({o[1] for o in outs}) == 1  # all hold the one model
    assert len(list(tmp_path.glob("*.keras"))) == 1 and not list(tmp_path.glob(".*tmp*"))


def _slanted_stroke(slope: float) -> np.ndarray:
    """(28, 28) float: a 2 px wide line from (row 4, col 8) down to row 23, moving `slope` px right per row."""
    img = np.zeros((28, 28), np.float32)
    for row in range(4, 24):
        col = 8 + slope * (row - 4)
        img[row, int(col): int(col) + 2] = 1
    return img


@pytest.mark.parametrize("slope", [0.6, -0.4, 0.0])
def test_deskew_stands_a_slanted_stroke_upright_about_its_centre(slope):
    from mnist_core.network import deskew, slant
    img = _slanted_stroke(slope if slope >= 0 else -slope)
    img = img if slope >= 0 else img[:, ::-1].copy()
    assert slant(img[None]) == pytest.approx([slope], abs=0.03)  # the slant it undoes: px right per row down
    out = deskew(img.reshape(1, 784)).reshape(28, 28)
    rows, cols = np.nonzero(out > 0.5)
    assert abs(np.polyfit(rows, cols, 1)[0]) < 0.05  # upright
    def centre(a):  # column of the centre of mass
        return (np.arange(28) * a.sum(axis=0)).sum() / a.sum()
    assert centre(out) == pytest.approx(centre(img), abs=0.1)  # pivots on the centre of mass
    assert out.sum() == pytest.approx(img.sum(), rel=0.02)  # moves ink, neither adds nor loses it


def test_deskew_is_the_same_maths_in_numpy_and_inside_keras(mnist):
    from mnist_core.network import deskew
    _, (x_test, _) = mnist
    x = prepare_images(x_test[:200])
    assert np.abs(deskew(x) - keras.ops.convert_to_numpy(deskew(x, keras.ops))).max() < 1e-5


def test_a_deskewing_model_trains_saves_and_reads_like_keras(mnist, tmp_path):
    from mnist_core.model import Deskew
    from mnist_core.network import deskews
    from mnist_core.cache import read_model_file
    result = load_or_train(TrainConfig(epochs=1, deskew=True), cache_dir=tmp_path)
    assert [type(l).__name__ for l in result.model.layers] == ["Deskew", "Dense", "Dense"]  # Keras, as trained
    assert deskews(result.model) and not deskews(build_model())
    assert result.test_accuracy > 0.95
    again = load_or_train(TrainConfig(epochs=1, deskew=True), cache_dir=tmp_path)  # numpy arrays, from the .npz
    assert again.source == "cache" and [l.kind for l in again.model.layers] == ["Deskew", "Dense", "Dense"]
    keras_model, _ = read_model_file(again.extra["cache_path"])  # the .keras file beside it, for download
    assert isinstance(keras_model.layers[0], Deskew)
    _, (x_test, _) = mnist
    fast = predict_proba(again.model, x_test[:100])  # numpy forward pass, numpy deskew
    assert np.allclose(fast, keras_model.predict(prepare_images(x_test[:100]), verbose=0), atol=1e-5)



def test_a_compiled_trainer_is_reused_and_the_same_settings_still_give_the_same_model(mnist):
    """A training takes a compiled trainer at rest of its shape (no new tracing, nothing left behind in
    TensorFlow); the result is the model a new one would have given, bit for bit, and its own, and
    its test figures are its own weights' (not those the trainer held before)."""
    from mnist_core.train import _resting, train
    (x, y), (x_test, y_test) = mnist
    small = ((x[:3000], y[:3000]), (x_test[:500], y_test[:500]))
    shape = (False, 500, 6)  # no deskew, batch 500, 6 batches an epoch
    first = train(TrainConfig(epochs=2, batch_size=500, seed=71), data=small)
    kept = list(_resting[shape])
    before = first.model.get_weights()
    other = train(TrainConfig(epochs=2, batch_size=500, seed=72), data=small)
    again = train(TrainConfig(epochs=2, batch_size=500, seed=71), data=small)
    assert len(kept) == 1 and _resting[shape] == kept  # one compiled model served all three
    assert all(np.array_equal(a, b) for a, b in zip(before, again.model.get_weights()))  # as new
    assert again.history == first.history and other.test_accuracy != first.test_accuracy
    assert all(np.array_equal(a, b) for a, b in zip(before, first.model.get_weights()))  # untouched by later ones
    train(TrainConfig(epochs=1, batch_size=500, seed=71, dropout=0.1), data=small)
    assert _resting[shape] == kept and all(k[:2] != (False, 500) or k == shape for k in _resting)  # dropout: not kept
    from mnist_core.evaluate import measure
    for seed in (73, 74):  # one epoch each: the reused trainer ends each at the same step count
        result = train(TrainConfig(epochs=1, batch_size=500, seed=seed), data=small)
        assert result.test_accuracy == measure(result.model, x_test[:500], y_test[:500])["accuracy"]


@pytest.mark.parametrize("ending", ["cancelled", "failed"])
def test_a_training_that_does_not_finish_gives_its_compiled_trainer_back(mnist, ending):
    """A cancelled or failed training leaves its compiled trainer at rest for the next one (a new one
    costs ~1.5 s and ~15 MB that TensorFlow never gives back)."""
    from mnist_core.train import _resting, train
    (x, y), (x_test, y_test) = mnist
    small = ((x[:2000], y[:2000]), (x_test[:500], y_test[:500]))
    shape = (False, 400, 5)
    _resting.pop(shape, None)

    def stop(epoch, logs):
        raise (KeyboardInterrupt if ending == "cancelled" else RuntimeError)(f"{ending} after epoch {epoch}")
    with pytest.raises((KeyboardInterrupt, RuntimeError)):
        train(TrainConfig(epochs=3, batch_size=400, seed=81), on_epoch=stop, data=small)
    assert len(_resting.get(shape, [])) == 1
    trainer = _resting[shape][0]
    train(TrainConfig(epochs=1, batch_size=400, seed=82), data=small)
    assert _resting[shape] == [trainer]  # the next training of its shape took it, and gave it back


@pytest.mark.parametrize("a, b", [(dict(dropout=0), dict()), (dict(dropout=0, as_drawn=0, real_handwriting=0), dict()),
                                  (dict(dropout=1 / 5), dict(dropout=0.2))])
def test_equal_configs_have_one_cache_key(a, b):
    assert TrainConfig(**a) == TrainConfig(**b) and cache_key(TrainConfig(**a)) == cache_key(TrainConfig(**b))
