"""Every Python block of the README runs, in order, in one namespace (as a reader would paste
them), with small draws through ``HIERARCH_DRAWS`` / ``HIERARCH_TUNE`` / ``HIERARCH_CHAINS``.
A README snippet can then never break silently."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)

pytestmark = pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # small draws


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


def test_every_readme_python_block_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("HIERARCH_DRAWS", "200")
    monkeypatch.setenv("HIERARCH_TUNE", "200")
    monkeypatch.setenv("HIERARCH_CHAINS", "2")
    monkeypatch.chdir(tmp_path)  # files a block writes (a saved fit) land here
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(BLOCKS, start=1):
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except Exception as err:  # say which block broke, with its text
            raise AssertionError(f"README python block {i} failed: {err!r}\n\n{block}") from err
        finally:
            plt.close("all")
    # the blocks did their work: the tour's fits exist and report
    assert round(namespace["ml"].tau(), 4) == 0.6646  # immr's rats tau (DATA.md)
    assert (tmp_path / "rats.nc").is_file()
