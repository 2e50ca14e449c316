"""The shrinkage explorer: one self-contained web page that simulates, fits and compares.

:func:`explore` writes the page of ``explorer.html`` (beside this module) with its starting
settings.  The page needs no server and no network: its JavaScript simulates data with the
generator of :mod:`hierarch.core.portable_random`, fits the random-intercept model by REML,
computes the Bayesian posterior on the grid of :mod:`hierarch.bayes.grid` and draws the
complete, no, partial pooling and Bayesian views in SVG.  Its numbers equal
:func:`hierarch.simulate.explorer_data`, :func:`hierarch.simulate.pooling_estimates` (the REML
twin) and :func:`hierarch.simulate.pooling_mse` for the same settings; a browser test checks it.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from hierarch.core.validate import explorer_settings

__all__ = ["Explorer", "explore"]


class Explorer:
    """The explorer page: save it, or display it in a notebook.

    Attributes
    ----------
    settings : dict
        The page's starting settings.
    html : str
        The whole page.
    """

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        template = (
            resources.files("hierarch.frontends").joinpath("explorer.html").read_text("utf-8")
        )
        # "</" never appears in the JSON of numbers and view names, so the script element is safe
        self.html = template.replace("__SETTINGS__", json.dumps(settings))

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (an ``.html`` file) and return the path."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"the explorer is a web page: give a path ending in .html, got {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and styles apart from the notebook's
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            'style="width: 100%; height: 1150px; border: 0" '
            'title="hierarch shrinkage explorer"></iframe>'
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"Explorer({args})"


def explore(
    J: int = 16,
    n_mean: int = 8,
    sigma_u: float = 1.5,
    sigma_e: float = 2.0,
    balance: float = 0.25,
    seed: int = 1,
    n_sims: int = 100,
    view: str = "partial",
    show_truth: bool = False,
) -> Explorer:
    """The interactive shrinkage explorer, as a page that works offline in any browser.

    Sliders for the number of clusters ``J``, the mean cluster size ``n_mean``, the
    between- and within-cluster SDs ``sigma_u`` and ``sigma_e``, the balance of cluster sizes
    and the seed; views of complete, no and partial pooling (REML) and the Bayesian estimate
    with the posterior of tau; the mean squared error of each strategy for this data set and
    averaged over ``n_sims`` simulated data sets; the "Try it" scenarios as presets and the
    hospital question worked through.  In a notebook the returned object displays inline.

    Parameters
    ----------
    J, n_mean, sigma_u, sigma_e, balance, seed :
        The starting settings (the ranges of the page's sliders: J 2-100, n_mean 2-50,
        sigma_u 0-5, sigma_e 0.1-10, balance 0-1, seed 1-999).
    n_sims : {20, 100, 500}
        Data sets in the averaged MSE.
    view : {"complete", "none", "partial", "bayes"}
        The view shown first.
    show_truth : bool
        Mark each cluster's true mean.

    Returns
    -------
    Explorer
        ``.save("explorer.html")`` writes the page; ``.html`` holds it.

    Examples
    --------
    >>> import hierarch
    >>> page = hierarch.explore(J=8, sigma_u=0.5)
    >>> page.settings["J"], "<svg" in page.html
    (8, True)
    """
    settings = explorer_settings(
        J=J,
        n_mean=n_mean,
        sigma_u=sigma_u,
        sigma_e=sigma_e,
        balance=balance,
        seed=seed,
        n_sims=n_sims,
        view=view,
        show_truth=show_truth,
    )
    return Explorer(settings)
