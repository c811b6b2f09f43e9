"""Command line: python -m mnist_core {train,evaluate,export-drawings} --help

The benchmarks have their own: python -m benchmarks --help (they are not part of the product).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import TrainConfig, default_model, load_mnist, load_or_train
from .cache import read_model_file, write_entry
from .config import settings
from .evaluate import measure
from .handwriting import real_handwriting_figures
from .paths import DEFAULT_MODEL_DIR
from .user_drawings import Drawings, DrawingsError

_TYPES = {"int": int, "float": float}


def config_args(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, with its limits and help from the field itself."""
    for f in settings():
        m = f.metadata
        if not m["cli"]:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action="store_true", help=m["help"])
        else:
            p.add_argument(flag, type=_TYPES[f.type], default=f.default,
                           help=f"{m['help']} ({m['lo']}-{m['hi']}, default {f.default})")


def config_from(a: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(a, f.name) for f in settings() if f.metadata["cli"]})


class ProgressBar:
    """One line per epoch: a bar, the epoch's metrics and the time left."""

    def __init__(self, epochs: int, out=None, width: int = 30):
        self.epochs, self.out, self.width, self.start = epochs, out, width, time.perf_counter()

    def __call__(self, epoch: int, logs: dict) -> None:
        elapsed = time.perf_counter() - self.start
        left = elapsed / epoch * (self.epochs - epoch)
        done = round(self.width * epoch / self.epochs)
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
        print(f"epoch {epoch:>3}/{self.epochs} [{'#' * done}{'.' * (self.width - done)}] {metrics}"
              f"  {elapsed / epoch:.1f} s/epoch, {left:.0f} s left", file=self.out or sys.stderr, flush=True)


def models_dir(a: argparse.Namespace) -> Path | None:
    """--cache-dir X keeps models where $MNIST_DRAW_CACHE_DIR=X does: in X/models."""
    return Path(a.cache_dir).expanduser() / "models" if a.cache_dir else None


def model_from(a: argparse.Namespace):
    """The shipped model, or the one the config flags train (from the cache if it is there)."""
    if a.model == "default":
        return default_model()
    config = config_from(a)
    return load_or_train(config, cache_dir=models_dir(a), on_epoch=ProgressBar(config.epochs))


def cmd_worker(a: argparse.Namespace) -> int:
    from .broker import settings_problem
    from .process import die_with_parent
    from .worker import serve
    if a.parent is not None:
        die_with_parent(a.parent)
    problem = settings_problem()
    if problem:
        raise ValueError(problem)
    try:
        serve(parent=a.parent)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (worker._on_stop)
        from .worker import exit_code
        print("mnist_core worker: stopped", file=sys.stderr)
        return exit_code()
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    config = config_from(a)  # a setting out of range is said at once, before TensorFlow's seconds of importing
    from .train import train
    bar = ProgressBar(config.epochs)
    if a.ship:
        result = train(config, on_epoch=bar)
        result.extra["command"] = "python -m mnist_core " + shlex.join(sys.argv[1:])
        write_entry(result, DEFAULT_MODEL_DIR / "model.keras", DEFAULT_MODEL_DIR / "model.json")
        where = f"shipped as {DEFAULT_MODEL_DIR}"
    else:
        result = load_or_train(config, cache_dir=models_dir(a), on_epoch=bar)
        where = ("loaded from the cache: " if result.source == "cache" else "cached at ") + \
            result.extra.get("cache_path", "")
    print(f"test accuracy {result.test_accuracy:.4f}  test loss {result.test_loss:.4f}  "
          f"train accuracy (last epoch) {result.train_accuracy:.4f}  ({result.seconds:.1f} s)")
    print(where)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    _, (x_test, y_test) = load_mnist()
    if a.model_file:  # someone's file: measured afresh, its own record reported beside
        model, meta = read_model_file(a.model_file)
        report = {"model": a.model_file, "test_accuracy": round(measure(model, x_test, y_test)["accuracy"], 4),
                  "real_handwriting": real_handwriting_figures(model)}
        if meta is not None:
            report.update(config=meta.get("config"), recorded_test_accuracy=meta.get("test_accuracy"))
    else:
        result = model_from(a)
        model = result.model
        report = {"model": a.model, "config": result.config.to_dict(),
                  "test_accuracy": round(measure(model, x_test, y_test)["accuracy"], 4),
                  "recorded_test_accuracy": round(result.test_accuracy, 4)}
        if "real_handwriting" in result.extra:
            report["real_handwriting"] = result.extra["real_handwriting"]
    if a.drawings:
        _, dx, dy = Drawings(a.db).arrays()
        if len(dy) == 0:  # no accuracy at all, not an accuracy of 0
            report["your_drawings"] = {"correct": 0, "total": 0, "accuracy": None,
                                       "note": "no saved drawings: save some on the page's Draw tab"}
        else:
            mine = measure(model, dx, dy)
            report["your_drawings"] = {"correct": int(mine["correct"].sum()), "total": int(len(dy)),
                                       "accuracy": round(mine["accuracy"], 4)}
    print(json.dumps(report))
    return 0


def cmd_export_drawings(a: argparse.Namespace) -> int:
    store = Drawings(a.db)
    try:
        with open(a.out, "wb") as f:
            f.write(store.export_npz())
    except OSError as e:
        raise ValueError(f"{a.out}: cannot be written ({e.strerror})") from None
    print(f"{store.count()} drawings from {store.path} written to {a.out} (x: (n, 28, 28) uint8, y: (n,) uint8)")
    return 0


def model_args(p: argparse.ArgumentParser) -> None:
    """--model default|config, the config's flags and --cache-dir: which model a command measures."""
    p.add_argument("--model", choices=["default", "config"], default="default",
                   help="the shipped model, or the one the config options below train")
    config_args(p)
    p.add_argument("--cache-dir", help="cache folder, as $MNIST_DRAW_CACHE_DIR (default: that, or the user cache)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mnist_core", description="MNIST Draw's core, from the shell.")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the network (or load it from the cache) and report test accuracy")
    config_args(t)
    t.add_argument("--cache-dir", help="cache folder, as $MNIST_DRAW_CACHE_DIR (default: that, or the user cache)")
    t.add_argument("--ship", action="store_true", help="write the model to assets/default_model instead")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="MNIST test accuracy of the shipped model or of a config's model")
    model_args(e)
    e.add_argument("--model-file", help="measure this model file instead: a .keras file, or the zip the page's "
                                        "Download gives (loaded in Keras's safe mode)")
    e.add_argument("--drawings", action="store_true", help="also report accuracy on your saved drawings")
    e.add_argument("--db", help="drawings database (default: $MNIST_DRAW_DB or the user data folder)")
    e.set_defaults(func=cmd_evaluate)
    x = sub.add_parser("export-drawings", help="write your saved drawings to an .npz (x, y like load_mnist)")
    x.add_argument("--out", default="my-drawings.npz")
    x.add_argument("--db", help="drawings database (default: $MNIST_DRAW_DB or the user data folder)")
    x.set_defaults(func=cmd_export_drawings)
    w = sub.add_parser("worker", help="take trainings off the page's queue ($MNIST_DRAW_BROKER, else this machine's) "
                                      "and run them, one at a time, until stopped")
    w.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # a page's own worker: stops when that process does
    w.set_defaults(func=cmd_worker)
    return p


def run(a: argparse.Namespace) -> int:
    try:
        return a.func(a)
    except (ValueError, DrawingsError) as e:  # bad settings or files: one clear line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, which a page's own workers get too from `make run`'s terminal: a stop
        print(f"mnist_core {a.func.__name__.removeprefix('cmd_').replace('_', '-')}: stopped", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    p = parser()
    try:
        a = p.parse_args(argv)
    except SystemExit as e:  # --help, or words argparse refused (it has printed why)
        return int(e.code or 0)
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
