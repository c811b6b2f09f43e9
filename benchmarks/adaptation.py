"""Writer adaptation: how much "Learn my handwriting" helps the people it is for.

For each writer of a part (the test writers unless told) with at least 3 of every digit: adapt the
model on one drawing of each digit (10 drawings, as the page reads them), then read that writer's
other digits (every page-canvas drawing of them) before and after. Reported: the mean per writer
before and after, the share of errors gone, MNIST's test set after, and the seconds an adaptation
takes beside one plain training epoch in the same run.

Also reported: the errors before and after, split by whether the drawing of that digit the model
learned from was one it misread. One drawing of each digit chosen at random is mostly one the model
already reads right, and teaches it little about the same person's other ways of writing that digit.
"""

from __future__ import annotations

import time

import numpy as np

from mnist_core import TrainConfig, load_mnist
from mnist_core.train import train
from mnist_core.adapt import adapt
from mnist_core.evaluate import measure
from mnist_core.handwriting import reading_set, shipped_split


LEAST = 3  # of every digit, for a writer to be adapted to: one to learn from, the rest to read


def writers_to_adapt(part_name: str, least: int = LEAST, part=None) -> list[str]:
    part = part if part is not None else getattr(shipped_split(), part_name)
    return [w for w in sorted(set(part.writers.tolist()))
            if np.bincount(part.labels[part.writers == w], minlength=10).min() >= least]


def adaptation_figures(model, part_name: str = "test", seed: int = 0, least: int = LEAST, part=None,
                       per_digit: int = 1, pick: str = "random", **settings) -> dict:
    """part_name's writers (or part's, so named), each adapted to with adapt's settings (steps, mine,
    learning_rate: its own unless given) on per_digit drawings of each digit (at most least: a digit of which a
    writer has no more is then not read), picked at random, or with pick="misread" among those the model misreads
    where a digit has enough of them (the drawings the page advises a person to save)."""
    if not 1 <= per_digit <= least:
        raise ValueError(f"--per-digit must be from 1 to {least}: the writers have at least {least} of every digit")
    part = part if part is not None else getattr(shipped_split(), part_name)
    s = reading_set(part_name, part)
    sample = np.arange(len(s.y)) % len(part)  # the pen digit each drawing is of
    (_, _), (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(seed)
    read_right = measure(model, s.x, s.y)["correct"] & s.one
    rows, seconds = [], []
    for w in writers_to_adapt(part_name, least, part):
        mine = np.nonzero(part.writers == w)[0]
        # per_digit of each digit (one drawn as it always was, so that earlier figures reproduce)
        pool = {d: mine[part.labels[mine] == d] for d in range(10)}
        if pick == "misread":  # as the page advises: the drawings of a digit it misread, where there are any
            pool = {d: p[~read_right[p]] if (~read_right[p]).sum() >= per_digit else p for d, p in pool.items()}
        shown = [int(i) for d in range(10) for i in (rng.choice(pool[d], per_digit, replace=False)
                                                     if per_digit > 1 else [rng.choice(pool[d])])]
        first = np.array(shown)  # pen digit i's first page drawing is drawing i (sample above)
        taught_right = {d: bool(read_right[first[s.y[first] == d]].all()) for d in range(10)}
        others = np.nonzero(np.isin(sample, mine) & ~np.isin(sample, shown))[0]
        start = time.perf_counter()
        adapted = adapt(model, s.x[first], s.y[first], seed=seed, **settings)
        seconds.append(time.perf_counter() - start)
        row = {"writer": w, "drawings": int(len(others))}
        taught_wrong = ~np.array([taught_right[int(d)] for d in s.y[others]], bool)  # of a digit it learned a misread of
        for name, m in (("before", model), ("after", adapted)):
            right = measure(m, s.x[others], s.y[others])["correct"] & s.one[others]
            row[name] = float(right.mean())
            row[f"errors_{name}"] = int((~right).sum())
            row[f"errors_{name}_taught_wrong"] = int((~right & taught_wrong).sum())
        row["mnist_after"] = measure(adapted, x_test, y_test)["accuracy"]
        rows.append(row)
    before, after = np.mean([r["before"] for r in rows]), np.mean([r["after"] for r in rows])
    return {"rows": rows, "before": float(before), "after": float(after),
            "errors_gone": float(1 - (1 - after) / (1 - before)) if before < 1 else 0.0,
            "mnist_after": float(np.mean([r["mnist_after"] for r in rows])),
            "mnist_after_min": float(np.min([r["mnist_after"] for r in rows])),
            "seconds_p50": float(np.median(seconds[1:] or seconds)), "first_seconds": seconds[0],
            **{k: sum(r[k] for r in rows) for k in ("errors_before", "errors_after", "errors_before_taught_wrong",
                                                   "errors_after_taught_wrong")}}


def errors_by_what_was_learned(f: dict) -> str:
    """The errors before and after, split by whether the one drawing of that digit the model learned from was
    one it misread, or one it already read right (a random drawing mostly is: it teaches little)."""
    b, a, bw, aw = (f[k] for k in ("errors_before", "errors_after", "errors_before_taught_wrong",
                                   "errors_after_taught_wrong"))
    return (f"errors of a digit whose drawing to learn from was misread: {bw} before, {aw} after; of a digit whose "
            f"drawing was already read right: {b - bw} before, {a - aw} after")


def epoch_seconds() -> float:
    """One plain training epoch of the reference network, in this process (its second epoch: compiled)."""
    times = []
    train(TrainConfig(epochs=2), on_epoch=lambda e, logs: times.append(time.perf_counter()))
    return times[1] - times[0]


def print_benchmark(model, part_name: str = "test", seed: int = 0, least: int = LEAST, per_digit: int = 1,
                    pick: str = "random", **settings) -> int:
    f = adaptation_figures(model, part_name, seed, least, per_digit=per_digit, pick=pick, **settings)
    print(f"Writer adaptation on the {part_name} writers with at least {least} of every digit ({len(f['rows'])}): "
          f"adapted on {'one page drawing' if per_digit == 1 else f'{per_digit} page drawings'} of each digit"
          f"{' (of those misread, where there are any)' if pick == 'misread' else ''}, read on all the writer's other "
          "drawings"
          + (f"; adapt's settings {settings}" if settings else ""))
    print(f"{'writer':<28}{'drawings':>9}{'before':>9}{'after':>9}{'MNIST after':>13}")
    for r in f["rows"]:
        print(f"{r['writer']:<28}{r['drawings']:>9}{r['before']:>9.1%}{r['after']:>9.1%}{r['mnist_after']:>13.2%}")
    print(f"{'mean per writer':<37}{f['before']:>9.1%}{f['after']:>9.1%}{f['mnist_after']:>13.2%}")
    print(f"errors gone: {f['errors_gone']:.0%}; MNIST test after, lowest: {f['mnist_after_min']:.2%}")
    print(errors_by_what_was_learned(f))
    print(f"one adaptation: p50 {f['seconds_p50']:.2f} s (the first, compiling: {f['first_seconds']:.2f} s); "
          f"one plain training epoch in this run: {epoch_seconds():.2f} s")
    return 0
