"""What every part of the page shares: data, models and the drawings store, loaded once per process."""

from __future__ import annotations

import gc
import logging
import os
import threading

import streamlit as st

from mnist_core import TrainConfig, default_model, load_mnist
from mnist_core import views
from mnist_core.cache import cache_key, is_cached, load_cached
from mnist_core.evaluate import confusion
from mnist_core.handwriting import load_handwriting, misread_by_writer
from mnist_core.jobs import BROKER_ENV, LIMIT_ENV, get_job, settings_problem, start_local_workers
from mnist_core.user_drawings import DrawingsError

from .identity import my_drawings


@st.cache_resource(show_spinner=False)
def data():
    return load_mnist()


@st.cache_resource(show_spinner=False)
def handwriting():
    return load_handwriting()


@st.cache_resource(show_spinner=False)
def shipped():
    return default_model()


@st.cache_resource(show_spinner="Loading the model from the cache…", max_entries=8)
def cached_model(config: TrainConfig):
    return load_cached(config)  # never trains here: training runs in the queue, within its limit


def base_model(config: TrainConfig):
    """The model of config: the shipped one for its own settings, else the cache's."""
    return shipped() if config == shipped().config else cached_model(config)


def model_key(result) -> str:
    """What the page's caches key a model by: its settings' cache key and where it came from."""
    return cache_key(result.config) + result.source


@st.cache_data(show_spinner="Testing the model on 10,000 digits…", max_entries=8)
def test_set_report(key: str, _model):
    """Confusion matrix and mistakes on the MNIST test set; cached per model (by its cache key)."""
    _, (x_test, y_test) = data()
    return confusion(_model, x_test, y_test)


@st.cache_data(show_spinner="Reading the test writers' drawings…", max_entries=8)
def handwriting_mistakes(key: str, _model):
    """Whose real handwriting the model misreads (handwriting.misread_by_writer); cached per model, as above."""
    return misread_by_writer(_model)


@st.cache_resource(show_spinner=False)
def freeze_long_lived_objects() -> int:
    """Keep garbage collection off the read-out's path; returns how many objects were frozen.

    Streamlit collects garbage after every run, fragment runs included. Long-lived objects (TensorFlow's
    ~400,000, when the page's process imported it, made each full collection take 70-180 ms) stall the
    Prediction after a stroke. gc.freeze() moves the objects alive now (modules, the data, the shipped
    model) out of the collector's sight, once per process.
    """
    data()  # loaded first, so that they are frozen too
    shipped()
    gc.freeze()
    return gc.get_freeze_count()


# Seconds after the settings are checked (at the server's start; in AppTest, at the first page) before this
# machine's training workers start: not while the first page loads, which their TensorFlow import slowed (a
# page opened at once was ready in 3.07-3.12 s with them at 3 s, 2.89-2.98 at 6 s; medians of 6 and 8 starts).
WORKERS_AFTER = 6.0


@st.cache_resource(show_spinner=False)
def _checked_settings(values: tuple) -> str | None:
    """The server's settings checked once per set of values, the problem logged once (values: the key);
    with none, this machine's training workers started, WORKERS_AFTER seconds later."""
    problem = settings_problem()
    if problem:
        logging.getLogger("mnist_draw").error("Server settings: %s. Trainings are refused until it is fixed.", problem)
    else:  # this machine's workers (none for a shared broker), a little later: they import TensorFlow, which
        # would compete for the cores with the first page
        timer = threading.Timer(WORKERS_AFTER, start_local_workers)
        timer.daemon = True
        timer.start()
    later = threading.Timer(WORKERS_AFTER, _import_the_rest)
    later.daemon = True
    later.start()
    return problem


def _import_the_rest() -> None:
    """What the first page does without (the other tabs, Altair), imported while the person looks at it, so
    that their first click on a tab does not wait for it."""
    import importlib

    from streamlit import runtime
    if not runtime.exists():  # a script run by AppTest, not a server: nobody to keep waiting (and Streamlit's
        return  # caches, made outside a run, would log "No runtime found" after the test's output has closed)
    for name in ("ui.data", "ui.network", "ui.training", "ui.failures", "ui.inside", "ui.teacher"):
        try:
            importlib.import_module(name)
        except Exception:  # imported again, and reported, where it is used
            pass


def _server_settings() -> tuple[str, str]:
    return os.environ.get(LIMIT_ENV, ""), os.environ.get(BROKER_ENV, "")


def warm_up() -> None:
    """At the server's start (app.py), before anyone connects: the server's settings checked (a problem
    logged now, not at the first page) and what the first page needs made ready: the data and the shipped
    model, and modules its first run would import: pandas (and pyarrow), which Streamlit imports to look at
    the canvas's settings; the emoji table, for the page's icon; the sidebar and the Draw tab; and scipy.ndimage,
    which reading a drawing imports (a first drawing soon after the start then read in 337 ms, not 449)."""
    import importlib
    try:
        for name in ("pandas", "pyarrow", "streamlit.emojis", "scipy.ndimage", "ui.sidebar", "ui.draw"):
            importlib.import_module(name)
        _checked_settings(_server_settings())
        freeze_long_lived_objects()
    except Exception:  # the first page does it all again, and shows what is wrong
        logging.getLogger("mnist_draw").exception("Warming up at the server's start failed")


def server_settings_warning() -> None:
    """Say at the top of every page, from the start, what is wrong with the server's settings."""
    problem = _checked_settings(_server_settings())
    if problem:
        st.error(f"This server's settings are wrong: {problem}. Drawing works; training does not until it is "
                 "fixed and the server restarted.", icon=":material/settings_alert:")


def restore_model_in_use() -> None:
    """A new session (a reload, a new tab, the next day) takes the model this person last chose, if the
    cache still holds it; else the shipped one."""
    if "config" in st.session_state:
        return
    config = None
    try:
        remembered = my_drawings().remembered_model()
        config = TrainConfig.from_dict(remembered) if remembered else None
    except (DrawingsError, ValueError, TypeError):
        pass  # no database, or settings of another version: the shipped model
    if config is not None and (config == shipped().config or not is_cached(config)):
        config = None
    st.session_state["config"] = config


def use_model(config: TrainConfig | None) -> None:
    """Make config's model (None: the shipped one) this person's model in use, now and after a reload, and
    put it on their list of trainings."""
    st.session_state["config"] = config
    try:
        mine = my_drawings()
        mine.remember_model(None if config is None else config.to_dict())
        if config is not None and config != shipped().config:
            mine.add_training(cache_key(config), config.to_dict())
    except DrawingsError:
        pass  # the page goes on with it for this session


def my_trainings() -> tuple[list, list[str]]:
    """This person's trainings as [(config, TrainResult)], first trained first, and a note for each one that
    is no longer in the cache or cannot be read (left out)."""
    runs, notes = [], []
    try:
        listed = my_drawings().trainings()
    except DrawingsError as e:
        return [], [f"Your list of trainings is unavailable: {e}"]
    for key, values in listed:
        try:
            config = TrainConfig.from_dict(values)
        except (ValueError, TypeError):
            notes.append("One of your trainings has settings this version does not know; it is left out.")
            continue
        try:
            runs.append((config, base_model(config)))
        except Exception as e:  # gone from the cache, or damaged
            notes.append(f"Your training \"{views.run_name(config)}\" cannot be shown ({type(e).__name__}: it is no "
                         "longer in the cache, or damaged). Train it again to see it here.")
    return runs, notes


def model_in_use():
    """The session's model: one it trained, else the shipped default."""
    config = st.session_state.get("config")
    if config is None or config == shipped().config:
        return shipped()
    job = get_job(config)
    if job is not None and job.result is not None:
        return job.result
    try:
        return cached_model(config)
    except Exception as e:  # gone from the cache, or damaged: keep the page working, say how to get it back
        use_model(None)
        st.error(f"Could not load your trained model ({e}); using the shipped one. Press Train with the same "
                 "settings to train it again.")
        return shipped()
