"""How a process that serves and trains runs: TensorFlow's settings (before its first import), glibc's
malloc arenas, and training's maths at a lower CPU priority than the threads that answer people.
mnist_core imports this first."""

from __future__ import annotations

import os
import threading

# A quiet log; TensorFlow's oneDNN kernels off: training runs as XLA programs, which never use them,
# and with them on a training peaked 6-20 MiB higher.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

BACKGROUND_NICE = 10  # the CPU priority of training's threads (Linux's nice: 0 normal, 19 lowest)


def in_background() -> None:
    """Lower the calling thread's CPU priority, and so that of the threads it starts (Linux: a nice
    value per thread). A training that keeps both cores busy then still leaves a drawing's
    Prediction its turn at once; with nothing else to do, it trains as fast."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (OSError, AttributeError):
        pass  # not Linux: the operating system shares out the cores as it will


def _tensorflow_in_background() -> None:
    """Start TensorFlow's runtime from a thread in_background: the thread pools that do the training's
    maths are made with it and inherit its priority (training kept a drawing's Prediction waiting
    p50 426-449 ms, against ~300 with no training)."""
    def start():
        in_background()
        import tensorflow as tf
        tf.constant(0)  # the runtime and its thread pools
    thread = threading.Thread(target=start, name="tensorflow-start")
    thread.start()
    thread.join()


def _two_malloc_arenas() -> None:
    """glibc gives threads malloc arenas of their own, up to 8 per core. Every training runs in a thread
    of its own, and the model it leaves behind pinned memory in that thread's arena: 30 trainings asked
    for at once peaked 150-190 MiB above 12; with two arenas, 17-19 MiB above (make bench), as fast."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return  # the user's choice
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX, 2
    except (OSError, AttributeError):
        pass  # not glibc: its own allocator's ways


_two_malloc_arenas()
_tensorflow_in_background()
