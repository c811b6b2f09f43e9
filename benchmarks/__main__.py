"""python -m benchmarks {drawn,handwriting,adaptation,folds,ceiling,learn,numbers,speed} --help: how well and how fast MNIST Draw reads."""

from __future__ import annotations

import argparse
import sys

from mnist_core.__main__ import model_args, model_from, run

PICKS = ["random", "misread"]
PICK_HELP = ("which drawings of each digit to learn from: picked at random (default), or, as the page advises, a "
             "writer's drawings of that digit that the model misread, where there are any")


def cmd_drawn(a) -> int:
    from .synthetic import print_benchmark
    return print_benchmark(model_from(a).model, n_per_digit=a.per_digit, seed=a.bench_seed)


def measured_model(a):
    """model_from(a); for the validation writers, only a model that did not train on them: settings chosen
    on writers the model already learned would be chosen on a flattering figure."""
    result = model_from(a)
    if a.writers == "validation" and result.config.with_validation_writers:
        raise ValueError("this model trained on the validation writers, so it cannot choose settings on them: measure "
                         "--model config with its options less --with-validation-writers (the shipped model's are in "
                         "assets/default_model/model.json)")
    return result.model


def cmd_handwriting(a) -> int:
    from .handwriting import print_benchmark
    return print_benchmark(measured_model(a), per_style=a.per_style, part_name=a.writers, sheet=a.sheet)


def cmd_adaptation(a) -> int:
    from .adaptation import print_benchmark
    settings = adapt_settings(a.settings)
    return print_benchmark(measured_model(a), part_name=a.writers, **({} if a.least is None else {"least": a.least}),
                           per_digit=a.per_digit, seed=a.pick_seed, pick=a.pick, **settings)


def adapt_settings(text: str) -> dict:
    """"mine=64,learning_rate=1e-3" -> adapt's keyword arguments ("" is as shipped; distill=0 learns MNIST's part
    by its labels)."""
    from mnist_core.adapt import LEARNING_RATE, MINE, STEPS, check_settings
    kinds = {"steps": int, "mine": int, "learning_rate": float, "distill": lambda v: bool(int(v)), "spread": float}
    settings = {}
    for item in filter(None, text.split(",")):
        name, _, value = (part.strip() for part in item.partition("="))
        if name not in kinds:
            raise ValueError(f"{item!r}: the adaptation's settings are {', '.join(kinds)} (as name=value)")
        try:
            settings[name] = kinds[name](value)
        except ValueError:
            raise ValueError(f"{item!r}: {name} takes a number") from None
    numbers = {k: v for k, v in settings.items() if k != "distill"}
    check_settings(**{"steps": STEPS, "mine": MINE, "learning_rate": LEARNING_RATE, **numbers})  # before any training
    return settings


def cmd_folds(a) -> int:
    from .folds import print_benchmark
    return print_benchmark([adapt_settings(t) for t in a.settings], [int(s) for s in a.seeds.split(",")], pick=a.pick)


def cmd_ceiling(a) -> int:
    from mnist_core import default_model

    from .ceiling import print_benchmark
    if a.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {a.epochs}")
    return print_benchmark(default_model().model, epochs=a.epochs, seed=a.seed)


def cmd_learn(a) -> int:
    from .learn import print_benchmark
    return print_benchmark(fresh=a.fresh, clicks=a.clicks, wait=a.wait)


def cmd_numbers(a) -> int:
    from .numbers import print_benchmark
    return print_benchmark(model_from(a).model, n=a.numbers, seed=a.bench_seed)


def cmd_speed(a) -> int:
    from .speed import main
    return main(a)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="MNIST Draw's benchmarks.")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("drawn", help="generated canvas drawings: plain resize vs the real pipeline")
    model_args(d)
    d.add_argument("--per-digit", type=int, default=120, help="drawings per digit (default 120)")
    d.add_argument("--bench-seed", type=int, default=2026, help="seed of the drawings")
    d.set_defaults(func=cmd_drawn)
    h = sub.add_parser("handwriting", help="real handwriting by test writers as the page reads it, and each way of writing a digit")
    model_args(h)
    h.add_argument("--per-style", type=int, default=100, help="drawings of each way of writing (default 100)")
    h.add_argument("--writers", choices=["test", "validation"], default="test",
                   help="whose handwriting: the test writers (report), or the validation writers (choose settings)")
    h.add_argument("--sheet", help="also draw every misread drawing, by writer, into this PNG")
    h.set_defaults(func=cmd_handwriting)
    w = sub.add_parser("adaptation", help="learn one writer's handwriting from 10 drawings: before and after")
    model_args(w)
    w.add_argument("--writers", choices=["test", "validation"], default="test",
                   help="whose handwriting: the test writers (report), or the validation writers (choose settings)")
    w.add_argument("--least", type=int, help="writers with at least this many of every digit (default 3; 2 gives the "
                                             "validation writers 11 people, not 5)")
    w.add_argument("--settings", default="", help='adapt\'s settings, "name=value,..." as for folds (default: as '
                                                  "shipped): to see what more force does, not to choose on test writers")
    w.add_argument("--per-digit", type=int, default=1, help="learn from this many drawings of each digit (default 1, "
                                                             "as the issue asks; more: what a person who saves more gets)")
    w.add_argument("--pick-seed", type=int, default=0, help="which drawings to learn from (default 0)")
    w.add_argument("--pick", choices=PICKS, default="random", help=PICK_HELP)
    w.set_defaults(func=cmd_adaptation)
    f = sub.add_parser("folds", help="choose the adaptation's settings on held-out folds of training writers "
                                     "(trains the shipped recipe once per fold, ~5 min each)")
    f.add_argument("settings", nargs="*", default=["", "mine=64", "mine=96,learning_rate=1e-3", "steps=240"],
                   help='adapt\'s settings to compare, each "name=value,..." ("" as shipped)')
    f.add_argument("--seeds", default="0,1,2,3", help="which drawing of each digit to adapt on (default 0,1,2,3)")
    f.add_argument("--pick", choices=PICKS, default="random", help=PICK_HELP)
    f.set_defaults(func=cmd_folds)
    c = sub.add_parser("ceiling", help="a small CNN trained on the recipe's epochs, read on the validation and test "
                                       "writers beside the shipped model: what the drawings allow (~22 min)")
    c.add_argument("--epochs", type=int, default=15, help="the CNN's epochs (default 15)")
    c.add_argument("--seed", type=int, default=2, help="the recipe's seed (default 2)")
    c.set_defaults(func=cmd_ceiling)
    e = sub.add_parser("learn", help="Learn my handwriting in Chromium: seconds from the click to its report")
    e.add_argument("--fresh", action="store_true", help="start from an empty cache, as a new install does")
    e.add_argument("--clicks", type=int, default=6, help="clicks timed (default 6)")
    e.add_argument("--wait", type=float, default=40, help="the first click this many seconds after the page opened "
                                                          "(default 40: the worker has warmed up)")
    e.set_defaults(func=cmd_learn)
    n = sub.add_parser("numbers", help="numbers of 2-4 drawn digits: split into the right digits, and read right")
    model_args(n)
    n.add_argument("--numbers", type=int, default=300, help="numbers from each source (default 300)")
    n.add_argument("--bench-seed", type=int, default=2026, help="seed of the numbers")
    n.set_defaults(func=cmd_numbers)
    s = sub.add_parser("speed", help="speed and memory, each figure beside its baseline (make bench)")
    s.add_argument("--quick", action="store_true", help="fewer repetitions and no browser parts")
    s.add_argument("--out", help="also write the table as Markdown to this file")
    s.set_defaults(func=cmd_speed)
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
