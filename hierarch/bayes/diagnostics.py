"""Convergence diagnostics reported in plain words."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # ArviZ loads when a fit is checked, not on import
    import arviz as az

__all__ = ["ConvergenceWarning", "Diagnostics", "check_convergence"]

RHAT_MAX = 1.01
ESS_MIN = 400


class ConvergenceWarning(UserWarning):
    """The sampler's output does not pass hierarch's convergence checks."""


@dataclass
class Diagnostics:
    """R-hat, bulk and tail ESS per parameter, divergences, and plain-words problems."""

    table: pd.DataFrame
    divergences: int
    n_draws: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failed(self) -> list[str]:
        """The checks that failed, each with the parameters that failed it."""
        t = self.table
        out = []
        bad = t.index[t["r_hat_max"] > RHAT_MAX].tolist()
        if bad:
            out.append(f"R-hat above {RHAT_MAX} for {', '.join(bad)}")
        bad = t.index[(t["ess_bulk_min"] < ESS_MIN) | (t["ess_tail_min"] < ESS_MIN)].tolist()
        if bad:
            out.append(f"ESS below {ESS_MIN} for {', '.join(bad)}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out

    def __str__(self) -> str:
        if self.ok:
            head = (
                f"Convergence: OK (R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_MIN}, "
                "no divergences)"
            )
        else:
            head = "Convergence: FAILED (" + "; ".join(self.failed) + ")"
        lines = [head, f"  divergent transitions: {self.divergences} of {self.n_draws} draws"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def check_convergence(
    idata: az.InferenceData,
    var_names: Sequence[str],
    *,
    warn: bool = True,
    stacklevel: int = 2,
) -> Diagnostics:
    """Check R-hat, ESS and divergences of ``var_names``; warn in plain words if they fail.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior draws with a ``sample_stats`` group.
    var_names : sequence of str
        Parameters to check (usually the hyperparameters and group effects).
    warn : bool
        Emit a :class:`ConvergenceWarning` describing what failed and what to try.
    stacklevel : int
        Passed to :func:`warnings.warn` so the warning points at the user's call.
    """
    post = idata.posterior[list(var_names)]
    with warnings.catch_warnings():
        # constant elements (a correlation matrix's unit diagonal) give NaN, which is ignored
        warnings.simplefilter("ignore", RuntimeWarning)
        import arviz as az

        rhat = az.rhat(post)
        ess_bulk = az.ess(post, method="bulk")
        ess_tail = az.ess(post, method="tail")
    rows = []
    for name in var_names:
        r, b, t = (np.atleast_1d(d[name].values).ravel() for d in (rhat, ess_bulk, ess_tail))
        rows.append(
            {
                "parameter": name,
                "r_hat_max": float(np.nanmax(r)),
                "ess_bulk_min": float(np.nanmin(b)),
                "ess_tail_min": float(np.nanmin(t)),
            }
        )
    table = pd.DataFrame(rows).set_index("parameter")
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])
    div = 0
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        div = int(idata.sample_stats["diverging"].sum())

    problems: list[str] = []
    bad_rhat = table.index[table["r_hat_max"] > RHAT_MAX].tolist()
    if bad_rhat:
        problems.append(
            f"the chains disagree (R-hat above {RHAT_MAX}) for {', '.join(bad_rhat)}: run longer "
            "(more tune and draws) or check the model for weakly identified parameters"
        )
    low_ess = table.index[
        (table["ess_bulk_min"] < ESS_MIN) | (table["ess_tail_min"] < ESS_MIN)
    ].tolist()
    if low_ess:
        problems.append(
            f"too few effective draws (ESS below {ESS_MIN}) for {', '.join(low_ess)}: increase "
            "draws, or try another parameterization"
        )
    if div:
        problems.append(
            f"{div} divergent transitions: the sampler met curvature it could not follow, so the "
            "posterior may be biased; raise target_accept (e.g. 0.95 or 0.99) or use a more "
            "informative prior on the group SD"
        )
    diag = Diagnostics(table=table, divergences=div, n_draws=n_draws, problems=problems)
    if warn and problems:
        warnings.warn(
            "The sampler may not have converged:\n" + "\n".join(f"- {p}" for p in problems),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return diag
