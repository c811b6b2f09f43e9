"""How MNIST Draw's processes run: TensorFlow's settings (before its first import, in a process that
trains), glibc's malloc arenas, and a training worker's lower CPU priority than the page's process.
mnist_core imports this first."""

from __future__ import annotations

import os
import signal
import sys

# A quiet log; TensorFlow's oneDNN kernels off: training runs as XLA programs, which never use them,
# and with them on a training peaked 6-20 MiB higher.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

BACKGROUND_NICE = 10  # a training worker's CPU priority (nice: 0 normal, 19 lowest)


def in_background() -> None:
    """Lower this process's CPU priority: every thread it has now (numpy's BLAS pool, started at import)
    and, as Linux's threads inherit their starter's nice value, every thread it starts (TensorFlow's pools
    among them). A worker that keeps both cores busy training then still leaves the page's process a
    drawing's Prediction at once; with nothing else to do, it trains as fast."""
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # not Linux: the process as a whole
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        except (OSError, AttributeError):
            pass  # a thread that has ended, or no setpriority: the operating system shares out the cores


def die_with_parent(parent: int) -> None:
    """In a worker the page started (parent: the page's pid): SIGTERM as soon as the page's process ends,
    however it ends (Linux's PR_SET_PDEATHSIG; elsewhere worker.serve sees its parent gone between
    trainings). Asked for here, after exec, rather than between fork and exec in the page's process (a
    preexec_fn), which may deadlock in a process with threads, as Python's documentation warns."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the page ended before the request: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)


def without_pandas() -> None:
    """In a process that trains and shows nothing (a worker), before Keras is imported: Keras imports pandas
    (and pandas pyarrow) only to accept DataFrames, which nothing here gives it. Marked absent (an import
    of it then fails, as when it is not installed), a two-epoch reference training peaked 722-729 MiB
    instead of 778-784."""
    sys.modules.setdefault("pandas", None)


def give_back_memory() -> None:
    """Return the heap's free pages to the system (glibc's malloc_trim): between a worker's trainings, the
    memory a training freed stays the process's, and the next training's peak stacks on it (after warming
    up, 775 MiB held, 669 trimmed)."""
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


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
