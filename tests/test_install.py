"""The install is the one the tests passed with: requirements.lock pins every dependency, Keras at a
version whose safe mode holds against the published bypasses, and this environment is that lock's;
the files just installed are not left in the page cache."""

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
KERAS_SAFE = Version("3.14")  # CVE-2025-1550 (3.9), CVE-2025-8747 and CVE-2025-9906 (3.11), CVE-2026-1462 (3.14)


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def _locked() -> dict[str, str]:
    """name -> pinned version, of the lock's lines whose markers hold here."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                pins[req.name.lower()] = str(req.specifier).removeprefix("==")
    return pins


def test_keras_is_required_at_a_safe_version_and_locked_at_one():
    keras = [r for r in _declared() if r.name == "keras"]
    assert keras and all(Version(str(s.version)) >= KERAS_SAFE for s in keras[0].specifier if s.operator == ">=")
    assert keras[0].specifier.contains(str(KERAS_SAFE)) and not keras[0].specifier.contains("3.13.9")
    assert Version(_locked()["keras"]) >= KERAS_SAFE


def test_every_dependency_is_pinned_in_the_lock_within_its_range_and_installed_as_pinned():
    pins = _locked()
    env = default_environment()
    for req in _declared():
        if req.marker is not None and not req.marker.evaluate(env):
            continue  # another platform's (tensorflow where tensorflow-cpu is not built)
        name = req.name.lower()
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(req.specifier))
        assert re.sub(r"[-_.]+", "-", version(name)) == re.sub(r"[-_.]+", "-", pins[name]), name


def _cached_pages(path: Path) -> int:
    """How many of a file's pages are in the page cache: mincore(2) on a mapping of it."""
    import ctypes
    import mmap
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    with path.open("rb") as f:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
    assert address not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
    vector = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
    try:
        assert libc.mincore(address, size, vector) == 0, ctypes.get_errno()
    finally:
        libc.munmap(address, size)
    return sum(v & 1 for v in vector)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here: make setup skips the step too")
def test_make_setup_leaves_no_page_of_the_files_it_has_just_written_in_the_page_cache(tmp_path):
    """tools/settle_install.py, which make setup runs on the virtualenv (it says why)."""
    written = tmp_path / "lib" / "libsomething.so"
    written.parent.mkdir()
    written.write_bytes(np.random.default_rng(0).bytes(4 << 20))
    assert _cached_pages(written) > 0  # a file just written is cached
    subprocess.run([sys.executable, str(ROOT / "tools" / "settle_install.py"), str(tmp_path)], check=True)
    assert _cached_pages(written) == 0
