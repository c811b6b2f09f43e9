"""MNIST Draw: the classic first neural network, explored, trained and played with.

Served by app.py (`make run`, or `streamlit run app.py`). This file only lays out the page; each part is a
module of ui/, and everything that computes lives in mnist_core.
"""

from __future__ import annotations

import streamlit as st

import importlib

from mnist_core import views
from ui.identity import remember, teacher_token
from ui.sidebar import sidebar
from ui.state import freeze_long_lived_objects, model_in_use, restore_model_in_use, server_settings_warning

st.set_page_config(page_title="MNIST Draw", page_icon="✏️", layout="wide")

# Streamlit forgets the value of a widget that did not run, and a closed tab's widgets do not run
# (see the tabs below). Assigning the key on every run keeps it, as Streamlit's docs advise.
for key in ("filter_true", "filter_pred"):
    st.session_state[key] = st.session_state.get(key, "any")

freeze_long_lived_objects()
restore_model_in_use()  # the model this person last chose, after a reload too
server_settings_warning()
with st.sidebar:
    sidebar()
    remember()  # this browser's identity, for its own drawings and trainings
result = model_in_use()

st.title("✏️ MNIST Draw")
st.caption("The classic first neural network: a dense Keras network that reads handwritten digits. "
           "Draw a digit, see what the network sees, then look inside and train your own.")
if result.source == "shipped":
    st.info(f"Using the shipped model ({result.test_accuracy:.2%} on the MNIST test set). "
            "Train your own in the sidebar.", icon=":material/inventory_2:")
else:
    st.success(f"Using your model: {views.describe_model(result)} "
               f"({result.test_accuracy:.2%} on the MNIST test set).", icon=":material/model_training:")

# The Draw tab always runs, so its canvas stays mounted (a drawing survives a look at another tab);
# the others run only while open (on_change="rerun"), and their modules are imported then: the first
# page shows without them (and without the Altair some of them import). A stroke then
# re-renders the Draw tab alone, which took ~30 ms off every read-out in Chromium.
TABS = {"✏️ Draw a digit": "draw", "1 · The data": "data", "2 · The network": "network",
        "3 · Training and testing": "training", "4 · Where it fails": "failures", "5 · Look inside": "inside"}
if teacher_token():  # the server has a teacher: their tab (it asks for the token)
    TABS["Teacher"] = "teacher"
for container, name in zip(st.tabs(list(TABS), key="tab", on_change="rerun"), TABS.values()):
    if container.open or name == "draw":
        with container:
            getattr(importlib.import_module(f"ui.{name}"), f"{name}_tab")(result)
