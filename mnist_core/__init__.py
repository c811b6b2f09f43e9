"""MNIST Draw's core: data, preprocessing, the reference network, training, cache, prediction.

Never imports Streamlit; the app and the CLI are thin layers over these names.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow's first import: quiet log

from .cache import default_model, load_or_train  # noqa: E402
from .canvas import canvas_to_digits, canvas_to_mnist  # noqa: E402
from .config import TrainConfig  # noqa: E402
from .data import DataError, load_mnist  # noqa: E402
from .predict import predict_proba  # noqa: E402
from .train import TrainResult, train  # noqa: E402

__all__ = ["load_mnist", "DataError", "TrainConfig", "TrainResult", "train", "load_or_train",
           "default_model", "predict_proba", "canvas_to_mnist", "canvas_to_digits"]
