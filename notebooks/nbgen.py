"""Shared helpers of the ``make_*.py`` notebook generators: cells are written as Python
strings, the notebook is rebuilt with fixed cell ids and no outputs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip("\n"))


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    out = []
    for i, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src) if kind == "markdown" else new_code_cell(src)
        cell["id"] = f"cell-{i:02d}"  # fixed ids: regenerating gives an identical file
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


def main(cells: list[tuple[str, str]], default_out: Path, argv: list[str]) -> int:
    """Write the notebook to ``argv[1]`` or ``default_out``."""
    out = Path(argv[1]) if len(argv) > 1 else default_out
    nbformat.write(build(cells), out)
    print(f"wrote {out}")
    return 0
