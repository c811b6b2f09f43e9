"""Where a model fails: the confusion matrix and the misclassified digits of a labelled set."""

from __future__ import annotations

import numpy as np

from .predict import predict_proba


def confusion(model, x: np.ndarray, y: np.ndarray) -> dict:
    """matrix[true][predicted] counts (10x10), per-digit accuracy, and every mistake."""
    probs = predict_proba(model, x)
    pred = probs.argmax(axis=1)
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (y, pred), 1)
    totals = matrix.sum(axis=1)
    wrong = np.nonzero(pred != y)[0]
    order = wrong[np.argsort(-probs[wrong, pred[wrong]])]  # most confident mistakes first
    return {
        "matrix": matrix,
        "per_digit_accuracy": np.divide(np.diag(matrix), totals, out=np.zeros(10), where=totals > 0),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "mistakes": [{"index": int(i), "true": int(y[i]), "predicted": int(pred[i]),
                      "confidence": float(probs[i, pred[i]])} for i in order],
    }


def confusion_rows(matrix: np.ndarray) -> list[dict]:
    """Long-form {true, predicted, count} rows of a 10x10 matrix, for a heatmap."""
    return [{"true": str(t), "predicted": str(p), "count": int(matrix[t, p])} for t in range(10) for p in range(10)]
