"""A bare Streamlit page: the baseline for the app's start-up (benchmarks/speed.py)."""

import streamlit as st

st.title("A bare Streamlit page")
st.metric("Prediction", "–")
