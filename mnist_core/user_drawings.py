"""The user's own saved drawings, kept in an embedded SQLite database, as a small labelled dataset.

One row a drawing: the 28x28 image the network saw, the canvas PNG, the true label the user
confirmed, the label the model predicted, the model's cache key, the time and whose it is. SQLite
does the locking, so several sessions (threads or processes) can save at once without losing a row.

A server serves many people: each sees, counts, exports, trains on and deletes only their own
drawings (Drawings(owner=...)); Drawings() without an owner is everyone's (the teacher, the CLI).
Rows from before owners existed have the owner "" (UNOWNED).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from .canvas import MAX_PNG_BYTES
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
    model_key TEXT,
    owner TEXT NOT NULL DEFAULT ''    -- whose drawing: a browser's or user's identity
)
"""
# The model each person last chose to use (a TrainConfig as JSON), so that a reload or a new visit keeps it.
MODELS_IN_USE = """
CREATE TABLE IF NOT EXISTS models_in_use (
    owner TEXT PRIMARY KEY,
    config TEXT NOT NULL,             -- TrainConfig.to_dict() as JSON
    updated REAL NOT NULL             -- Unix time
)
"""
# Every model each person trained or adapted (their list of trainings; the models are in the cache).
TRAININGS = """
CREATE TABLE IF NOT EXISTS trainings (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,                -- cache.cache_key of the config
    config TEXT NOT NULL,             -- TrainConfig.to_dict() as JSON
    added REAL NOT NULL,              -- Unix time
    PRIMARY KEY (owner, key)
)
"""
UNOWNED = ""  # the owner of rows saved before drawings had owners


class DrawingsError(RuntimeError):
    """The drawings database cannot be used; the message says which file and why."""


def default_path() -> Path:
    """$MNIST_DRAW_DB, else the platform's user data folder."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    return user_dir("data") / "drawings.sqlite"


class Drawings:
    """A drawings database, seen as one owner's drawings (plus the unowned ones if with_unowned), or
    everyone's if owner is None. Opens a short-lived connection per call: safe across threads."""

    def __init__(self, path: str | Path | None = None, owner: str | None = None, with_unowned: bool = False):
        self.path = Path(path) if path is not None else default_path()
        self.owner, self.with_unowned = owner, with_unowned

    def _mine(self) -> tuple[str, tuple]:
        """The WHERE clause (and its arguments) of the rows this view sees."""
        if self.owner is None:
            return "1", ()
        if self.with_unowned:
            return "owner IN (?, ?)", (self.owner, UNOWNED)
        return "owner = ?", (self.owner,)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute(SCHEMA)
            con.execute(MODELS_IN_USE)
            con.execute(TRAININGS)
            if "owner" not in {row[1] for row in con.execute("PRAGMA table_info(drawings)")}:
                con.execute(f"ALTER TABLE drawings ADD COLUMN owner TEXT NOT NULL DEFAULT '{UNOWNED}'")
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
        if canvas_png is not None and len(canvas_png) > MAX_PNG_BYTES:
            raise ValueError(f"the canvas image is {len(canvas_png):,} bytes, more than a drawing's {MAX_PNG_BYTES:,}")
        con = self._connect()
        try:
            cur = con.execute(
                "INSERT INTO drawings (created, image, canvas_png, true_label, predicted_label, model_key, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), img.tobytes(), canvas_png, int(true_label),
                 None if predicted_label is None else int(predicted_label), model_key,
                 UNOWNED if self.owner is None else self.owner))
            return int(cur.lastrowid)
        except sqlite3.DatabaseError as e:
            raise DrawingsError(f"{self.path}: {e}") from None
        finally:
            con.close()

    def count(self) -> int:
        where, args = self._mine()
        return int(self._run(f"SELECT COUNT(*) FROM drawings WHERE {where}", args)[0][0])

    def owners(self) -> dict[str, int]:
        """Drawings per owner, among those this view sees."""
        where, args = self._mine()
        return dict(self._run(f"SELECT owner, COUNT(*) FROM drawings WHERE {where} GROUP BY owner", args))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids (n,), x (n, 28, 28) uint8, y (n,) uint8), oldest first: shaped like load_mnist's."""
        where, args = self._mine()
        rows = self._run(f"SELECT id, image, true_label FROM drawings WHERE {where} ORDER BY id", args)
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        ids = np.array([r[0] for r in rows], np.int64)
        x = np.stack([np.frombuffer(r[1], np.uint8).reshape(28, 28) for r in rows])
        y = np.array([r[2] for r in rows], np.uint8)
        return ids, x, y

    def catalogue(self) -> list[dict]:
        """Every drawing this view sees, without its image, oldest first: {id, owner, label, predicted, created}."""
        where, args = self._mine()
        return [{"id": i, "owner": o, "label": t, "predicted": p, "created": c} for i, o, t, p, c in self._run(
            f"SELECT id, owner, true_label, predicted_label, created FROM drawings WHERE {where} ORDER BY id", args)]

    def fingerprint(self) -> str:
        """A hash of the images and labels: it changes whenever the dataset does."""
        return fingerprint_of(*self.arrays()[1:])

    def for_training(self, fingerprint: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) to train on: the drawings, among those this view sees, whose fingerprint was chosen.
        A config names drawings by their fingerprint only, so seen as everyone's, the set may be any
        one owner's (with or without the unowned rows) or everyone's."""
        views = [self]
        if self.owner is None:  # each owner's, with and without the unowned rows; the unowned alone (a
            # teacher who saved none of their own)
            views += [Drawings(self.path, o, u) for o in self.owners() if o != UNOWNED for u in (False, True)]
            views.append(Drawings(self.path, UNOWNED))
        for view in views:
            _, x, y = view.arrays()
            if len(y) and fingerprint_of(x, y) == fingerprint:
                return x, y
        raise ValueError("user_drawings does not match the saved drawings (they changed since this "
                         "setting was chosen); choose it again")

    def delete(self, ids=None) -> int:
        """Delete the given ids, or all drawings when ids is None, of those this view sees; returns how
        many went."""
        where, args = self._mine()
        con = self._connect()
        try:
            if ids is None:
                return con.execute(f"DELETE FROM drawings WHERE {where}", args).rowcount
            ids = [int(i) for i in ids]
            return con.executemany(f"DELETE FROM drawings WHERE id = ? AND {where}", [(i, *args) for i in ids]).rowcount
        except sqlite3.DatabaseError as e:
            raise DrawingsError(f"{self.path}: {e}") from None
        finally:
            con.close()

    def remember_model(self, config: dict | None) -> None:
        """Keep the settings of the model this owner uses now (None: the shipped model)."""
        if self.owner is None:
            raise ValueError("only one person's view remembers a model in use")
        if config is None:
            self._run("DELETE FROM models_in_use WHERE owner = ?", (self.owner,))
        else:
            self._run("INSERT OR REPLACE INTO models_in_use (owner, config, updated) VALUES (?, ?, ?)",
                      (self.owner, json.dumps(config, sort_keys=True), time.time()))

    def remembered_model(self) -> dict | None:
        """The settings this owner last chose to use, or None (the shipped model)."""
        rows = self._run("SELECT config FROM models_in_use WHERE owner = ?", (self.owner,))
        try:
            return json.loads(rows[0][0]) if rows else None
        except ValueError:
            return None  # unreadable: the shipped model, as for a newcomer

    def add_training(self, key: str, config: dict) -> None:
        """Put a model this owner trained (or adapted) on their list; again, it keeps its place."""
        if self.owner is None:
            raise ValueError("only one person's view keeps a list of trainings")
        self._run("INSERT OR IGNORE INTO trainings (owner, key, config, added) VALUES (?, ?, ?, ?)",
                  (self.owner, key, json.dumps(config, sort_keys=True), time.time()))

    def remove_training(self, key: str) -> None:
        self._run("DELETE FROM trainings WHERE owner = ? AND key = ?", (self.owner, key))

    def trainings(self) -> list[tuple[str, dict]]:
        """(key, config as a dict) of this owner's trainings, first added first; unreadable rows left out."""
        out = []
        for key, config in self._run("SELECT key, config FROM trainings WHERE owner = ? ORDER BY added, rowid",
                                     (self.owner,)):
            try:
                out.append((key, json.loads(config)))
            except ValueError:
                pass
        return out

    def people_per_training(self) -> dict[str, int]:
        """cache key -> how many people have that training on their list (the whole class)."""
        return dict(self._run("SELECT key, COUNT(*) FROM trainings GROUP BY key"))

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
