"""Look inside: which hidden units fired for this drawing, what they learned, which pixels counted."""

from __future__ import annotations

import streamlit as st

from mnist_core import inside, views
from mnist_core.network import deskews

from .state import model_key

LEGEND = "Red: a positive weight or push, blue: a negative one, white: none."


@st.cache_data(show_spinner=False, max_entries=4)
def _whole_model(key: str, _model) -> dict:
    """The gallery and the digit templates of one model (by its cache key), drawn once."""
    return {"units": [views.diverging_view(img, 3) for img in inside.unit_images(_model, range(24))],
            "digits": [views.diverging_view(img, 3) for img in inside.digit_templates(_model)]}


def inside_tab(result):
    model = result.model
    st.subheader("Look inside the network")
    try:
        inside.weights(model)
    except ValueError as e:
        st.warning(f"This model cannot be looked into: {e}.")
        return
    drawn = st.session_state.get("drawn")
    if drawn is None:
        st.info("Draw a digit in the **Draw a digit** tab, then come back: this tab shows what the network "
                "did with it.")
    else:
        _this_drawing(model, drawn)
    st.markdown("#### The whole model")
    pictures = _whole_model(model_key(result), model)
    st.markdown("**What hidden units learned.** Each picture is one unit's 784 incoming weights laid out as "
                "the 28x28 image: the unit fires when ink falls on red and not on blue. These are units 0-23 "
                "of 512; most look like blurry strokes or pieces of several digits, not like whole digits. "
                + LEGEND)
    _row(pictures["units"][:12], [f"unit {j}" for j in range(12)])
    _row(pictures["units"][12:], [f"unit {j}" for j in range(12, 24)])
    st.markdown("**What sets each digit apart:** the hidden units' weight pictures added up, each weighted by "
                "how much the unit feeds that digit (as if every unit fired alike), less what all ten digits "
                "share. Red is ink that raises the digit's score more than the others', blue ink that lowers it. "
                + LEGEND)
    _row(pictures["digits"], [str(d) for d in range(10)])


def _this_drawing(model, drawn):
    seen = inside.look_inside(model, drawn)
    d = seen["digit"]
    straight = " (straightened first: this model deskews)" if deskews(model) else ""
    st.markdown(f"**Your drawing reads as a {d}** ({seen['probabilities'][d]:.0%}). Here is how.")
    a, b, c = st.columns([1, 2, 1])
    a.image(views.pixel_view(seen["input"], 5), caption=f"What the hidden layer reads{straight}")
    active = int((seen["activations"] > 0).sum())
    b.image(views.activation_view(seen["activations"], 11),
            caption=f"The 512 hidden units, 16 rows of 32: {active} fired (brighter: stronger), the rest stayed "
                    "silent (relu cut them to 0)")
    c.image(views.diverging_view(seen["contributions"], 5),
            caption=f"Which pixels pushed towards the {d} (red) and against it (blue): gradient x input{straight}")
    units = seen["units"]
    st.markdown(f"**The units that pushed the {d} most.** A unit's push is how strongly it fired times the weight "
                f"from it to the {d}; the share is its part of all the pushes towards the {d}. Each picture is "
                "the unit's incoming weights: ink on red excites it, ink on blue holds it back. " + LEGEND)
    _row([views.diverging_view(u["image"], 3) for u in units],
         [f"unit {u['unit']}: {u['share']:.0%} (fired {u['activation']:.2f} × weight {u['weight']:.2f})"
          for u in units], per_row=6)


def _row(images, captions, per_row: int = 12):
    for col, img, cap in zip(st.columns(per_row), images, captions):
        col.image(img, caption=cap, width="stretch")
