"""MNIST Draw's core: data, preprocessing, the reference network, training, cache, prediction.

Never imports Streamlit; the app and the CLI are thin layers over these names.
"""

import os

# Before TensorFlow's first import: a quiet log; and TensorFlow's oneDNN kernels off. Training runs
# as XLA programs, which never use them; with them on, a training peaked ~15 MiB higher.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from .cache import default_model, load_or_train  # noqa: E402
from .canvas import canvas_to_digits, canvas_to_mnist  # noqa: E402
from .config import TrainConfig  # noqa: E402
from .data import DataError, load_mnist  # noqa: E402
from .predict import predict_proba  # noqa: E402
from .train import TrainResult, train  # noqa: E402

__all__ = ["load_mnist", "DataError", "TrainConfig", "TrainResult", "train", "load_or_train",
           "default_model", "predict_proba", "canvas_to_mnist", "canvas_to_digits"]
