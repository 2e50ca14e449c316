"""Every notebook in notebooks/ executes top to bottom (with small draws), and is stored
executed at its default settings with its setup cell hidden (``make notebooks``)."""

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
    "07_lmertest_inference": [
        "slope: t = 7.945 on 6.27 df, p = 0.000169",  # the lecture's lmerTest table
        "pig 1: 19.5958",
    ],
    "05_glmm_cbpp": ["log-likelihood: -91.9834"],  # C(period) + (1 | herd), AGQ, 25 points
    "06_overdispersion_grouseticks": ["SD 0.5415  (overdispersion)"],  # (1 | INDEX)
    "08_nested_and_crossed": ["batch:cask  hierarch 2.9041", "sample    hierarch 1.9316"],
    "12_robust_and_ordinal": ["threshold 1|2: -1.6237"],  # clmm: -1.62367
}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_rats_binomial.ipynb"]


def test_every_generator_has_its_notebook():
    made = {p.stem.removeprefix("make_") for p in NOTEBOOK_DIR.glob("make_*.py")}
    assert made == {p.stem for p in NOTEBOOKS}


def _text(nb) -> str:
    return "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_is_executed(path):
    # opened in a browser or on a code host, a notebook shows its numbers and figures: every
    # code cell was run, in order, without error, something is shown beyond text, and the
    # setup cell is collapsed
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in cells]
    assert None not in counts, f"{path.name}: cells never run; regenerate with make notebooks"
    assert counts == sorted(counts)
    assert not [o for c in cells for o in c.outputs if o.get("output_type") == "error"]
    rich = ("image/png", "image/gif", "text/html")  # a figure, an animation, the explorer
    assert any(k in o.get("data", {}) for c in cells for o in c.outputs for k in rich)
    assert cells[0].metadata.get("jupyter", {}).get("source_hidden") is True
    assert "hide-input" in cells[0].metadata.get("tags", [])
    # the stored run is at the default settings, and printed the same key results
    for expected in EXPECTED_OUTPUT.get(path.stem, []):
        assert expected in _text(nb), (path.name, expected)


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
    text = _text(nb)
    for expected in EXPECTED_OUTPUT.get(path.stem, []):
        assert expected in text
