"""MNIST Draw's server: `streamlit run app.py` (or `make run`) serves the page, page.py.

This file is an st.App (Streamlit's ASGI entry point, which `streamlit run` finds here) rather than the
page itself for its lifespan hook: at the server's start, before anyone connects, it checks the server's
settings (a problem is in the log at once) and makes ready what the first page needs (ui.state.warm_up),
in a thread, so that the server answers meanwhile. The first page in Chromium then showed 0.35-0.55 s
sooner (measured: the start-up note in benchmarks/speed.py).
"""

from __future__ import annotations

import contextlib
import importlib
import threading

import streamlit as st


@contextlib.asynccontextmanager
async def _lifespan(_app):
    # Imported in the thread too: ui.state imports mnist_core, which would hold up the server's start.
    threading.Thread(target=lambda: importlib.import_module("ui.state").warm_up(), name="warm-up",
                     daemon=True).start()
    yield


app = st.App("page.py", lifespan=_lifespan)
