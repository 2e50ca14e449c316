"""The known-standard-error hierarchy (meta-analysis, "eight schools"):

.. math:: y_j \\sim N(\\theta_j, s_j^2), \\qquad \\theta_j \\sim N(\\mu, \\tau^2)

with the ``s_j`` known.  Frequentist: ML or REML for ``(mu, tau)`` on the marginal
likelihood ``y_j ~ N(mu, tau^2 + s_j^2)``, with the empirical-Bayes group estimates
``mu + B_j (y_j - mu)``, ``B_j = tau^2 / (tau^2 + s_j^2)``.  Bayesian: a non-centred PyMC
model sampled with NUTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from hierarch import _validate as v
from hierarch.priors import Prior, resolve_priors
from hierarch.results import BayesFit
from hierarch.sampling import SamplerSettings, sample

__all__ = ["NormalMeansBayesFit", "NormalMeansML", "normal_means"]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


@dataclass
class NormalMeansML:
    """ML/REML fit of the known-SE hierarchy.

    Attributes
    ----------
    mu, se_mu, tau
        Population mean, its standard error, and the between-group SD.
    estimates
        Per group: ``group``, ``y``, ``se``, ``pooling_weight`` (``B_j``), ``estimate``
        (shrunken), ``lower``, ``upper`` (``estimate +/- z sqrt(B_j s_j^2 + (1-B_j)^2 se_mu^2)``).
    """

    method: str
    groups: pd.DataFrame
    mu: float
    se_mu: float
    tau: float
    loglik: float
    estimates: pd.DataFrame
    conf_level: float

    @property
    def prediction_int(self) -> tuple[float, float]:
        """Interval for a new group's true effect, ``mu +/- z sqrt(tau^2 + se_mu^2)``."""
        h = _z(self.conf_level) * np.sqrt(self.tau**2 + self.se_mu**2)
        return self.mu - h, self.mu + h

    def __str__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lo, hi = self.prediction_int
        z = _z(self.conf_level)
        lines = [
            f"Normal hierarchy with known standard errors ({self.method.upper()})",
            "",
            f"  Mu              :  {self.mu:.4f}  [{self.mu - z * self.se_mu:.4f}, "
            f"{self.mu + z * self.se_mu:.4f}]  ({pct} CI)",
            f"  Tau             :  {self.tau:.4f}  (between-group SD)",
            f"  Prediction int  :  [{lo:.4f}, {hi:.4f}]  ({pct} PI for a new group)",
            f"  Log-likelihood  :  {self.loglik:.4f}",
        ]
        if self.tau == 0.0:
            lines += [
                "  Note: boundary (singular) fit: tau is estimated at zero; the estimates vary",
                "  no more than their standard errors explain, so the groups are pooled fully",
            ]
        lines += [
            "",
            "Group estimates (partial pooling):",
            self.estimates.round(4).to_string(index=False),
        ]
        return "\n".join(lines)

    __repr__ = __str__


def _ml(y, s, reml: bool):
    def profile(tau):
        w = 1 / (tau**2 + s**2)
        mu = np.sum(w * y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(2 * np.pi / w) + w * (y - mu) ** 2)
        if reml:
            ll += -0.5 * np.log(np.sum(w)) + 0.5 * np.log(2 * np.pi)
        return ll, mu, w

    upper = 10 * (np.ptp(y) + np.max(s))
    res = optimize.minimize_scalar(
        lambda t: -profile(t)[0], bounds=(0.0, upper), method="bounded", options={"xatol": 1e-10}
    )
    tau = float(res.x)
    if -profile(0.0)[0] <= res.fun + 1e-9:  # the boundary is (numerically) as good
        tau = 0.0
    ll, mu, w = profile(tau)
    return tau, float(mu), float(np.sqrt(1 / np.sum(w))), float(ll)


def _default_priors(y: np.ndarray, s: np.ndarray) -> dict[str, Prior]:
    """``mu ~ Normal(mean(y), 2.5 * scale)`` and ``tau ~ HalfNormal(scale)`` with
    ``scale = sqrt(var(y) + mean(s^2))``, the spread of the estimates on the data's scale."""
    scale = float(np.sqrt(np.var(y, ddof=1) + np.mean(s**2)))
    return {
        "mu": Prior("Normal", mu=float(np.mean(y)), sigma=2.5 * scale),
        "tau": Prior("HalfNormal", sigma=scale),
    }


class NormalMeansBayesFit(BayesFit):
    """Bayesian known-SE hierarchy: InferenceData plus spec."""

    model_name = "normal_means"
    check_vars = ("mu", "tau", "z")
    method = "bayes"

    def draws(self, name: str) -> np.ndarray:
        return (
            self.idata.posterior[name]
            .stack(sample=("chain", "draw"))
            .transpose("sample", ...)
            .values
        )

    @property
    def estimates(self) -> pd.DataFrame:
        th = self.draws("theta")
        a = (1 - self.conf_level) / 2
        lo, hi = np.quantile(th, [a, 1 - a], axis=0)
        y = self.idata.observed_data["y"].values
        s = self.idata.constant_data["se"].values
        return pd.DataFrame(
            {
                "group": self.idata.posterior["group"].values,
                "y": y,
                "se": s,
                "estimate": th.mean(0),
                "lower": lo,
                "upper": hi,
            }
        )

    @property
    def mu(self) -> float:
        return float(self.draws("mu").mean())

    @property
    def tau(self) -> float:
        return float(self.draws("tau").mean())

    def __str__(self) -> str:
        a = (1 - self.conf_level) / 2
        lines = ["Normal hierarchy with known standard errors (Bayesian, posterior means)", ""]
        for name in ("mu", "tau"):
            x = self.draws(name)
            lo, hi = np.quantile(x, [a, 1 - a])
            lines.append(f"  {name:<4s}:  {x.mean():.4f}  [{lo:.4f}, {hi:.4f}]")
        lines += [
            "",
            str(self.diagnostics()),
            "",
            "Group estimates (partial pooling):",
            self.estimates.round(4).to_string(index=False),
        ]
        return "\n".join(lines)

    __repr__ = __str__


def normal_means(
    estimate: str,
    se: str,
    group: str,
    data: pd.DataFrame,
    *,
    method: str = "reml",
    conf_level: float = 0.95,
    priors: dict[str, Any] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.95,
    sampler: str = "auto",
    random_seed: int | None = None,
    progressbar: bool | None = None,
):
    """Hierarchy of group estimates with known standard errors (the eight-schools shape).

    Parameters
    ----------
    estimate, se, group : str
        Columns: each group's estimate, its standard error, and the group label (one row
        per group).
    data : pandas.DataFrame
    method : {"reml", "ml", "bayes"}
    conf_level : float
    priors : dict, optional
        Bayesian: overrides for ``mu`` and ``tau`` (defaults scaled to the data).
    draws, tune, chains, target_accept, sampler, random_seed, progressbar
        NUTS settings (Bayesian only; ``target_accept`` defaults to 0.95 since few groups
        make a funnel likely).

    Examples
    --------
    >>> import pandas as pd, hierarch
    >>> schools = pd.DataFrame({"school": list("ABCDEFGH"),
    ...                         "effect": [28, 8, -3, 7, -1, 1, 18, 12],
    ...                         "se": [15, 10, 16, 11, 9, 11, 10, 18]})
    >>> fit = hierarch.normal_means("effect", "se", "school", schools, method="ml")
    >>> round(fit.tau, 3), round(fit.mu, 2)
    (0.0, 7.69)
    """
    data = v.require_dataframe(data)
    conf_level = v.conf_level(conf_level)
    v.require_columns(data, [estimate, se, group], {estimate: "estimate", se: "se", group: "group"})
    for col in (estimate, se):
        v.no_missing(data, col)
        x = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            raise ValueError(
                f"column {col!r} has non-numeric or infinite values in rows {list(data.index[bad])}"
            )
    s = data[se].to_numpy(dtype=float)
    if np.any(s <= 0):
        raise ValueError(
            f"column {se!r} (standard errors) must be positive; rows {list(data.index[s <= 0])}"
        )
    v.no_missing(data, group)
    if data[group].duplicated().any():
        dup = data.index[data[group].duplicated(keep=False).to_numpy()].tolist()
        raise ValueError(f"column {group!r} must have one row per group; repeated in rows {dup}")
    if len(data) < 2:
        raise ValueError("normal_means needs at least 2 groups")
    y = data[estimate].to_numpy(dtype=float)
    labels = data[group].tolist()
    groups = pd.DataFrame({"group": labels, "y": y, "se": s})
    if method in ("ml", "reml"):
        tau, mu, se_mu, ll = _ml(y, s, method == "reml")
        B = tau**2 / (tau**2 + s**2)
        est = mu + B * (y - mu)
        sd = np.sqrt(B * s**2 + (1 - B) ** 2 * se_mu**2)
        z = _z(conf_level)
        table = groups.assign(
            pooling_weight=B, estimate=est, lower=est - z * sd, upper=est + z * sd
        )
        return NormalMeansML(method, groups, mu, se_mu, tau, ll, table, conf_level)
    if method != "bayes":
        raise ValueError(f"method must be 'reml', 'ml' or 'bayes', got {method!r}")
    import pymc as pm

    pri = resolve_priors(_default_priors(y, s), priors)
    with pm.Model(coords={"group": labels}) as model:
        se_ = pm.Data("se", s, dims="group")
        mu = pri["mu"].create("mu")
        tau = pri["tau"].create("tau")
        zz = pm.Normal("z", 0, 1, dims="group")
        theta = pm.Deterministic("theta", mu + tau * zz, dims="group")
        pm.Normal("y", theta, se_, observed=y, dims="group")
    settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
    idata, backend = sample(model, settings, progressbar=progressbar)
    spec = {
        "model": "normal_means",
        "estimate": estimate,
        "se": se,
        "group": group,
        "conf_level": conf_level,
        "priors": {k: p.to_dict() for k, p in pri.items()},
        "sampler": settings.to_dict(),
        "backend": backend,
        "parameterization": "non-centred",
    }
    fit = NormalMeansBayesFit(idata, spec)
    fit.diagnostics(warn=True, stacklevel=4)
    return fit
