"""Draw a digit: the canvas, the live read-out, and the user's saved drawings."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_core import canvas_to_digits, predict_proba, views
from mnist_core.canvas import canvas_png
from mnist_core.cache import cache_key
from mnist_core.jobs import BrokerError, start_training
from mnist_core.network import deskews
from mnist_core.user_drawings import DrawingsError, to_npz

from .identity import my_drawings, who
from .state import base_model, model_in_use, shipped, use_model


def draw_tab(result):
    @st.fragment
    def draw():
        model = model_in_use().model
        st.markdown("**Draw a digit, 0-9, anywhere on the white canvas, or a whole number, digit by digit from left "
                    "to right.** The read-out follows every stroke; undo and reset are in the canvas's toolbar.")
        st.write("")  # room for the canvas toolbar, which floats above the canvas
        left, right = st.columns([2.1, 1], gap="medium")
        with left:
            canvas = st_canvas(stroke_width=st.session_state.get("brush", 20), stroke_color="#000000",
                               background_color="#FFFFFF", width=560, height=280, drawing_mode="freedraw",
                               return_image_data=True, key="canvas")
            st.slider("Brush", 8, 32, 20, key="brush", help="Stroke width in canvas pixels.")
        png = None
        try:
            png = canvas.image_bytes  # the PNG the canvas sent: checked for size before it is decoded
            digits = [] if png is None else canvas_to_digits(canvas_png(png))
        except Exception as e:  # a garbled or oversized upload must not cost the page: say so, keep going
            st.error(f"Could not read the drawing: {e}. Reset the canvas and draw again.")
            digits, png = [], None
        if len(digits) > 1:
            _number(model, digits, right)
            return
        digit = digits[0] if digits else None
        st.session_state["drawn"] = digit  # for the Look inside tab
        probs = None if digit is None else predict_proba(model, digit)[0]
        rows = views.probability_rows(probs)
        best = next((r for r in rows if r["best"]), None)
        with right:
            st.metric("Prediction", best["digit"] if best else "–",
                      f"{best['probability']:.0%} sure" if best else None, delta_color="off", delta_arrow="off")
            straight = " and straightened" if digit is not None and deskews(model) else ""
            st.image(views.pixel_view(views.network_input(model, digit), 7), width=196,
                     caption=f"What the network sees: 28x28, white ink on black{straight}")
        chart, save = st.columns([2.1, 1], gap="medium")
        with chart:
            # A plain Vega-Lite spec with its ten rows inline: Altair's validation would cost ~13 ms on every
            # stroke, and a DataFrame a conversion to Arrow.
            st.vega_lite_chart(spec={
                "data": {"values": rows},
                "title": "All ten probabilities (softmax: they sum to 1)", "height": 240, "mark": "bar",
                "encoding": {
                    "x": {"field": "digit", "type": "nominal", "sort": None, "axis": {"labelAngle": 0}},
                    "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]},
                          "axis": {"format": "%"}},
                    "color": {"condition": {"test": "datum.best", "value": "#e4572e"}, "value": "#4c78a8"},
                    "tooltip": [{"field": "digit"}, {"field": "probability", "format": ".2%"}]}})
        with save:
            if best:
                label = st.selectbox("Correct label", [str(d) for d in range(10)], index=int(best["digit"]),
                                     key=f"true-{best['digit']}",
                                     help="Correct the label if the network got it wrong, then save.")
                done = st.session_state.get("saved_drawing") == (png, int(label))  # one save per drawing
                if st.button("Saved ✓" if done else "Save drawing", disabled=label is None or done,
                             help="Saved with this label: draw the next one (the bin icon clears the canvas)."
                             if done else None):
                    try:
                        my_drawings().save(digit, int(label), int(best["digit"]), png,
                                           cache_key(model_in_use().config))
                        st.session_state["saved"] = int(label)
                        st.session_state["saved_drawing"] = (png, int(label))
                    except (DrawingsError, ValueError) as e:
                        st.error(f"Could not save the drawing: {e}")
                    else:
                        st.rerun()  # the whole page: "Your drawings" below changes
        st.caption("How the drawing becomes MNIST-like: crop to the ink, bring the stroke to MNIST's pen width, "
                   "scale the longer side to 20 px (anti-aliased), and put the centre of mass at the centre "
                   "of a 28x28 frame, exactly as MNIST's digits were made. A model that deskews then shears the "
                   "digit upright.")

    hw = views.real_handwriting_line(result.extra)
    st.caption(f"**How well this model reads real handwriting:** {hw}, measured when it was trained. "
               "See *The data* for these writers." if hw else
               "**How well this model reads real handwriting:** not measured (it was trained before the project "
               "measured it).")
    draw()
    if "saved" in st.session_state:
        st.toast(f"Saved as a {st.session_state.pop('saved')}. Reset the canvas (bin icon) for the next one.")
    your_drawings(result)


def your_drawings(result):
    st.subheader("Your drawings")
    try:
        _, dx, dy = my_drawings().arrays()
    except DrawingsError as e:
        st.warning(f"Your drawings are unavailable: {e} Drawing and classifying still work.")
        return
    if len(dy) == 0:
        st.caption("Save drawings above and they become a test set of your own handwriting: the page measures "
                   "every model on them, and a training option mixes them into the training set.")
        return
    acc = views.drawings_summary(result.model, dx, dy)
    a, b = st.columns([1, 2])
    a.metric("Read correctly", f"{acc['correct']} / {acc['total']}", f"{acc['correct'] / acc['total']:.0%}",
             delta_color="off", delta_arrow="off")
    b.dataframe(pd.DataFrame(acc["per_digit"]).set_index("digit").T, width="stretch")
    if result.config.user_drawings:
        base = views.drawings_summary(shipped().model, dx, dy)
        st.markdown(
            f"**Effect of training on your drawings:** this model reads {acc['correct']}/{acc['total']} of them "
            f"and {result.test_accuracy:.2%} of the MNIST test set; the shipped model reads "
            f"{base['correct']}/{base['total']} and {shipped().test_accuracy:.2%}. Drawings saved before this "
            "training were in its training data, so only new ones measure it fairly.")
    learn_my_handwriting(result, dx, dy)
    gallery = st.columns(12)
    for i, (img, lab, pred) in enumerate(list(zip(dx, dy, acc["predicted"]))[-12:]):
        gallery[i].image(views.pixel_view(img, 2), caption=f"{lab}" + ("" if lab == pred else f" (read {pred})"))
    e1, e2, _ = st.columns([1, 1, 2])
    e1.download_button("Export (.npz)", to_npz(dx, dy), file_name="my-drawings.npz",
                       help="x: (n, 28, 28) uint8 and y: (n,) uint8, shaped like load_mnist's arrays.")
    with e2.popover("Delete all"):
        st.write(f"Delete all {len(dy)} saved drawings? This cannot be undone.")
        if st.button("Yes, delete them", type="primary"):
            my_drawings().delete()
            st.rerun()


def learn_my_handwriting(result, dx, dy):
    """The button that adapts the model in use to this person's drawings (dx, dy), and what adapting did."""
    config = result.config
    if config.adapted_to:
        base = base_model(config.base)
        report = views.adaptation_report(base, result, dx, dy)
        st.markdown(f"**This model learned your handwriting** from your first {report['learned_from']} drawings "
                    f"(adapted from {'the shipped model' if base.source == 'shipped' else 'your model'}). Before → "
                    "after:")
        st.dataframe(pd.DataFrame(report["rows"]).rename(columns={"what": "read right on"}), hide_index=True,
                     column_config={k: st.column_config.NumberColumn(format="percent") for k in ("before", "after")})
        st.caption("It learned from those drawings, so they flatter it: only drawings saved since measure it "
                   f"fairly ({report['since']} so far). Save more and press the button again to learn from them too.")
    two_digits = len(set(dy.tolist())) >= 2
    st.caption(views.learning_advice(dy))
    a, b = st.columns([1, 1])
    if a.button("Learn my handwriting", type="primary", disabled=not two_digits,
                help="Fine-tunes a copy of the model in use on your saved drawings (about a second), mixed with "
                     "MNIST so it forgets nothing, and makes it your model: nobody else's page changes. "
                     + ("" if two_digits else "Save drawings of at least two different digits first.")):
        try:
            adapted = dataclasses.replace(config.base, adapted_to=my_drawings().fingerprint())
            start_training(adapted, who())
        except (ValueError, DrawingsError, BrokerError) as e:
            st.error(f"Cannot learn your handwriting: {e}")
        else:
            st.session_state["pending"] = adapted
            st.rerun()  # the sidebar shows the progress, then makes it the model in use
    if config.adapted_to and b.button("Back to the model I had"):  # the one it was adapted from
        use_model(None if config.base == shipped().config else config.base)
        st.rerun()


def _number(model, digits, right):
    """More than one digit on the canvas: the number, and each digit as the network read it."""
    number = views.number_reading(model, digits)
    st.session_state["drawn"] = digits[-1]  # the Look inside tab looks at the last digit
    with right:
        st.metric("Prediction", number["number"], f"{len(digits)} digits", delta_color="off", delta_arrow="off")
    st.markdown("**Read as a number.** The drawing was split where its strokes stand apart, left to right, and "
                "each digit prepared exactly as a single digit is:")
    for col, d in zip(st.columns(max(len(digits), 6)), number["digits"]):
        col.image(views.pixel_view(d["image"], 4), caption=f"{d['digit']} ({d['probability']:.0%})", width=112)
    st.caption("Saving works for one digit at a time: reset the canvas and draw a single digit to save it.")

