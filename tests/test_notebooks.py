"""Every notebook in notebooks/ executes top to bottom (with small draws)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# text a notebook must print (from its deterministic, frequentist fits)
EXPECTED_OUTPUT = {
    "01_rats_binomial": ["Tau             :  0.6646"],
    "06_lmertest_inference": [
        "slope: t = 7.945 on 6.27 df, p = 0.000169",  # the lecture's lmerTest table
        "pig 1: 19.5958",
    ],
    "05_glmm_cbpp_and_overdispersion": [
        "log-likelihood: -91.9834",  # cbpp, C(period) + (1 | herd), AGQ with 25 points
        "SD 0.5415  (overdispersion)",  # grouseticks, (1 | INDEX)
    ],
}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_rats_binomial.ipynb"]


def test_every_generator_has_its_notebook():
    made = {p.stem.removeprefix("make_") for p in NOTEBOOK_DIR.glob("make_*.py")}
    assert made <= {p.stem for p in NOTEBOOKS}


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
    # the notebook printed its key results (e.g. 01: the multilevel report of the guide)
    text = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    for expected in EXPECTED_OUTPUT.get(path.stem, []):
        assert expected in text
