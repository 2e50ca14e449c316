"""Uniformity of simulation-based calibration ranks (pure: ranks in, table out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["rank_histogram", "rank_uniformity"]


def _check(L: int, bins: int) -> None:
    if (L + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide the {L + 1} possible ranks (0 to L={L})")


def rank_histogram(ranks: pd.DataFrame, L: int, bins: int = 10) -> pd.DataFrame:
    """Counts of the ranks in ``bins`` equal bins per parameter (rows: bins, columns:
    parameters), with ``attrs["expected"]`` the count per bin under uniformity and
    ``attrs["band"]`` its central 99% binomial interval."""
    _check(L, bins)
    width = (L + 1) // bins
    counts = {c: np.bincount(ranks[c].to_numpy() // width, minlength=bins) for c in ranks}
    out = pd.DataFrame(counts, index=pd.RangeIndex(bins, name="bin"))
    n = len(ranks)
    out.attrs["expected"] = n / bins
    out.attrs["band"] = tuple(stats.binom.ppf([0.005, 0.995], n, 1 / bins))
    out.attrs["L"] = L
    return out


def rank_uniformity(ranks: pd.DataFrame, L: int, bins: int = 10) -> pd.DataFrame:
    """Pearson's chi-square test of uniform ranks, per parameter.

    Parameters
    ----------
    ranks : DataFrame
        :attr:`hierarch.frontends.sbc.SBCResult.ranks` (0 to ``L``).
    L : int
        Thinned posterior draws per fit.
    bins : int
        Equal bins of the ``L + 1`` ranks (must divide them).

    Returns
    -------
    DataFrame
        Per parameter: ``chi2``, ``df`` (``bins - 1``), ``p``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = pd.DataFrame({"a": np.arange(100) % 100})
    >>> rank_uniformity(r, L=99)["p"].round(3).tolist()
    [1.0]
    """
    h = rank_histogram(ranks, L, bins)
    rows = []
    for c in h.columns:
        chi2, p = stats.chisquare(h[c].to_numpy())
        rows.append({"parameter": c, "chi2": float(chi2), "df": bins - 1, "p": float(p)})
    return pd.DataFrame(rows).set_index("parameter")
