"""The network: its layers, why each is there, and the code that builds it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.network import deskews


def network_tab(result):
    st.subheader(views.architecture(result.model))
    left, right = st.columns([1.2, 1])
    with left:
        st.dataframe(pd.DataFrame(views.layer_table(result.model)), hide_index=True,  # 401,920 as the text says it
                     column_config={"parameters": st.column_config.NumberColumn(format="localized")})
        st.markdown("**Layers distil representations.** The hidden `Dense(512, relu)` layer computes "
                    "`relu(x · W + b)`: 512 learned combinations of the 784 pixels, each a feature such as a "
                    "stroke in some place. `relu` keeps what is positive, which lets the layers stack into "
                    "something more than one linear map. Its 784 × 512 weights + 512 biases are 401,920 "
                    "parameters.")
        if deskews(result.model):
            st.markdown("**This model deskews first.** Its `Deskew` layer has no weights: it measures each digit's "
                        "slant from its image moments and shears it upright, pivoting on the centre of mass, so the "
                        "dense layers need not learn every digit at every slant. LeCun's MNIST results table has "
                        "rows for classifiers with and without deskewing for this reason.")
        st.markdown("**Softmax gives ten probabilities that sum to 1.** The last layer scores each digit and "
                    "softmax turns the ten scores into probabilities: the bar chart under *Draw*.")
    with right:
        st.markdown("**Compiling: how it learns**")
        st.markdown("- **Loss: categorical cross-entropy.** How wrong the probabilities are: minus the log of "
                    "the probability given to the true digit. Training lowers it.\n"
                    "- **Optimizer: RMSprop.** How the weights move: a step down the loss's gradient, scaled "
                    "per weight by a running average of recent gradient sizes.\n"
                    "- **Metric: accuracy.** What people care about: the share of images whose most probable "
                    "digit is the right one. It is watched, not optimised.")
    # The code at full width: in a half-width column it wrapped mid-word and lost its indentation.
    st.code(views.network_code(), language="python")
    st.caption("The code that builds every model on this page (`mnist_core/model.py`). With no options it is "
               "the reference network: Input(784) → Dense(512, relu) → Dense(10, softmax). The sidebar's "
               "options add `Deskew` in front and `Dropout` after the hidden layer; the table lists this "
               "model's own layers, by the names the code gives them.")
