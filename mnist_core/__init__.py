"""MNIST Draw's core: data, preprocessing, the reference network, training, cache, prediction.

Never imports Streamlit; the app and the CLI are thin layers over these names.
"""

import os

# Before TensorFlow's first import: a quiet log; and TensorFlow's oneDNN kernels off. Training runs
# as XLA programs, which never use them; with them on, a training peaked ~15 MiB higher.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _two_malloc_arenas() -> None:
    """glibc gives threads malloc arenas of their own, up to 8 per core. Every training runs in a thread
    of its own, and the model it leaves behind pins memory in that thread's arena: 30 trainings asked
    for at once peaked 150-190 MiB above 12. With two arenas, 19 MiB above (make bench), as fast."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return  # the user's choice
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX, 2
    except (OSError, AttributeError):
        pass  # not glibc: its own allocator's ways


_two_malloc_arenas()

from .cache import default_model, load_or_train  # noqa: E402
from .canvas import canvas_to_digits, canvas_to_mnist  # noqa: E402
from .config import TrainConfig  # noqa: E402
from .data import DataError, load_mnist  # noqa: E402
from .predict import predict_proba  # noqa: E402
from .train import TrainResult, train  # noqa: E402

__all__ = ["load_mnist", "DataError", "TrainConfig", "TrainResult", "train", "load_or_train",
           "default_model", "predict_proba", "canvas_to_mnist", "canvas_to_digits"]
