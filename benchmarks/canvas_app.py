"""A bare Streamlit page with the drawing canvas alone: a second baseline for the app's start-up."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

st.title("A bare page with the canvas")
st_canvas(height=280, width=560, key="canvas", return_image_data=True)
st.metric("Prediction", "–")
