"""The sidebar: training settings (made from TrainConfig's own fields), the Train button, progress."""

from __future__ import annotations

import streamlit as st

from mnist_core import TrainConfig
from mnist_core.config import settings
from mnist_core.cache import is_cached
from mnist_core import views
from mnist_core.jobs import BrokerError, expected_seconds, get_job, start_training, status
from mnist_core.user_drawings import DrawingsError

from .identity import my_drawings, who
from .state import shipped, use_model


def _widget(f):
    """One widget for a TrainConfig field, with the field's own label, help and limits; its value is kept
    under key "setting_<name>" (a recipe sets them all)."""
    m, key = f.metadata, f"setting_{f.name}"
    st.session_state.setdefault(key, f.default)
    if f.type == "bool":
        return st.checkbox(m["label"], help=m["help"], key=key)
    if m["choices"]:
        return st.select_slider(m["label"], options=list(m["choices"]), help=m["help"], key=key)
    if f.type == "int":
        return int(st.number_input(m["label"], min_value=m["lo"], max_value=m["hi"], step=1, help=m["help"], key=key))
    hi = m["hi"] - 0.05 if m["hi_open"] else m["hi"]
    return st.slider(m["label"], float(m["lo"]), float(hi), step=0.05, help=m["help"], key=key)


def _use_recipe(recipe: dict) -> None:
    for name, value in recipe["settings"].items():
        st.session_state[f"setting_{name}"] = float(value) if isinstance(value, float) else value


def sidebar():
    st.header("Train the network")
    st.caption("Start from a recipe, then change what you like:")
    for recipe in views.recipes(shipped().config, expected_seconds):  # one under the other: side by side, the
        # sidebar cut "Shipped model's recipe" to "Shipped mo…"
        st.button(recipe["name"], on_click=_use_recipe, args=(recipe,), width="stretch",
                  help=f"{recipe['words']}: {recipe['cost']} on this server.")
    chosen = {f.name: _widget(f) for f in settings() if f.metadata["page"]}
    try:
        mine = my_drawings()
        n_saved, fingerprint = mine.count(), mine.fingerprint()
    except DrawingsError:
        n_saved, fingerprint = 0, ""
    mix = st.checkbox(f"Mix in my drawings ({n_saved} saved)", value=False, disabled=n_saved == 0,
                      help="Adds your saved drawings (see Your drawings) to the training set.")
    if st.button("Train", type="primary", width="stretch"):
        try:
            config = TrainConfig(**chosen, user_drawings=fingerprint if mix else "")
            start_training(config, who())  # at most one job per config: a second click or tab joins the first
        except (ValueError, BrokerError) as e:  # bad settings, a bad server setting, a queue out of reach
            st.error(f"Cannot train: {e}")
        else:
            st.session_state["pending"] = config  # the model in use changes only once it is trained
    if st.session_state.get("config") is not None and st.button("Use the shipped model", width="stretch"):
        use_model(None)

    pending = st.session_state.get("pending")
    job = get_job(pending) if pending is not None else None

    every = look_every(job, status()["workers"])

    @st.fragment(run_every=every)
    def training_progress():
        job = get_job(pending) if pending is not None else None
        if job is None:  # finished and forgotten (another owner took it): its model is in the cache
            if pending is not None:
                st.session_state["pending"] = None
                use_model(pending if is_cached(pending) else st.session_state.get("config"))
                st.rerun()
            return
        if job.running:
            if look_every(job, status()["workers"]) != every:  # it started, or its wait changed: the whole page
                st.rerun()  # again, to look as often as it now can change (a fragment keeps the run_every it began with)
            _progress(job)
            return
        st.session_state["pending"] = None
        job.collect()
        if job.state == "cancelled":
            st.session_state["train_note"] = "Training cancelled; the current model stays in use."
        elif job.error:
            st.session_state["train_error"] = job.error
        else:
            use_model(pending)
        st.rerun()  # training finished: redraw the whole page with the new model

    training_progress()
    if st.session_state.get("train_error"):
        st.error(f"Training failed: {st.session_state.pop('train_error')}")
    if st.session_state.get("train_note"):
        st.info(st.session_state.pop("train_note"))


def look_every(job, workers: int) -> float | None:
    """Seconds between runs of a job's progress (None: the job is gone or finished). Learning a person's
    handwriting takes about a second: looked at more often than a training's epochs. A place in the queue
    moves only when a training ends: each run of a waiting page cost the server ~40 ms and its browser ~80 (a
    class of 30 waiting at once, every second, would take more than one of two cores), so a page that waits
    looks every 3 s; one whose training is about to start looks every second, or its first epochs pass unseen
    (a free worker takes a job at once, and at 3 s the page first showed it at epoch 3)."""
    if job is None or not job.running:
        return None
    if job.config.adapted_to:
        return 0.25
    return 1.0 if job.state == "running" or (workers and job.seconds_to_start() < 3) else 3.0


def _progress(job):
    """A queued job's place and wait, or a running one's epochs; either way a Cancel button."""
    if job.config.adapted_to and job.state == "running":
        st.progress(0.5, text="Learning your handwriting…")
    elif job.state == "queued":
        place, wait, queue = job.position, job.seconds_to_start(), status()
        if queue["problem"]:
            st.warning(queue["problem"])
        elif not queue["workers"]:
            st.progress(0.0, text=f"Waiting for a training worker: number {place} in the queue. No worker is "
                                  "running yet; one is starting, or (on a shared queue) start `python -m mnist_core "
                                  "worker` on a machine that reaches it.")
        elif place is not None:
            workers = queue["workers"]
            st.progress(0.0, text=f"Waiting for a free worker: number {place} in the queue, about {wait:.0f} s "
                                  f"({workers} worker{'s' if workers > 1 else ''}, one training at a time each)")
    else:
        n = len(job.epochs)
        last = job.epochs[-1] if job.epochs else {}
        left = job.seconds_left()
        text = (f"Training: epoch {n}/{job.config.epochs}"
                + (f" · loss {last['loss']:.4f} · accuracy {last['accuracy']:.4f}" if last else " · starting…")
                + (f" · {left:.0f} s left" if left is not None else ""))
        st.progress(job.fraction, text=text)
        from .charts import chart_history  # here, not at the top: the first page shows without Altair
        chart_history(job.history, 140, only="accuracy")
    if not job.cancelled and st.button("Cancel training", width="stretch"):
        job.cancel(who())  # others who asked for the same settings keep it going
    if job.cancelled:
        st.caption("Cancelling after the current epoch…")
    st.caption("You can keep drawing meanwhile: the current model reads your digits until this one is ready.")
