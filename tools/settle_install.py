"""python tools/settle_install.py DIR: write DIR's files to disk and drop them from the page cache.

`make setup` runs it on the virtualenv it has just installed. Why: pip has just written TensorFlow's
shared libraries, and the kernel (6.18 here) keeps freshly written files cached in large pieces that a
process maps whole. Right after an install `import tensorflow, keras` alone read 705 MiB RSS (RssFile
481), and 567 (RssFile 343) once these files had left the cache, as an install hours old reads;
training workers peaked at 817-870 MiB in a fresh install, at 711-762 in an older one (2026-12-04).
Read back from disk, they are cached as a process reads them. The first import after this one reads
them from disk: ~1 s more, once.
"""

import os
import sys


def settle(folder: str) -> int:
    """Write every file under folder to disk and drop its pages from the page cache -> how many files."""
    os.sync()  # dirty pages stay cached: write them first
    dropped = 0
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                dropped += 1
            finally:
                os.close(fd)
    return dropped


if __name__ == "__main__":
    if not hasattr(os, "posix_fadvise"):  # macOS: nothing to do
        sys.exit(0)
    print(f"settle_install: {settle(sys.argv[1])} files written and dropped from the page cache")
