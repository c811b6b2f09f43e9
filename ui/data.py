"""The data: MNIST's 70,000 digits and real pen-written digits, and how they are prepared."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.handwriting import shipped_split

from .state import data, handwriting


def data_tab(_result):
    (x_train, y_train), (x_test, y_test) = data()
    st.subheader("MNIST: 70,000 handwritten digits")
    a, b, c = st.columns(3)
    a.metric("Training images", f"{len(x_train):,}")
    b.metric("Test images", f"{len(x_test):,}")
    c.metric("Image size", f"{x_train.shape[1]}x{x_train.shape[2]}", "grayscale 0-255", delta_color="off",
             delta_arrow="off")
    st.markdown(f"`x_train` is a uint8 array shaped `{x_train.shape}`, `y_train` holds its labels, "
                f"shaped `{y_train.shape}`; the test set is `{x_test.shape}`. The network learns from the "
                "training set only; the test set measures it on digits it has never seen.")
    left, right = st.columns([1, 1.4])
    with left:
        st.markdown("**How many of each digit (training set)**")
        st.bar_chart(pd.DataFrame(views.label_counts(y_train)), x="digit", y="count", height=260)
    with right:
        st.markdown("**Sample training digits**")
        start = st.session_state.get("sample_start", 0)
        if st.button("Show other samples"):
            start = st.session_state["sample_start"] = (start + 16) % len(x_train)
        cols = st.columns(8)
        for i in range(16):
            cols[i % 8].image(views.pixel_view(x_train[start + i], 3), caption=f"label {y_train[start + i]}")
    st.markdown("**Preparing the data, on the first training image**")
    ex = views.preparation_example(x_train[0], int(y_train[0]))
    p1, p2, p3 = st.columns([1, 1.2, 1.2])
    p1.image(views.pixel_view(ex["pixels"], 5), caption=f"28x28 pixels, 0-255, label {y_train[0]}", width=140)
    p2.markdown(f"**Images:** each 28x28 image is reshaped to one row of {ex['flat_len']} numbers "
                "(`reshape((60000, 28 * 28))`) and divided by 255 so values lie in [0, 1] "
                "(`astype('float32') / 255`). The first inked pixels of this row: "
                + ", ".join(f"[{i}] {v}" for i, v in ex["flat_first_ink"]) + " …")
    p3.markdown(f"**Labels:** the digit {y_train[0]} becomes a one-hot vector of ten "
                f"(`to_categorical`): `{ex['one_hot']}`, the answer the softmax output should match.")
    st.caption("MNIST © Yann LeCun and Corinna Cortes, CC BY-SA 3.0; shipped in assets/mnist with its license.")
    real_handwriting()


def real_handwriting():
    pen = handwriting()
    split = shipped_split()
    held = len(set(split.test.writers.tolist()))
    writers = len(set(pen.writers.tolist()))
    st.subheader(f"Real handwriting: {len(pen):,} digits written with a pen by {writers} people")
    st.markdown("MNIST's writers were American census staff and students, writing on paper forms. People "
                "elsewhere write some digits differently: 1s with a long up-stroke or a foot, 0s with a slash, "
                "crossed 7s. These digits were written on tablets by people from many countries, and are kept as "
                "pen strokes, so training can draw them as this page's canvas draws yours, at a fresh size and "
                f"brush each time (the sidebar's *Real handwriting* setting). {held} of the writers never train and "
                "never chose a setting: their digits, drawn on this page's canvas and read as the page reads "
                "yours, measure how a model reads people it has never seen (the figure under *Draw*). Another "
                f"{len(set(split.validation.writers.tolist()))} are the ones settings were chosen on.")
    samples = views.handwriting_samples(pen)
    cols = st.columns(10)
    for i, s in enumerate(samples):
        cols[i % 10].image(s["image"], caption=f"{s['label']} · {s['writer'].split('/')[0]}", clamp=True)
    st.caption("UNIPEN on-line handwriting, release train_r01_v07, category 1a (International Unipen Foundation, "
               "1999; Guyon et al., Proc. 12th ICPR, 1994), CC BY 4.0; shipped in assets/unipen with its "
               "attribution. The small print under each digit names the contributing institution's set.")
