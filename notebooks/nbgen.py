"""Shared helpers of the ``make_*.py`` notebook generators: cells are written as Python
strings, the notebook is rebuilt with fixed cell ids and, with ``--execute``, run at its
default settings and stored with its outputs (``make notebooks`` does this for every one).

The first code cell of every notebook (imports, the test harness's environment variables
and warning filters) is stored with its source hidden: Jupyter shows it collapsed, so
students meet the lesson first; one click shows it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip("\n"))


#: the first line of every checks() cell
CHECKS_HEADER = (
    "# The numbers quoted in the text above, recomputed: the notebook stops here if a\n"
    "# sentence no longer matches its output.\n"
    "def says(value, text, fmt):\n"
    "    assert format(value, fmt) == text, f\"the text says {text}, the output is {value:{fmt}}\"\n"
    "\n\n"
)


def checks(text: str) -> tuple[str, str]:
    """A collapsed code cell asserting the numbers that the prose quotes."""
    return ("checks", CHECKS_HEADER + textwrap.dedent(text).strip("\n"))


#: environment variables of quick test runs; an executed, stored notebook has none of them
HARNESS_VARIABLES = ("HIERARCH_NB_DRAWS", "HIERARCH_NB_CHAINS", "HIERARCH_NB_SIMS")


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    out = []
    first_code = True
    for i, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src) if kind == "markdown" else new_code_cell(src)
        cell["id"] = f"cell-{i:02d}"  # fixed ids: regenerating gives an identical file
        if kind == "checks":  # collapsed: for the teacher, not part of the lesson
            cell["metadata"] = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}
        elif kind == "code" and first_code:
            # the setup cell: collapsed in Jupyter (and hidden by Jupyter Book's tag)
            cell["metadata"] = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}
            first_code = False
        out.append(cell)
    nb = new_notebook(
        cells=out,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    return nb


def execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run every cell at the notebook's default settings (no quick-run variables)."""
    import os

    import nbclient

    saved = {k: os.environ.pop(k) for k in (*HARNESS_VARIABLES, "MPLBACKEND") if k in os.environ}
    # the inline backend: every figure is stored in the notebook as a PNG
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = nbclient.NotebookClient(
            nb,
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
            record_timing=False,  # no timestamps in the stored file
        )
        client.execute()
    finally:
        os.environ.pop("MPLBACKEND", None)
        os.environ.update(saved)
    return nb


def main(cells: list[tuple[str, str]], default_out: Path, argv: list[str]) -> int:
    """Write the notebook to the first argument or ``default_out``; with ``--execute``, run it
    first and store it with its outputs."""
    args = [a for a in argv[1:] if a != "--execute"]
    out = Path(args[0]) if args else default_out
    nb = build(cells)
    if "--execute" in argv:
        nb = execute(nb, out.parent)
    nbformat.write(nb, out)
    print(f"wrote {out}" + (" (executed)" if "--execute" in argv else ""))
    return 0
