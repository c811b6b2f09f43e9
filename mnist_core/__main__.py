"""Command line: python -m mnist_core {train,evaluate,bench-drawn,bench} --help"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import TrainConfig, default_model, load_mnist, load_or_train, predict_proba, train
from .cache import write_entry
from .drawings import Drawings, DrawingsError, accuracy_on
from .paths import DEFAULT_MODEL_DIR


def _config_args(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"1-200 (default {d.epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"1-60000 (default {d.batch_size})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    p.add_argument("--augment", action="store_true", help="random warps and stroke widths each epoch")
    p.add_argument("--deskew", action="store_true", help="a first layer that shears each digit upright")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout after the hidden layer")
    p.add_argument("--as-drawn", type=float, default=d.as_drawn,
                   help="share of training images shown as the canvas would deliver them (0-1)")
    p.add_argument("--validation-split", type=float, default=d.validation_split,
                   help="fraction of the training set held out to watch overfitting")


def _config(a: argparse.Namespace) -> TrainConfig:
    return TrainConfig(epochs=a.epochs, batch_size=a.batch_size, seed=a.seed, augment=a.augment,
                       deskew=a.deskew, dropout=a.dropout, as_drawn=a.as_drawn, validation_split=a.validation_split)


class ProgressBar:
    """One line per epoch: a bar, the epoch's metrics and the time left."""

    def __init__(self, epochs: int, out=sys.stderr, width: int = 30):
        self.epochs, self.out, self.width, self.start = epochs, out, width, time.perf_counter()

    def __call__(self, epoch: int, logs: dict) -> None:
        elapsed = time.perf_counter() - self.start
        left = elapsed / epoch * (self.epochs - epoch)
        done = round(self.width * epoch / self.epochs)
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
        print(f"epoch {epoch:>3}/{self.epochs} [{'#' * done}{'.' * (self.width - done)}] {metrics}"
              f"  {elapsed / epoch:.1f} s/epoch, {left:.0f} s left", file=self.out, flush=True)


def cmd_train(a: argparse.Namespace) -> int:
    config = _config(a)
    bar = ProgressBar(config.epochs)
    if a.ship:
        result = train(config, on_epoch=bar)
        DEFAULT_MODEL_DIR.mkdir(parents=True, exist_ok=True)
        result.extra["command"] = "python -m mnist_core " + shlex.join(sys.argv[1:])
        write_entry(result, DEFAULT_MODEL_DIR / "model.keras", DEFAULT_MODEL_DIR / "model.json")
        where = f"shipped as {DEFAULT_MODEL_DIR}"
    else:
        result = load_or_train(config, cache_dir=a.cache_dir, on_epoch=bar)
        where = ("loaded from the cache: " if result.source == "cache" else "cached at ") + \
            result.extra.get("cache_path", "")
    print(f"test accuracy {result.test_accuracy:.4f}  test loss {result.test_loss:.4f}  "
          f"train accuracy (last epoch) {result.train_accuracy:.4f}  ({result.seconds:.1f} s)")
    print(where)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    if a.model == "default":
        result = default_model()
    else:
        result = load_or_train(_config(a), cache_dir=a.cache_dir, on_epoch=ProgressBar(a.epochs))
    _, (x_test, y_test) = load_mnist()
    probs = predict_proba(result.model, x_test)
    acc = float((probs.argmax(1) == y_test).mean())
    report = {"model": a.model, "config": result.config.to_dict(),
              "test_accuracy": round(acc, 4), "recorded_test_accuracy": round(result.test_accuracy, 4)}
    if a.drawings:
        _, dx, dy = Drawings(a.db).arrays()
        mine = accuracy_on(result.model, dx, dy)
        mine.pop("predicted", None)
        report["your_drawings"] = mine
    print(json.dumps(report))
    return 0


def cmd_export_drawings(a: argparse.Namespace) -> int:
    store = Drawings(a.db)
    Path(a.out).write_bytes(store.export_npz())
    print(f"{store.count()} drawings from {store.path} written to {a.out} (x: (n, 28, 28) uint8, y: (n,) uint8)")
    return 0


def cmd_bench_drawn(a: argparse.Namespace) -> int:
    from .drawn import print_benchmark
    model = default_model() if a.model == "default" else load_or_train(_config(a), cache_dir=a.cache_dir)
    return print_benchmark(model.model, n_per_digit=a.per_digit, seed=a.bench_seed)


def cmd_bench(a: argparse.Namespace) -> int:
    from .bench import main
    return main(a)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mnist_core", description="MNIST Draw's core, from the shell.")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the network (or load it from the cache) and report test accuracy")
    _config_args(t)
    t.add_argument("--cache-dir", help="model cache folder (default: $MNIST_DRAW_CACHE_DIR or the user cache)")
    t.add_argument("--ship", action="store_true", help="write the model to assets/default_model instead")
    t.set_defaults(func=cmd_train)
    for name, func, helptext in [
        ("evaluate", cmd_evaluate, "MNIST test accuracy of the shipped model or of a config's model"),
        ("bench-drawn", cmd_bench_drawn, "accuracy on generated canvas drawings: plain resize vs the real pipeline"),
    ]:
        e = sub.add_parser(name, help=helptext)
        e.add_argument("--model", choices=["default", "config"], default="default",
                       help="the shipped model, or the one the config options below train")
        _config_args(e)
        e.add_argument("--cache-dir")
        if name == "evaluate":
            e.add_argument("--drawings", action="store_true", help="also report accuracy on your saved drawings")
            e.add_argument("--db", help="drawings database (default: $MNIST_DRAW_DB or the user data folder)")
        if name == "bench-drawn":
            e.add_argument("--per-digit", type=int, default=120, help="drawings per digit (default 120)")
            e.add_argument("--bench-seed", type=int, default=2026, help="seed of the drawings")
        e.set_defaults(func=func)
    x = sub.add_parser("export-drawings", help="write your saved drawings to an .npz (x, y like load_mnist)")
    x.add_argument("--out", default="my-drawings.npz")
    x.add_argument("--db", help="drawings database (default: $MNIST_DRAW_DB or the user data folder)")
    x.set_defaults(func=cmd_export_drawings)
    b = sub.add_parser("bench", help="speed and memory benchmarks, each beside its baseline")
    b.add_argument("--quick", action="store_true", help="fewer repetitions and no browser parts")
    b.add_argument("--out", help="also write the table as Markdown to this file")
    b.set_defaults(func=cmd_bench)
    a = p.parse_args(argv)
    try:
        return a.func(a)
    except (ValueError, DrawingsError) as e:  # bad settings or files: one clear line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
