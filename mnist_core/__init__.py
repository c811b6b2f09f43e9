"""MNIST Draw's core: data, preprocessing, the reference network, training, cache, prediction.

Never imports Streamlit. Importing it imports no TensorFlow either: reading drawings, measuring and
looking inside run on numpy copies of the weights (network.py); only training's modules (train,
model, augment's maths, adapt, worker) import TensorFlow, in the processes that train: train is
mnist_core.train.train.
"""

from . import process  # noqa: F401  (first: it sets TensorFlow up before its first import, wherever that is)
from .cache import default_model, load_or_train
from .canvas import canvas_to_digits, canvas_to_mnist
from .config import TrainConfig
from .data import DataError, load_mnist
from .network import Network, TrainResult
from .predict import predict_proba

__all__ = ["load_mnist", "DataError", "TrainConfig", "TrainResult", "Network", "load_or_train",
           "default_model", "predict_proba", "canvas_to_mnist", "canvas_to_digits"]

