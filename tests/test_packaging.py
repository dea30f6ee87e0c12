"""The package as a user installs it: a wheel built from the checkout, in a fresh virtual environment.

The wheel is installed without its dependencies, which come from the test
environment's site-packages through a .pth file (installing torch and the
rest again would take minutes and add nothing); the project's own files come
only from the wheel, and the commands run outside the checkout.
"""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; yields its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", ROOT, cwd=tmp
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("*.whl")
    venv = tmp / "venv"
    assert run(sys.executable, "-m", "venv", venv, cwd=tmp).returncode == 0
    (purelib,) = venv.glob("lib/python*/site-packages")
    (purelib / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=tmp)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv / "bin"


def test_the_wheel_carries_its_default_files_and_runs_outside_the_checkout(installed, tmp_path):
    where = run(installed / "python", "-c", "import kb, kb.defaults; print(kb.__file__)", cwd=tmp_path)
    assert where.returncode == 0 and str(ROOT) not in where.stdout, where.stdout + where.stderr
    demo = run(installed / "kb", "demo", "--no-serve", "--db", "demo.db", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "analyzed:" in demo.stderr  # people.yml, topics.yml, stances.yml, relevance.yml were found
    found = run(installed / "kb", "search", "--db", "demo.db", "--mode", "keyword", "linear algebra", cwd=tmp_path)
    assert found.returncode == 0 and "linear" in found.stdout.lower(), found.stderr[-2000:]
    assert "Traceback" not in demo.stderr + found.stderr
