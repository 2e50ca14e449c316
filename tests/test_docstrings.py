"""Every example in the package's docstrings runs and prints what it says (the numpydoc
"Examples" of the public API; ``# doctest: +SKIP`` marks the few that write files)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hierarch

MODULES = sorted(m.name for m in pkgutil.walk_packages(hierarch.__path__, "hierarch."))


def test_the_package_has_examples():
    finder = doctest.DocTestFinder()
    n = sum(len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name)))
    assert n >= 50, n


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    result = doctest.testmod(
        importlib.import_module(name),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        report=True,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
