"""The install is the one the tests passed with: requirements.lock pins every dependency, Keras at a
version whose safe mode holds against the published bypasses, and this environment is that lock's."""

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

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
