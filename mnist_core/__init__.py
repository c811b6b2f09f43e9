"""MNIST Draw's core: data, preprocessing, the reference network, training, cache, prediction.

Never imports Streamlit; the app and the CLI are thin layers over these names.
"""

from . import process  # noqa: F401  (first: it sets TensorFlow up before its first import)
from .cache import default_model, load_or_train
from .canvas import canvas_to_digits, canvas_to_mnist
from .config import TrainConfig
from .data import DataError, load_mnist
from .predict import predict_proba
from .train import TrainResult, train

__all__ = ["load_mnist", "DataError", "TrainConfig", "TrainResult", "train", "load_or_train",
           "default_model", "predict_proba", "canvas_to_mnist", "canvas_to_digits"]
