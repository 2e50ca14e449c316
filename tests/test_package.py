"""The package as a user meets it: no noise on the screen (issue 11, item 11)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.skipif(importlib.util.find_spec("nutpie") is None, reason="the filter is nutpie's")
def test_no_blas_warning_after_import(tmp_path):
    """PyTensor's BLAS message means nothing when nutpie samples: after ``import hierarch``
    the first C compilation of a matrix product prints nothing (a fresh compile directory, a
    fresh process, so the message would be shown)."""
    code = (
        "import warnings; warnings.simplefilter('default')\n"
        "import hierarch, pytensor, pytensor.tensor as pt\n"
        "pytensor.function([], pt.dot(pt.ones((3, 3)), pt.ones(3)))()\n"
    )
    env = {"PYTENSOR_FLAGS": f"base_compiledir={tmp_path}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "BLAS" not in out.stderr


def test_no_arviz_banner_on_import(tmp_path):
    """ArviZ's daily FutureWarning banner (shown once a day per user cache) is not shown by
    ``import hierarch``, in a fresh cache where ArviZ alone shows it."""
    code = "import warnings; warnings.simplefilter('default')\nimport {}\n"

    def run(module: str, cache: str):
        env = {"XDG_CACHE_HOME": str(tmp_path / cache), "HOME": str(tmp_path / cache)}
        return subprocess.run(
            [sys.executable, "-c", code.format(module)],
            capture_output=True,
            text=True,
            env={**env, "PATH": "/usr/bin:/bin"},
        )

    assert "ArviZ is undergoing a major refactor" in run("arviz", "a").stderr  # it exists
    out = run("hierarch", "b")
    assert out.returncode == 0, out.stderr
    assert "ArviZ is undergoing" not in out.stderr


def test_a_frequentist_fit_loads_no_bayesian_stack():
    """``import hierarch`` is lazy and a REML fit never needs PyMC, ArviZ or matplotlib (at
    InstEval size they were ~0.3 GiB of the process's peak memory, and seconds of import)."""
    code = (
        "import sys\n"
        "import hierarch\n"
        "heavy = ('pymc', 'arviz', 'matplotlib', 'pytensor')\n"
        "assert not [m for m in heavy if m in sys.modules], 'import hierarch'\n"
        "d = hierarch.load_dataset('sleepstudy')\n"
        "hierarch.model('Reaction ~ Days + (Days | Subject)', d).fit(method='reml')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
