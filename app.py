"""MNIST Draw: the classic first neural network, explored, trained and played with.

Run with `make run` (or `streamlit run app.py`). This file only lays out the page; each part is a
module of ui/, and everything that computes lives in mnist_core.
"""

from __future__ import annotations

import streamlit as st

from mnist_core import views
from ui.data import data_tab
from ui.draw import draw_tab
from ui.failures import failures_tab
from ui.identity import remember, teacher_token
from ui.inside import inside_tab
from ui.network import network_tab
from ui.sidebar import sidebar
from ui.state import freeze_long_lived_objects, model_in_use, restore_model_in_use, server_settings_warning
from ui.teacher import teacher_tab
from ui.training import training_tab

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
# the others run only while open (on_change="rerun"). A stroke then re-renders the Draw tab alone,
# which took ~30 ms off every read-out in Chromium.
TABS = {"✏️ Draw a digit": draw_tab, "1 · The data": data_tab, "2 · The network": network_tab,
        "3 · Training and testing": training_tab, "4 · Where it fails": failures_tab, "5 · Look inside": inside_tab}
if teacher_token():  # the server has a teacher: their tab (it asks for the token)
    TABS["Teacher"] = teacher_tab
for container, show in zip(st.tabs(list(TABS), key="tab", on_change="rerun"), TABS.values()):
    if container.open or show is draw_tab:
        with container:
            show(result)
