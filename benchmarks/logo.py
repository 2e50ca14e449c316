"""Leave-one-group-out on pigs without refits, against brute force (issue 15's benchmark).

``weight ~ week + (week | id)`` (48 pigs, 432 rows), hierarch's default sampler settings
(4 chains x 1000 draws after 1000 tuning steps, marginalized). Brute force refits the model
48 times, each time without one pig, and computes ``log mean_s p(y_j | phi_s)`` over the
refit's draws, the pig's two effects integrated out (the dense 9 x 9 normal density).
hierarch's ``fit.logo()`` uses the one full fit (PSIS over pigs, the same integrated density).

The refits keep the full model's priors (hierarch's defaults are scaled to the data, and a
refit with priors rescaled to 47 pigs would be another model), and share one compiled sampler.
Timings: every fit after a warm-up fit of each size (so compilation is not counted on either
side). The ratio is brute force's time over hierarch's, once for ``logo()`` alone (the fit is
there already) and once counting the full fit as well.

    .venv/bin/python benchmarks/logo.py     # appends a section to benchmarks/RESULTS.md
"""

from __future__ import annotations

import platform
import time
import warnings
from datetime import date
from pathlib import Path

import arviz as az
import numpy as np

import hierarch

SEED = 2026


def mvn_logpdf(y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Batched normal log-density: y (n,), mean (S, n), cov (S, n, n) -> (S,)."""
    L = np.linalg.cholesky(cov)
    r = np.linalg.solve(L, (y[None] - mean)[..., None])[..., 0]
    logdet = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (len(y) * np.log(2 * np.pi) + logdet + (r**2).sum(-1))


def brute_force_pig(fit, y: np.ndarray, week: np.ndarray) -> tuple[float, float]:
    """``log mean_s p(y_j | phi_s)`` over ``fit``'s draws and its Monte Carlo SE."""
    post = fit.idata.posterior
    beta = post["beta"].values.reshape(-1, 2)
    sigma = post["sigma"].values.ravel()
    sd = post["sd_id"].values.reshape(-1, 2)
    rho = post["corr_id"].values.reshape(-1, 2, 2)[:, 0, 1]
    Z = np.column_stack([np.ones_like(week), week])
    C = np.empty((len(sigma), 2, 2))
    C[:, 0, 0], C[:, 1, 1] = sd[:, 0] ** 2, sd[:, 1] ** 2
    C[:, 0, 1] = C[:, 1, 0] = rho * sd[:, 0] * sd[:, 1]
    cov = Z[None] @ C @ Z.T[None] + sigma[:, None, None] ** 2 * np.eye(len(y))[None]
    ll = mvn_logpdf(y, beta @ Z.T, cov)
    p = np.exp(ll - ll.max())
    ess = float(az.ess(p.reshape(post.sizes["chain"], -1)))
    return float(np.log(p.mean()) + ll.max()), float(p.std() / p.mean() / np.sqrt(ess))


def main() -> None:
    pigs = hierarch.load_dataset("pigs")
    formula = "weight ~ week + (week | id)"
    kw = dict(progressbar=False)
    warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
    hierarch.model(formula, pigs).fit(random_seed=1, **kw)  # warm-up (compile)
    t = time.perf_counter()
    fit = hierarch.model(formula, pigs).fit(random_seed=SEED, **kw)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    cv = fit.logo()
    t_logo = time.perf_counter() - t
    ids = list(dict.fromkeys(pigs["id"]))
    priors = fit.model.priors  # the refits keep the full model's priors: the same model

    def without(pig):
        m = hierarch.model(formula, pigs[pigs["id"] != pig], priors=priors)
        m.STATS_AS_DATA = 0  # one compiled sampler for all 48 refits (only the data change)
        return m

    without(ids[0]).fit(random_seed=1, **kw)  # warm-up
    brute, se, t_refits = [], [], 0.0
    for k, pig in enumerate(ids):
        rows = (pigs["id"] == pig).to_numpy()
        t = time.perf_counter()
        refit = without(pig).fit(random_seed=SEED + k + 1, **kw)
        b, s = brute_force_pig(
            refit,
            pigs.loc[rows, "weight"].to_numpy(float),
            pigs.loc[rows, "week"].to_numpy(float),
        )
        t_refits += time.perf_counter() - t
        brute.append(b)
        se.append(s)
    brute, se = np.array(brute), np.array(se)
    est = cv.loo_i.values
    z = (est - brute) / se  # the PSIS estimate's own MC error is not in this z (see the note)
    total_se = float(np.sqrt((se**2).sum()))
    speedup, speedup_fit = f"{t_refits / t_logo:.0f}", f"{t_refits / (t_fit + t_logo):.0f}"
    text = f"""

## Leave-one-group-out without refits ({date.today()}, `benchmarks/logo.py`)

On {platform.node()}: {platform.machine()}, Python {platform.python_version()}. Pigs,
`{formula}`, 48 pigs, default sampler settings (4 x 1000 draws, marginalized), each fit after
a warm-up fit of its size (compilation not counted).

| | hierarch `fit.logo()` | brute force (48 refits) |
|---|---|---|
| elpd (sum over pigs) | {float(cv.elpd_loo):.2f} | {brute.sum():.2f} (MCSE {total_se:.2f}) |
| max Pareto k | {float(cv.pareto_k.max()):.2f} | |
| time | {t_logo:.2f} s (+ the fit, {t_fit:.1f} s) | {t_refits:.1f} s |
| speed-up | **{speedup}x** (fit and logo(): **{speedup_fit}x**) | |

Per pig, `(logo - brute) / MCSE(brute)`: largest |z| {np.abs(z).max():.2f}, mean z
{z.mean():.2f}, {int((np.abs(z) > 3).sum())} of 48 beyond 3 (the PSIS estimate's own Monte
Carlo error is not in this denominator, so it overstates |z|).
"""
    print(text)
    with open(Path(__file__).with_name("RESULTS.md"), "a") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
