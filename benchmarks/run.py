"""hierarch vs the plain hand-written PyMC model, in one run.

Every (case, implementation) runs in fresh Python processes with its own, initially empty,
PyTensor compile directory (``base_compiledir``; PyTensor's numba cache and hierarch's cached
nutpie wrappers live there too):

1. *first run*: a fresh process with nothing compiled on disk -- the first fit of that model
   on a new machine (every C and numba compilation included);
2. *cold*: another fresh process with the same directory, now holding what the first run
   compiled -- a rerun of the analysis script (imports, model building, loading or compiling,
   sampling); then a *warm refit* with a new seed in the same process.

It reports wall times, the minimum bulk ESS over the hyperparameters, ESS per second, the
maximum R-hat, divergences and the cold process's peak memory.  The ratio columns are
hierarch's ESS/s over the plain model's, measured in the same run.

    .venv/bin/python benchmarks/run.py            # all cases; writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py rats pigs  # a subset (printed, not written)
    .venv/bin/python benchmarks/run.py --out DIR rats cbpp  # also DIR/run.md and run.json

``--out`` is how ``benchmarks/targets.py`` collects this run beside the others.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ["rats", "cbpp", "pigs", "sleepstudy", "gauss_1m", "bernoulli_1m"]
# plain PyMC on a million rows would take far beyond 15 minutes on 2 cores: skipped, and said
SKIP_PLAIN = {
    "gauss_1m": "plain PyMC model on 1,000,000 rows x 10,000 groups: > 15 min expected",
    "bernoulli_1m": "plain PyMC model on 1,000,000 Bernoulli rows: > 15 min expected",
}
HYPER = {
    "rats": ["beta", "sd_batch"],  # the formula model m | trials(n) ~ 1 + (1 | batch)
    "cbpp": ["beta", "sd_herd"],
    "pigs": ["beta", "sigma", "sd_id", "corr_id"],
    "sleepstudy": ["beta", "sigma", "sd_Subject", "corr_Subject"],
    "gauss_1m": ["beta", "sigma", "sd_g", "corr_g"],
    "bernoulli_1m": ["beta", "sd_g"],
}


def _data(case):
    import numpy as np
    import pandas as pd

    import hierarch

    if case in ("rats", "cbpp", "pigs", "sleepstudy"):
        return hierarch.load_dataset(case)
    rng = np.random.default_rng(1)
    if case == "gauss_1m":
        n, J = 1_000_000, 10_000
        g = rng.integers(0, J, n)
        x = rng.standard_normal(n)
        u = rng.multivariate_normal([0, 0], [[0.25, 0.02], [0.02, 0.0625]], size=J)
        y = 1 + u[g, 0] + (0.5 + u[g, 1]) * x + rng.standard_normal(n)
        return pd.DataFrame({"y": y, "x": x, "g": g})
    n, J = 1_000_000, 1000
    g = rng.integers(0, J, n)
    x1, x2 = rng.integers(0, 2, n), rng.integers(0, 2, n)
    u = rng.normal(0, 0.7, J)
    p = 1 / (1 + np.exp(-(-1 + 0.5 * x1 - 0.3 * x2 + u[g])))
    return pd.DataFrame({"y": rng.binomial(1, p), "x1": x1, "x2": x2, "g": g})


def _hierarch_fit(case, data, seed):
    import hierarch

    kw = {"random_seed": seed, "progressbar": False}
    if case == "rats":
        return hierarch.binomial_model(
            "m", "n", "batch", data, multilevel=True, method="bayes", **kw
        ).idata
    formula = {
        "cbpp": ("incidence | trials(size) ~ C(period) + (1 | herd)", "binomial"),
        "pigs": ("weight ~ week + (week | id)", "gaussian"),
        "sleepstudy": ("Reaction ~ Days + (Days | Subject)", "gaussian"),
        "gauss_1m": ("y ~ x + (x | g)", "gaussian"),
        "bernoulli_1m": ("y ~ x1 + x2 + (1 | g)", "bernoulli"),
    }[case]
    return hierarch.model(formula[0], data, family=formula[1]).fit(**kw).idata


def _plain_fit(case, data, seed):
    """The non-centred PyMC model a user would write by hand (nutpie, as hierarch uses)."""
    import numpy as np
    import pandas as pd
    import pymc as pm

    if case == "rats":
        with pm.Model() as m:
            mu = pm.Normal("mu", 0, 2.5)
            tau = pm.HalfNormal("tau", 1)
            z = pm.Normal("z", 0, 1, shape=len(data))
            pm.Binomial(
                "y",
                n=data["n"].to_numpy(),
                p=pm.math.invlogit(mu + tau * z),
                observed=data["m"].to_numpy(),
            )
    elif case == "cbpp":
        X = pd.get_dummies(data["period"].astype("category"), drop_first=True).to_numpy(float)
        herd = pd.factorize(data["herd"], sort=True)[0]
        with pm.Model() as m:
            b0 = pm.Normal("b0", -1, 2.5)
            b = pm.Normal("b", 0, 2.5, shape=X.shape[1])
            sd = pm.HalfNormal("sd_herd", 1)
            z = pm.Normal("z", 0, 1, shape=int(herd.max()) + 1)
            pm.Binomial(
                "y",
                n=data["size"].to_numpy(),
                observed=data["incidence"].to_numpy(),
                p=pm.math.invlogit(b0 + X @ b + sd * z[herd]),
            )
            pm.Deterministic("beta", pm.math.concatenate([[b0], b]))
    else:
        yname, xname, gname = {
            "pigs": ("weight", "week", "id"),
            "sleepstudy": ("Reaction", "Days", "Subject"),
        }[case]
        y, x = data[yname].to_numpy(float), data[xname].to_numpy(float)
        g = pd.factorize(data[gname], sort=True)[0]
        sy, sx = y.std(), x.std()
        with pm.Model() as m:
            beta = pm.Normal("beta", mu=[y.mean(), 0], sigma=[2.5 * sy, 2.5 * sy / sx])
            chol, corr, sds = pm.LKJCholeskyCov(
                "chol", n=2, eta=2.0, sd_dist=pm.HalfNormal.dist(1.0, shape=2), compute_corr=True
            )
            scale = np.array([sy, sy / sx])
            pm.Deterministic("sd", scale * sds)
            pm.Deterministic("corr", corr)
            z = pm.Normal("z", 0, 1, shape=(int(g.max()) + 1, 2))
            bb = z @ (scale[:, None] * chol).T
            sigma = pm.HalfNormal("sigma", sy)
            pm.Normal("obs", beta[0] + bb[g, 0] + (beta[1] + bb[g, 1]) * x, sigma, observed=y)
    with m:
        return pm.sample(
            nuts_sampler="nutpie", random_seed=seed, progressbar=False, target_accept=0.9
        )


def _measure(case, impl, mode):
    """Run in a child process: print one JSON line (``mode``: "first" fits once, "cold"
    fits and refits)."""
    import resource
    import warnings

    import arviz as az
    import numpy as np

    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    data = _data(case)
    fit = _hierarch_fit if impl == "hierarch" else _plain_fit
    idata = fit(case, data, 1)
    cold = time.perf_counter() - t0
    warm = float("nan")
    if mode == "cold":
        t1 = time.perf_counter()
        fit(case, data, 2)
        warm = time.perf_counter() - t1
    names = (
        HYPER[case]
        if impl == "hierarch"
        else {"rats": ["mu", "tau"], "cbpp": ["beta", "sd_herd"]}.get(
            case, ["beta", "sigma", "sd", "corr"]
        )
    )
    post = idata.posterior[names]
    ess = az.ess(post, method="bulk")
    rhat = az.rhat(post)
    min_ess = float(np.nanmin([np.nanmin(ess[v].values) for v in names]))
    max_rhat = float(np.nanmax([np.nanmax(rhat[v].values) for v in names]))
    div = int(idata.sample_stats["diverging"].sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # GiB (ru_maxrss: KiB)
    print(
        json.dumps(
            {
                "case": case,
                "impl": impl,
                "mode": mode,
                "cold_s": cold,
                "warm_s": warm,
                "min_ess": min_ess,
                "ess_per_s": min_ess / cold,
                "rhat": max_rhat,
                "divergences": div,
                "peak_gib": peak,
            }
        )
    )


#: rstanarm's version of the two GLMMs (precompiled Stan models: nothing compiles per model)
_RSTANARM = {
    "rats": (
        "d <- read.csv('{csv}'); d$batch <- factor(d$batch)",
        "cbind(m, n - m) ~ 1 + (1 | batch)",
    ),
    "cbpp": (
        "d <- read.csv('{csv}'); d$herd <- factor(d$herd); d$period <- factor(d$period)",
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    ),
}


def _rstanarm(case, workdir):
    """rstanarm's ``stan_glmer`` on the same data in a fresh ``Rscript`` (4 chains x 1000 +
    1000, 2 cores, as hierarch): the time from the start of the script (library load
    included, as hierarch's import is) to the end of the first fit, a refit in the same
    process, the minimum bulk ESS over the fixed effects and group SD, the maximum R-hat."""
    import shutil

    if shutil.which("Rscript") is None:
        return None, "Rscript not installed"
    csv = Path(workdir) / f"{case}.csv"
    _data(case).to_csv(csv, index=False)
    read, formula = _RSTANARM[case]
    script = f"""
t0 <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({{library(rstanarm); library(posterior)}})
{read.format(csv=csv)}
fit1 <- function(seed) stan_glmer({formula}, data = d, family = binomial, chains = 4,
    iter = 2000, cores = 2, refresh = 0, seed = seed)
f <- fit1(1)
t1 <- proc.time()[["elapsed"]]
invisible(fit1(2))
t2 <- proc.time()[["elapsed"]]
dr <- as_draws_df(as.array(f))
keep <- names(dr)[names(dr) == "(Intercept)" | startsWith(names(dr), "period") |
    startsWith(names(dr), "Sigma[")]
s <- summarise_draws(dr[, keep], "ess_bulk", "rhat")
cat(sprintf('{{"cold_s": %.3f, "warm_s": %.3f, "min_ess": %.1f, "rhat": %.4f, "div": %d}}\n',
    t1 - t0, t2 - t1, min(s$ess_bulk), max(s$rhat),
    sum(rstan::get_divergent_iterations(f$stanfit))))
"""
    rfile = Path(workdir) / f"{case}.R"
    rfile.write_text(script)
    proc = subprocess.run(["Rscript", str(rfile)], capture_output=True, text=True, timeout=1800)
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode or not line:
        return None, (proc.stderr.strip() or "rstanarm failed")[-300:]
    r = json.loads(line[-1])
    row = {
        "case": case,
        "impl": "rstanarm",
        "mode": "first",
        "cold_s": r["cold_s"],
        "warm_s": r["warm_s"],
        "min_ess": r["min_ess"],
        "ess_per_s": r["min_ess"] / r["cold_s"],
        "rhat": r["rhat"],
        "divergences": r["div"],
        "peak_gib": float("nan"),
    }
    return row, ""


def _child(case, impl, mode, compiledir):
    env = dict(os.environ)
    flags = env.get("PYTENSOR_FLAGS", "")
    env["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"base_compiledir={compiledir}") if f)
    # numba's own cache (hierarch's hand-written log-densities, hierarch.bayes.kernels) in
    # the same directory: a first run compiles them too, as on a new machine
    env["NUMBA_CACHE_DIR"] = str(Path(compiledir) / "numba-cache")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", case, impl, mode],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode or not line:
        return None, proc.stderr.strip()[-300:]
    return json.loads(line[-1]), ""


def main(argv):
    if len(argv) > 2 and argv[1] == "--child":
        _measure(argv[2], argv[3], argv[4])
        return 0
    out = None
    if len(argv) > 2 and argv[1] == "--out":
        out, argv = Path(argv[2]), [argv[0], *argv[3:]]
    cases = argv[1:] or CASES
    rows, firsts, notes = [], {}, []
    for case in cases:
        if case in _RSTANARM:
            with tempfile.TemporaryDirectory(prefix="bench-rstanarm-") as d:
                row, err = _rstanarm(case, d)
            if row is None:
                notes.append(f"- {case}/rstanarm: not run ({err}).")
            else:
                firsts[(case, "rstanarm")] = row
                rows.append(row)
                print(row, flush=True)
        for impl in ("hierarch", "plain"):
            if impl == "plain" and case in SKIP_PLAIN:
                notes.append(f"- {case}: plain model skipped ({SKIP_PLAIN[case]}).")
                continue
            with tempfile.TemporaryDirectory(prefix="bench-compiledir-") as d:
                first, err = _child(case, impl, "first", d)
                if first is None:
                    notes.append(f"- {case}/{impl} (first run) failed: {err}")
                    continue
                print(first, flush=True)
                row, err = _child(case, impl, "cold", d)
            if row is None:
                notes.append(f"- {case}/{impl} failed: {err}")
                continue
            firsts[(case, impl)] = first
            rows.append(row)
            print(row, flush=True)
    by = {(r["case"], r["impl"]): r for r in rows}

    def ratio(r, table):
        plain = table.get((r["case"], "plain"))
        if r["impl"] != "hierarch" or not plain:
            return ""
        return f"{table[(r['case'], 'hierarch')]['ess_per_s'] / plain['ess_per_s']:.1f}x"

    lines = [
        "| case | impl | first run s | cold s | warm refit s | min bulk ESS | ESS/s (cold) "
        "| max R-hat | divergences | peak GiB | ESS/s ratio vs plain, cold "
        "| ratio, first run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:  # the first fit against rstanarm's (its models are precompiled)
        h, r = firsts.get((case, "hierarch")), firsts.get((case, "rstanarm"))
        if h and r:
            notes.append(
                f"- {case}: first run {h['cold_s']:.1f} s vs rstanarm {r['cold_s']:.1f} s "
                f"(library load and fit; target: no slower): "
                f"{'met' if h['cold_s'] <= r['cold_s'] else 'missed'}; ESS/s "
                f"{h['ess_per_s'] / r['ess_per_s']:.1f}x rstanarm's."
            )
    for r in rows:
        f = firsts[(r["case"], r["impl"])]
        lines.append(
            f"| {r['case']} | {r['impl']} | {f['cold_s']:.1f} | {r['cold_s']:.1f} "
            f"| {r['warm_s']:.1f} | {r['min_ess']:.0f} | {r['ess_per_s']:.1f} | {r['rhat']:.3f} "
            f"| {r['divergences']} | {r['peak_gib']:.2f} | {ratio(r, by)} | {ratio(r, firsts)} |"
        )
    machine = (
        f"{platform.node()}: {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Produced by `benchmarks/run.py` in one run, {time.strftime('%Y-%m-%d')}, "
            f"on {machine} "
            "(2 cores, 24 GiB). 4 chains x 1000 draws after 1000 tuning steps, nutpie for "
            "hierarch and the plain PyMC model; rstanarm's `stan_glmer` (precompiled Stan "
            "models, 2 cores) where it fits the model, its time from the script's start "
            "(library load included, as hierarch's import is).",
            "",
            "*first run*: a fresh process with an empty compile directory (the first fit of the "
            "model on a new machine). *cold*: a fresh process with the compile directory the "
            "first run left (rerunning the analysis). *warm refit*: a second fit, new seed, "
            "in the cold process. ESS and R-hat are the cold run's; the first-run ratio uses the "
            "first run's own ESS and time.",
            "",
            *lines,
            "",
            *notes,
        ]
    )
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.md").write_text(text.replace("# Benchmark results", "", 1).strip() + "\n")
        (out / "run.json").write_text(
            json.dumps({"rows": rows, "firsts": list(firsts.values()), "notes": notes})
        )
    elif not argv[1:]:
        (Path(__file__).parent / "RESULTS.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
