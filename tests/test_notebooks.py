"""Every notebook in notebooks/ executes top to bottom (with small draws)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_rats_binomial.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch, tmp_path):
    monkeypatch.setenv("HIERARCH_NB_DRAWS", os.environ.get("HIERARCH_NB_DRAWS", "300"))
    monkeypatch.setenv("HIERARCH_NB_CHAINS", os.environ.get("HIERARCH_NB_CHAINS", "2"))
    monkeypatch.setenv("HIERARCH_NB_SIMS", os.environ.get("HIERARCH_NB_SIMS", "10"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors == []
    # the notebook printed the multilevel report of the guide
    text = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "Tau             :  0.6646" in text or path.stem != "01_rats_binomial"
