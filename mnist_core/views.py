"""Plain data the page shows: tables, counts and pictures, computed here so the UI does no maths."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from .config import settings
from .evaluate import measure
from . import inside
from .network import as_network, prepare_images, prepare_labels
from .predict import predict_proba


def describe_config(c, always: tuple = ("epochs", "batch_size")) -> str:
    """A TrainConfig in words: "20 epochs, batch size 128, augmented, dropout 0.2": the settings named in
    `always`, and every other one that is not its default, each as its field's metadata words it."""
    return ", ".join(_setting_words(f, getattr(c, f.name)) for f in settings()
                     if f.name in always or getattr(c, f.name) != f.default)


def _setting_words(f, value) -> str:
    """One setting's value in its field's words: "20 epochs", "1 epoch", "dropout 0.2", "not augmented",
    "without your drawings" (a text setting is a fingerprint of drawings: empty is off)."""
    if f.type in ("bool", "str"):
        words = f.metadata["words"]
        if value:
            return words
        return "without " + words.removeprefix("with ") if words.startswith("with ") else f"not {words}"
    return "1 epoch" if f.name == "epochs" and value == 1 else f.metadata["words"].format(value)


def label_counts(labels: np.ndarray) -> list[dict]:
    """[{digit, count}] for the ten digits."""
    return [{"digit": str(d), "count": int(c)} for d, c in enumerate(np.bincount(labels, minlength=10))]


def pixel_view(image: np.ndarray | None, scale: int = 8) -> np.ndarray:
    """(28, 28) in [0, 1] -> (28*scale, 28*scale) uint8, white on black with a faint pixel grid."""
    img = np.zeros((28, 28), np.float32) if image is None else np.asarray(image, np.float32)
    if img.max() > 1:
        img = img / 255
    big = np.kron(img, np.ones((scale, scale), np.float32))
    out = (big * 255).astype(np.uint8)
    grid = np.zeros_like(out, dtype=bool)
    grid[::scale, :] = grid[:, ::scale] = True
    out[grid] = np.maximum(out[grid], 40)  # pixel borders stay visible on black
    return out


def network_input(model, image: np.ndarray | None) -> np.ndarray | None:
    """(28, 28) in [0, 1] -> what the first Dense layer reads: the image, straightened if the model deskews."""
    return None if image is None else inside.network_input(model, image).reshape(28, 28)


def diverging_view(values: np.ndarray, scale: int = 4) -> np.ndarray:
    """(r, c) signed values -> (r*scale, c*scale, 3) uint8: red for positive, blue for negative,
    white for zero, the strongest of either at full colour (one scale for both signs)."""
    v = np.asarray(values, np.float32)
    v = v / max(float(np.abs(v).max()), 1e-12)
    red, blue = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - blue, 1 - red - blue, 1 - red], axis=-1)  # white fades to red (+) or blue (-)
    return (np.kron(np.clip(rgb, 0, 1), np.ones((scale, scale, 1))) * 255).astype(np.uint8)


def activation_view(activations: np.ndarray, scale: int = 12) -> np.ndarray:
    """(512,) hidden activations -> (16*scale, 32*scale) uint8: one square per unit, row by row,
    brighter for a stronger activation (black: silent)."""
    a = np.asarray(activations, np.float32).reshape(16, 32)
    return pixel_view(a / max(float(a.max()), 1e-12), scale)


def number_reading(model, digits: list[np.ndarray]) -> dict:
    """canvas_to_digits' (28, 28) digits -> {"number": "2026", "digits": [{digit, probability, image}]}."""
    probs = predict_proba(model, np.stack(digits))  # (k, 10)
    best = probs.argmax(axis=1)
    return {"number": "".join(str(d) for d in best),
            "digits": [{"digit": int(d), "probability": float(p[d]), "image": img}
                       for d, p, img in zip(best, probs, digits)]}


def architecture(model) -> str:
    """The network in one line: "Input(784) → Dense(512, relu) → Dense(10, softmax)"."""
    def name(layer):
        if layer.kind == "Dense":
            return f"Dense({layer.units}, {layer.activation})"
        return f"Dropout({layer.rate:g})" if layer.kind == "Dropout" else layer.kind
    return " → ".join(["Input(784)"] + [name(layer) for layer in as_network(model).layers])


def layer_table(model) -> list[dict]:
    """What model.summary() prints, as rows: layer, type, output shape, parameters."""
    rows = [{"layer": "input", "type": "Input", "output shape": "(None, 784)", "parameters": 0}]
    width = 784
    for layer in as_network(model).layers:
        width = layer.units if layer.kind == "Dense" else width
        rows.append({"layer": layer.name, "type": layer.kind + (f" ({layer.activation})" if layer.activation else ""),
                     "output shape": f"(None, {width})", "parameters": layer.params})
    return rows


def preparation_example(image: np.ndarray, label: int) -> dict:
    """One real training example before and after preparation, for the page's walk-through."""
    flat = prepare_images(image[None])[0]
    nonzero = np.nonzero(flat)[0]
    return {
        "pixels": image,  # (28, 28) uint8
        "flat_first_ink": [(int(i), round(float(flat[i]), 3)) for i in nonzero[:8]],
        "flat_len": int(flat.size),
        "one_hot": prepare_labels(np.array([label]))[0].astype(int).tolist(),
    }


def history_rows(history: dict[str, list[float]]) -> list[dict]:
    """Per-epoch metrics as long-form rows {epoch, metric, value, data} for a chart."""
    rows = []
    for name, values in history.items():
        data, metric = next(((label, name[len(prefix):]) for prefix, label in
                             (("val_", "validation"), ("test_", "test")) if name.startswith(prefix)),
                            ("training", name))
        for epoch, value in enumerate(values, start=1):
            rows.append({"epoch": epoch, "metric": metric, "data": data, "value": value})
    return rows


def overfitting_gap(history: dict[str, list[float]]) -> dict | None:
    """Training minus test accuracy at the first and the last epoch, or None without test metrics."""
    if "test_accuracy" not in history or not history.get("accuracy"):
        return None
    first = history["accuracy"][0] - history["test_accuracy"][0]
    last = history["accuracy"][-1] - history["test_accuracy"][-1]
    return {"first": first, "last": last, "epochs": len(history["accuracy"]),
            "train_loss": history["loss"][-1], "test_loss": history["test_loss"][-1]}


def probability_rows(probs: np.ndarray | None) -> list[dict]:
    """Ten rows {digit, probability, best}; all zero (and none best) while nothing is drawn."""
    p = np.zeros(10) if probs is None else np.asarray(probs).reshape(10)
    best = -1 if probs is None else int(p.argmax())
    return [{"digit": str(d), "probability": float(v), "best": d == best} for d, v in enumerate(p)]


def network_code() -> str:
    """The Python that builds every model here (the reference network and its options)."""
    source = (Path(__file__).parent / "model.py").read_text()  # read, not imported: model.py imports Keras
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "build_model")
    return ast.get_source_segment(source, node)


def drawings_summary(model, x: np.ndarray, y: np.ndarray) -> dict:
    """How model reads the user's saved drawings: correct, total, per-digit rows, each prediction."""
    m = measure(model, x, y)
    ok = m["correct"]
    per = [{"digit": d, "correct": int(ok[y == d].sum()), "total": int((y == d).sum())} for d in range(10)]
    return {"correct": int(ok.sum()), "total": int(len(y)), "per_digit": [p for p in per if p["total"]],
            "predicted": m["predicted"]}


def learning_advice(y: np.ndarray) -> str:
    """What to save for "Learn my handwriting", given the labels y ((n,) digits) saved so far: two or three of
    each digit teach it more than one (`python -m benchmarks adaptation --per-digit`; the model card)."""
    few = [str(d) for d, n in enumerate(np.bincount(y, minlength=10)) if n < 2]
    advice = ("*Learn my handwriting* learns most from drawings the page misread, saved with their right labels, "
              "and from two or three of each digit rather than one.")
    return f"{advice} Fewer than two saved so far: {', '.join(few)}." if few else advice


def real_handwriting_line(extra: dict) -> str | None:
    """The model's accuracy on the test writers, read as the page reads a drawing, in words with its
    uncertainty; None if it was never measured so."""
    hw = extra.get("real_handwriting")
    if not hw or hw.get("part") != "test":
        return None
    worst = int(np.argmin(hw["per_digit"]))
    low, high = hw["interval"]
    return (f"{hw['accuracy']:.1%} (95% interval {low:.1%}-{high:.1%}) of {hw['drawings']:,} drawings of "
            f"{hw['digits']:,} real pen-written digits by {hw['writers']} people it never saw and no setting was "
            f"chosen on, drawn on this canvas and read the way this page reads yours (weakest digit: {worst}, "
            f"{hw['per_digit'][worst]:.0%})")


def handwriting_samples(pen, per_digit: int = 2, seed: int = 0) -> list[dict]:
    """A few real pen-written digits, each drawn on a 96 px canvas: [{image, label, writer}]."""
    from .strokes import render
    rng = np.random.default_rng(seed)
    out = []
    for d in range(10):
        for i in rng.choice(np.nonzero(pen.labels == d)[0], per_digit, replace=False):
            strokes = [s * 72 + 12 for s in pen.strokes[i]]  # unit box -> 72 px, a 12 px margin
            out.append({"image": render(strokes, brush=6, side=96), "label": d, "writer": str(pen.writers[i])})
    return out


def adaptation_report(base, adapted, x: np.ndarray, y: np.ndarray) -> dict:
    """Before (base, a TrainResult) and after (adapted, its adapted TrainResult) on the person's saved
    drawings x, y (oldest first), on MNIST's test set and on the test writers: {"rows": [{what, before,
    after}], "learned_from", "since"}: the drawings saved after adapting (x[learned_from:]) measure it
    fairly; the first learned_from were what it learned."""
    n = adapted.extra["adapted"]["drawings"]
    rows = []
    for what, xs, ys in (("your drawings, all", x, y), ("your drawings saved since", x[n:], y[n:])):
        if len(ys):
            b, a = measure(base.model, xs, ys), measure(adapted.model, xs, ys)
            rows.append({"what": f"{what} ({len(ys)})", "before": b["accuracy"], "after": a["accuracy"]})
    rows.append({"what": "MNIST test set (10,000)", "before": base.test_accuracy, "after": adapted.test_accuracy})
    hb, ha = base.extra.get("real_handwriting"), adapted.extra.get("real_handwriting")
    if hb and ha and hb.get("part") == "test":
        rows.append({"what": f"test writers ({ha['writers']} people, {ha['drawings']:,} drawings)",
                     "before": hb["accuracy"], "after": ha["accuracy"]})
    return {"rows": rows, "learned_from": n, "since": max(0, len(y) - n)}


def describe_model(result) -> str:
    """A model in words: its settings (describe_config), or "the shipped model, adapted to your handwriting"."""
    adapted = result.extra.get("adapted")
    if adapted and adapted.get("base_source") == "shipped":
        return "the shipped model, adapted to your handwriting"
    return describe_config(result.config)


def no_gap_reason(config) -> str:
    """Why a model's last-epoch training accuracy is not above its test accuracy, for its own settings."""
    harder = [words for on, words in ((config.augment, "distorted"), (config.dropout, "partly silenced"),
                                      (config.real_handwriting or config.as_drawn, "drawn or real pen"))
              if on]
    if harder:
        return (f"its training accuracy is measured on {', '.join(harder)} inputs, harder than the clean test "
                "images, so it trails the test accuracy even where the network has learned quirks of its data.")
    return ("Keras averages an epoch's training accuracy over the whole epoch, while the weights are still "
            "improving, and the test set is measured with the weights at its end; with few epochs the network "
            "has not yet learned its training set's quirks. Train for more epochs and the gap opens.")


def recipes(shipped_config, seconds) -> list[dict]:
    """The sidebar's starting points: the seed's reference run and the shipped model's recipe (as a student
    trains it: on the training writers only), each {"name", "settings" (the page's fields), "cost"}, the
    cost in words from seconds(config), the queue's estimate."""
    import dataclasses
    from .config import TrainConfig
    shipped = dataclasses.replace(shipped_config, with_validation_writers=False, seed=TrainConfig().seed)
    out = []
    for name, config in (("Reference run", TrainConfig()), ("Shipped model's recipe", shipped)):
        s = seconds(config)
        cost = f"about {s:.0f} s" if s < 90 else f"about {s / 60:.0f} min"
        if config.as_drawn or config.real_handwriting:
            cost += ", plus about 2 min the first time (the drawn digits are prepared once)"
        out.append({"name": name, "cost": cost, "words": describe_config(config),
                    "settings": {f.name: getattr(config, f.name) for f in settings() if f.metadata["page"]}})
    return out


def run_name(config) -> str:
    """A training named by what sets it apart from the reference run (the defaults): "3 epochs, dropout 0.2"
    (epochs always), "10 epochs, adapted to your handwriting"."""
    return describe_config(config, always=("epochs",))


def gap(result) -> float | None:
    """Last epoch's training minus test accuracy; None for a model adapted to a person's drawings: adapting
    runs no epochs, and its history is the training of the model it was adapted from."""
    return None if result.extra.get("adapted") else result.train_accuracy - result.test_accuracy


def adapted_line(result) -> str | None:
    """What the Training tab says first of a model adapted to a person's drawings (None for a trained one):
    what it was adapted from and on how many drawings, and that the training figures are its base's."""
    adapted = result.extra.get("adapted")
    if not adapted:
        return None
    base = "the shipped model" if adapted.get("base_source") == "shipped" else "your model"
    return (f"This model: **{describe_model(result)}**: {base} ({describe_config(result.config.base)}), fine-tuned "
            f"on your {adapted['drawings']} saved drawings mixed with MNIST's (a short run of small steps, no "
            f"epochs), adapted and measured in {result.seconds:.0f} s. The test figures are its own; the training "
            "figures and curves below are those of the model it was adapted from.")


def _real(result) -> float | None:
    hw = result.extra.get("real_handwriting")
    return hw["accuracy"] if hw and hw.get("part") == "test" else None


def trainings_rows(results, mine=None) -> list[dict]:
    """One row per TrainResult: run (run_name), test accuracy, gap (training minus test, last epoch), real
    handwriting (test writers), your drawings (accuracy on mine = (x, y), if given and not empty), seconds."""
    rows = []
    for r in results:
        row = {"run": run_name(r.config), "test accuracy": r.test_accuracy, "gap": gap(r),
               "real handwriting": _real(r), "seconds": r.seconds}
        if mine is not None and len(mine[1]):
            row["your drawings"] = measure(r.model, *mine)["accuracy"]
        rows.append(row)
    return rows


def overlay_rows(results) -> list[dict]:
    """Per-epoch curves of several trainings, long-form {run, epoch, metric, data, value}, for one chart."""
    return [dict(row, run=run_name(r.config)) for r in results for row in history_rows(r.history)]


def comparison(a, b) -> str | None:
    """What changing one setting did, from a's figures to b's (two TrainResults), in one sentence; None if
    they differ in no setting or in more than one (then no single setting explains the difference)."""
    fields = [f for f in settings() if getattr(a.config, f.name) != getattr(b.config, f.name)]
    if len(fields) != 1:
        return None
    f = fields[0]
    new, old = (_setting_words(f, getattr(c.config, f.name)) for c in (b, a))
    test = (b.test_accuracy - a.test_accuracy) * 100
    sentence = f"{new} instead of {old}: test accuracy {test:+.2f} points"
    if gap(a) is not None and gap(b) is not None:  # an adapted model has no training accuracy of its own
        more = (gap(b) - gap(a)) * 100
        verdict = "more overfitting" if more > 0.1 else "less overfitting" if more < -0.1 else "about as much overfitting"
        sentence += f", gap {more:+.2f} points: {verdict}"
    ra, rb = _real(a), _real(b)
    if ra is not None and rb is not None:
        sentence += f"; real handwriting {(rb - ra) * 100:+.1f} points"
    return sentence + "."


def class_rows(results, people: dict[str, int], key) -> list[dict]:
    """What the class found: every training on the server (TrainResults, from the cache), best test accuracy
    first, with its settings, figures and how many people have it on their list (people: key -> count,
    key(config): the cache key); no names."""
    rows = [{"run": run_name(r.config), "test accuracy": r.test_accuracy, "gap": gap(r),
             "real handwriting": _real(r), "seconds": r.seconds, "people": people.get(key(r.config), 0)}
            for r in results]
    return sorted(rows, key=lambda row: -row["test accuracy"])


def anonymous(owner: str) -> str:
    """A person as the teacher's page names them: a short, stable name that is not their browser's id."""
    import hashlib
    return "before owners" if owner == "" else "person " + hashlib.sha256(owner.encode()).hexdigest()[:6]


def class_counts(catalogue: list[dict]) -> dict:
    """The teacher's counts from Drawings.catalogue(): {"people": [{person, drawings, "0".."9", last}] most
    drawings first, "digits": [{digit, drawings}]}; people by anonymous name."""
    people: dict[str, dict] = {}
    for row in catalogue:
        p = people.setdefault(row["owner"], {"person": anonymous(row["owner"]), "drawings": 0,
                                             **{str(d): 0 for d in range(10)}, "last": 0.0})
        p["drawings"] += 1
        p[str(row["label"])] += 1
        p["last"] = max(p["last"], row["created"])
    digits = [{"digit": str(d), "drawings": sum(r["label"] == d for r in catalogue)} for d in range(10)]
    return {"people": sorted(people.values(), key=lambda p: -p["drawings"]), "digits": digits}


def catalogue_csv(catalogue: list[dict]) -> str:
    """The class's drawings as CSV (one row each: id, person, label, predicted, created as ISO time)."""
    import csv
    import datetime
    import io
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "person", "label", "predicted", "created"])
    for r in catalogue:
        writer.writerow([r["id"], anonymous(r["owner"]), r["label"], "" if r["predicted"] is None else r["predicted"],
                         datetime.datetime.fromtimestamp(r["created"], datetime.timezone.utc).isoformat(timespec="seconds")])
    return out.getvalue()
