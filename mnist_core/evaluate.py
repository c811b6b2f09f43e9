"""How well a model reads a labelled set: accuracy (said here only), loss, per digit, confusions."""

from __future__ import annotations

import numpy as np

from .predict import predict_proba


def measure(model, x: np.ndarray, y: np.ndarray) -> dict:
    """A model on images x and labels (n,) y: accuracy, categorical cross-entropy loss, per-digit
    accuracy (10,) (nan for a digit not in y), and each image's predicted digit, probability and
    whether it was right.

    The same figures as model.evaluate, through predict_proba's numpy forward pass: ~0.05 s for the
    test set against ~0.2 s and a compiled test function for Keras's."""
    y = np.asarray(y, np.int64)
    if len(y) == 0:
        return {"accuracy": 0.0, "loss": 0.0, "per_digit": np.full(10, np.nan), "predicted": np.zeros(0, np.int64),
                "correct": np.zeros(0, bool), "confidence": np.zeros(0, np.float32)}
    probs = predict_proba(model, x)  # (n, 10)
    predicted = probs.argmax(axis=1)
    correct = predicted == y
    totals = np.bincount(y, minlength=10)
    right = np.bincount(y[correct], minlength=10)
    return {
        "accuracy": float(correct.mean()),
        "loss": float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)).mean()),  # Keras clips alike
        "per_digit": np.divide(right, totals, out=np.full(10, np.nan), where=totals > 0),
        "predicted": predicted,
        "correct": correct,
        "confidence": probs[np.arange(len(y)), predicted],
    }


def confusion(model, x: np.ndarray, y: np.ndarray) -> dict:
    """measure() plus matrix[true][predicted] counts (10x10) and every mistake, most confident first."""
    m = measure(model, x, y)
    pred = m["predicted"]
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (y, pred), 1)
    wrong = np.nonzero(~m["correct"])[0]
    order = wrong[np.argsort(-m["confidence"][wrong])]
    m["matrix"] = matrix
    m["mistakes"] = [{"index": int(i), "true": int(y[i]), "predicted": int(pred[i]),
                      "confidence": float(m["confidence"][i])} for i in order]
    return m


def confusion_rows(matrix: np.ndarray) -> list[dict]:
    """Long-form {true, predicted, count} rows of a 10x10 matrix, for a heatmap."""
    return [{"true": str(t), "predicted": str(p), "count": int(matrix[t, p])} for t in range(10) for p in range(10)]
