"""The user's own saved drawings, kept in an embedded SQLite database, as a small labelled dataset.

One row a drawing: the 28x28 image the network saw, the canvas PNG, the true label the user
confirmed, the label the model predicted, the model's cache key and the time. SQLite does the
locking, so several sessions (threads or processes) can save at once without losing a row.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from .paths import user_dir

DB_ENV = "MNIST_DRAW_DB"

SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,            -- Unix time
    image BLOB NOT NULL,              -- 784 bytes: the 28x28 uint8 image the network saw
    canvas_png BLOB,                  -- the canvas as drawn
    true_label INTEGER NOT NULL CHECK (true_label BETWEEN 0 AND 9),
    predicted_label INTEGER CHECK (predicted_label BETWEEN 0 AND 9),
    model_key TEXT
)
"""


class DrawingsError(RuntimeError):
    """The drawings database cannot be used; the message says which file and why."""


def default_path() -> Path:
    """$MNIST_DRAW_DB, else the platform's user data folder."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    return user_dir("data") / "drawings.sqlite"


class Drawings:
    """A drawings database; opens a short-lived connection per call, so it is safe across threads."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute(SCHEMA)
            return con
        except (sqlite3.DatabaseError, OSError) as e:
            raise DrawingsError(f"{self.path}: cannot be used as the drawings database ({e}). "
                                f"Move it aside, or point {DB_ENV} at another file.") from None

    def _run(self, sql: str, args=()) -> list:
        con = self._connect()
        try:
            return con.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise DrawingsError(f"{self.path}: {e}") from None
        finally:
            con.close()

    def save(self, image: np.ndarray, true_label: int, predicted_label: int | None = None,
             canvas_png: bytes | None = None, model_key: str | None = None) -> int:
        """Store one drawing; image is (28, 28) float in [0, 1] or uint8. Returns its id."""
        img = np.asarray(image)
        if img.shape != (28, 28):
            raise ValueError(f"a drawing must be a 28x28 image, got shape {img.shape}")
        if img.dtype != np.uint8:
            img = np.clip(np.round(img.astype(np.float32) * 255), 0, 255).astype(np.uint8)
        if int(true_label) not in range(10):
            raise ValueError(f"the true label must be a digit 0-9, got {true_label!r}")
        con = self._connect()
        try:
            cur = con.execute(
                "INSERT INTO drawings (created, image, canvas_png, true_label, predicted_label, model_key)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), img.tobytes(), canvas_png, int(true_label),
                 None if predicted_label is None else int(predicted_label), model_key))
            return int(cur.lastrowid)
        except sqlite3.DatabaseError as e:
            raise DrawingsError(f"{self.path}: {e}") from None
        finally:
            con.close()

    def count(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM drawings")[0][0])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids (n,), x (n, 28, 28) uint8, y (n,) uint8), oldest first: shaped like load_mnist's."""
        rows = self._run("SELECT id, image, true_label FROM drawings ORDER BY id")
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        ids = np.array([r[0] for r in rows], np.int64)
        x = np.stack([np.frombuffer(r[1], np.uint8).reshape(28, 28) for r in rows])
        y = np.array([r[2] for r in rows], np.uint8)
        return ids, x, y

    def fingerprint(self) -> str:
        """A hash of the images and labels: it changes whenever the dataset does."""
        return fingerprint_of(*self.arrays()[1:])

    def for_training(self, fingerprint: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) to train on, if the drawings are still the set whose fingerprint was chosen."""
        _, x, y = self.arrays()
        if not len(y) or fingerprint_of(x, y) != fingerprint:
            raise ValueError("user_drawings does not match the saved drawings (they changed since this "
                             "setting was chosen); choose it again")
        return x, y

    def delete(self, ids=None) -> int:
        """Delete the given ids, or all drawings when ids is None; returns how many went."""
        con = self._connect()
        try:
            if ids is None:
                return con.execute("DELETE FROM drawings").rowcount
            ids = [int(i) for i in ids]
            return con.executemany("DELETE FROM drawings WHERE id = ?", [(i,) for i in ids]).rowcount
        except sqlite3.DatabaseError as e:
            raise DrawingsError(f"{self.path}: {e}") from None
        finally:
            con.close()

    def export_npz(self) -> bytes:
        """The drawings as an .npz with x (n, 28, 28) uint8 and y (n,) uint8, like load_mnist's."""
        _, x, y = self.arrays()
        return to_npz(x, y)


def fingerprint_of(x: np.ndarray, y: np.ndarray) -> str:
    """A hash of images and labels ("" for none): it changes whenever the dataset does."""
    return hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()[:16] if len(y) else ""


def to_npz(x: np.ndarray, y: np.ndarray) -> bytes:
    """x and y as the bytes of a compressed .npz file."""
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, y=y)
    return buf.getvalue()
