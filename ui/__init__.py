"""The Streamlit page, one module per part: page.py only lays them out. Widgets and calls into
mnist_core only; no array maths and no Keras here."""
