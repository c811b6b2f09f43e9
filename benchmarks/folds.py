"""Choosing the adaptation's settings on writers harder than the validation writers, and as unseen.

Most validation writers read 100% before adapting, so settings tried on them differ by a drawing or
two. Here the training writers with at least 3 of every digit are dealt into FOLDS folds; for each, the
shipped recipe trains without that fold's writers (and without the validation and test writers), and
the fold's writers are adapted to as `benchmarks adaptation` does. The test writers play no part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

import numpy as np

from mnist_core.handwriting import MAX_DIGITS, shipped_split

from .adaptation import LEAST, adaptation_figures, errors_by_what_was_learned

FOLDS = 2


def fold_writers(train, k: int) -> list[str]:
    """Fold k of the training writers (train: PenDigits) with at least LEAST of every digit and at most
    MAX_DIGITS, dealt in turn in the order of the SHA-256 of their names."""
    names = sorted(set(train.writers.tolist()))
    full = [w for w in names if (train.writers == w).sum() <= MAX_DIGITS
            and np.bincount(train.labels[train.writers == w], minlength=10).min() >= LEAST]
    return sorted(full, key=lambda w: hashlib.sha256(f"fold/{w}".encode()).hexdigest())[k::FOLDS]


def recipe():
    """The shipped model's TrainConfig, less the validation writers (they must not vary with a fold)."""
    from mnist_core import default_model
    return dataclasses.replace(default_model().config, with_validation_writers=False)


def fold_model(k: int, config):
    """The model config trains on the training writers outside fold k: trained once (~5 min), then kept
    in the cache folder."""
    from mnist_core.cache import _load_keras, cache_key
    from mnist_core.paths import cache_dir
    from mnist_core.train import train
    train_part = shipped_split().train
    held = fold_writers(train_part, k)
    key = hashlib.sha256(repr((cache_key(config), held)).encode()).hexdigest()[:16]  # cache_key: the code's versions too
    path = cache_dir() / "benchmarks" / f"fold{k}-{key}.keras"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        model = train(config, pen=train_part.subset(~np.isin(train_part.writers, held))).model
        part = path.with_name(f"{path.stem}.part.keras")
        model.save(part)
        os.replace(part, path)
    return _load_keras(path, path)


def misread_and_read(model, n: int = 6):
    """Real pen digits by validation writers as the page reads them, n that model misreads and n it
    reads right, read one at a time until there are enough: (x (2n, 28, 28) uint8, y (2n,), right (2n,)).
    A hard set to learn: odd digits of many people, not one person's way of writing."""
    from mnist_core.handwriting import page_canvases, read_as_page
    from mnist_core.predict import predict_proba
    wrong, right = [], []
    for canvas, label in page_canvases(shipped_split().validation):
        digit = read_as_page(canvas)
        if digit is not None:
            ok = predict_proba(model, digit[None]).argmax() == label
            (right if ok else wrong).append((digit, label, ok))
        if len(wrong) >= n and len(right) >= n:
            break
    x, y, ok = zip(*wrong[:n], *right[:n])
    return np.stack(x), np.array(y), np.array(ok)


def print_benchmark(settings: list[dict], seeds: list[int], pick: str = "random") -> int:
    """Each of settings (adapt's keyword arguments; {} is as shipped) on every fold, over seeds, learning from
    drawings picked as pick says (see adaptation_figures); and how much of MNIST the shipped model keeps
    when it learns misread_and_read's hard set."""
    from mnist_core import default_model, load_mnist
    from mnist_core.adapt import adapt
    from mnist_core.evaluate import measure
    from mnist_core.handwriting import reading_figures
    config, train_part = recipe(), shipped_split().train
    rows = {i: [] for i in range(len(settings))}
    for k in range(FOLDS):
        part = train_part.subset(np.isin(train_part.writers, fold_writers(train_part, k)))
        model = fold_model(k, config)
        print(f"fold {k}'s model, as the page reads: its {len(set(part.writers.tolist()))} writers "
              f"{reading_figures(model, f'fold{k}', part)['accuracy']:.2%}, the validation writers "
              f"{reading_figures(model, 'validation')['accuracy']:.2%} (neither trained it)")
        for i, s in enumerate(settings):
            rows[i] += [adaptation_figures(model, f"fold{k}", seed, part=part, pick=pick, **s) for seed in seeds]
    print(f"\nAdaptation settings on {FOLDS} folds of training writers, each read by the shipped recipe trained "
          f"without them; seeds {seeds}; drawings to learn from picked {'at random' if pick == 'random' else 'among those misread'}; "
          "mean per writer")
    shipped = default_model().model
    hard_x, hard_y, _ = misread_and_read(shipped)
    _, (x_test, y_test) = load_mnist()
    print(f"{'settings':<40}{'before':>8}{'after':>8}{'errors gone':>13}{'MNIST after':>13}{'lowest':>8}{'s p50':>7}"
          f"{'hard set: MNIST after':>23}")
    for i, s in enumerate(settings):
        f = rows[i]
        before, after = np.mean([r["before"] for r in f]), np.mean([r["after"] for r in f])
        name = ", ".join(f"{k}={v:g}" for k, v in s.items()) or "as shipped"
        print(f"{name:<40}{before:>8.2%}{after:>8.2%}{1 - (1 - after) / (1 - before):>13.0%}"
              f"{np.mean([r['mnist_after'] for r in f]):>13.2%}{min(r['mnist_after_min'] for r in f):>8.2%}"
              f"{np.median([r['seconds_p50'] for r in f]):>7.2f}"
              f"{measure(adapt(shipped, hard_x, hard_y, **s), x_test, y_test)['accuracy']:>23.2%}")
    for i, s in enumerate(settings):
        name = ", ".join(f"{k}={v:g}" for k, v in s.items()) or "as shipped"
        print(f"{name}, over the seeds: " + errors_by_what_was_learned({k: sum(r[k] for r in rows[i]) for k in rows[i][0]
                                                                        if k.startswith("errors_")}))
    return 0
