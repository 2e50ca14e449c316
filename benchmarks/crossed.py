"""Crossed designs at InstEval size beside lme4, in one run (issue 13's benchmarks).

Cases (``../shared/data/insteval.csv``: 73,421 rows; students s: 2,972, lecturers d: 1,128,
dept: 14; ``y ~ service + (1 | s) + (1 | d) + (1 | dept)``):

- ``insteval_reml``: hierarch's ``model(...).fit(method="reml")`` (sparse CHOLMOD algebra)
  against ``lme4::lmer`` -- wall time of the fit (data already read, imports not counted) and
  peak memory of the whole process (``/usr/bin/time``-style maximum resident set size of a
  fresh process that reads the CSV and fits), estimates compared to 4 significant digits;
- ``insteval_bayes``: the marginalized Bayesian model (group effects and fixed effects
  integrated out through :class:`hierarch.bayes.kernels.CrossedKernel`): the whole job timed
  in a fresh process (imports, CSV, fit of 2 chains, diagnostics) with its convergence
  figures; the cost of one gradient (and of the sparse Op's, the earlier path); the plain
  PyMC model with the same settings in the same process.

    .venv/bin/python benchmarks/crossed.py     # appends a section to benchmarks/RESULTS.md
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "insteval.csv"
FORMULA = "y ~ service + (1 | s) + (1 | d) + (1 | dept)"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lme4))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
for (v in c("s", "d", "dept", "service")) d[[v]] <- factor(d[[v]])
t <- system.time(f <- lmer(y ~ service + (1 | s) + (1 | d) + (1 | dept), d))[["elapsed"]]
th <- getME(f, "theta"); b <- fixef(f)
# lme4's optimum with tight tolerances (not timed): where the default stopping rule leaves
# lme4 short of the optimum along a flat direction, this says which answer is the optimum
f2 <- update(f, control = lmerControl(optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12,
                                                     maxeval = 1e5)))
th2 <- getME(f2, "theta"); b2 <- fixef(f2)
cat(sprintf(paste0('{"time": %.4f, "theta": [%.10f, %.10f, %.10f], ',
                   '"beta": [%.10f, %.10f], "sigma": %.10f, "crit": %.8f, ',
                   '"tight": {"theta": [%.10f, %.10f, %.10f], "beta": [%.10f, %.10f], ',
                   '"sigma": %.10f, "crit": %.8f}}'),
            t, th[1], th[2], th[3], b[1], b[2], sigma(f), REMLcrit(f),
            th2[1], th2[2], th2[3], b2[1], b2[2], sigma(f2), REMLcrit(f2)))
"""

PY_REML = r"""
import json, sys, time
import pandas as pd
import hierarch
d = pd.read_csv(sys.argv[1])
for c in ["s", "d", "dept", "service"]:
    d[c] = d[c].astype(str)
t = time.perf_counter()
fit = hierarch.model(sys.argv[2], d).fit(method="reml")
t = time.perf_counter() - t
lm = fit.lmm
print(json.dumps({"time": t, "theta": list(lm.theta), "beta": list(lm.beta),
                  "sigma": lm.sigma, "crit": lm.criterion}))
"""

PY_BAYES = r"""
import time
T0 = time.perf_counter()
import json, statistics, sys, warnings
import numpy as np, pandas as pd
import arviz as az
import hierarch
t = time.perf_counter()
import hierarch.bayes._kernel_crossed  # compiles the kernel (the process has an empty cache)
compile_time = time.perf_counter() - t
from hierarch.bayes.sparse_marginal import sparse_core
from hierarch.core.sparse import one_blas_thread
TUNE, DRAWS, CHAINS, TARGET = 150, 600, 2, 0.8
d = pd.read_csv(sys.argv[1])
for c in ["s", "d", "dept", "service"]:
    d[c] = d[c].astype(str)
m = hierarch.model(sys.argv[2], d)
# the whole analysis: data read, model, NUTS on the variance parameters, fixed and group
# effects drawn afterwards, diagnostics
t = time.perf_counter()
fit = m.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, target_accept=TARGET, random_seed=1,
            progressbar=False)
fit_time = time.perf_counter() - t
total = time.perf_counter() - T0
hyper = ["beta", "sd_s", "sd_d", "sd_dept", "sigma"]
summ = az.summary(fit.idata, var_names=hyper, round_to="none")
ss = fit.idata.sample_stats
est = {k: [float(v) for v in np.ravel(fit.idata.posterior[k].mean(("chain", "draw")))]
       for k in hyper}
kernel = m.build_marginal()._hierarch_kernel
x = np.log([est["sd_s"][0], est["sd_d"][0], est["sd_dept"][0], est["sigma"][0]])
with one_blas_thread():
    kernel.logp(x)
    ts = []
    for _ in range(5):
        t = time.perf_counter(); kernel.logp(x); ts.append(time.perf_counter() - t)
kernel_grad = statistics.median(ts)
# before: the sparse Op (fixed effects sampled): one gradient
core, _ = sparse_core(m)
lam = np.concatenate([np.full(b.n_levels, est[f"sd_{b.factor}"][0]) for b in m.parsed.blocks])
beta = np.array(est["beta"])
core.logp(beta, lam, est["sigma"][0])
ts = []
for _ in range(3):
    t = time.perf_counter()
    core.logp(beta, lam, est["sigma"][0])
    ts.append(time.perf_counter() - t)
op_grad = statistics.median(ts)
# the plain PyMC model (every group effect sampled) with the same settings, compilation
# included
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    pfit = m.fit(marginalize=False, draws=DRAWS, tune=TUNE, chains=CHAINS,
                 target_accept=TARGET, random_seed=2, progressbar=False)
    plain_time = time.perf_counter() - t
psumm = az.summary(pfit.idata, var_names=hyper, round_to="none")
pss = pfit.idata.sample_stats
print(json.dumps({
    "total": total, "fit": fit_time, "compile": compile_time,
    "log_density": fit.spec["log_density"],
    "rhat_max": float(summ["r_hat"].max()), "ess_bulk_min": float(summ["ess_bulk"].min()),
    "divergences": int(ss["diverging"].sum()), "steps_per_draw": float(ss["n_steps"].mean()),
    "estimates": est, "kernel_grad": kernel_grad, "op_grad": op_grad,
    "plain_time": plain_time, "plain_rhat_max": float(psumm["r_hat"].max()),
    "plain_ess_bulk_min": float(psumm["ess_bulk"].min()),
    "plain_divergences": int(pss["diverging"].sum()),
    "plain_steps_per_draw": float(pss["n_steps"].mean()),
    "settings": [TUNE, DRAWS, CHAINS, TARGET],
}))
"""


def _run_measured(cmd: list[str], env: dict | None = None) -> tuple[dict, float]:
    """Run ``cmd`` in a fresh process: its JSON output and its peak resident memory (GiB)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr[-3000:])\n"
        "print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else '{}')\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-2]), int(lines[-1]) / 1024**2


def main() -> None:
    out = None
    if len(sys.argv) > 2 and sys.argv[1] == "--out":  # benchmarks/targets.py
        out = Path(sys.argv[2])
    if not DATA.exists():
        sys.exit(f"{DATA} is not here (the shared data sit beside the repository)")
    tmp = Path(tempfile.mkdtemp())
    r_ok = shutil.which("Rscript") is not None
    ours, our_mem = _run_measured([sys.executable, "-c", PY_REML, str(DATA), FORMULA])
    if r_ok:
        (tmp / "ie.R").write_text(R_SCRIPT)
        lme4, lme4_mem = _run_measured(["Rscript", str(tmp / "ie.R"), str(DATA)])
    # the Bayesian job as on a new machine: numba's cache empty (the kernel compiles in it)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba-cache"))
    bayes, bayes_mem = _run_measured([sys.executable, "-c", PY_BAYES, str(DATA), FORMULA], env)
    when = time.strftime("%Y-%m-%d")
    lines = [
        "",
        f"## Crossed designs at InstEval size (issue 13; `benchmarks/crossed.py`, {when})",
        "",
        f"One run on {platform.node()}: {platform.machine()}, Python {platform.python_version()}"
        f" ({os.cpu_count()} cores). `{FORMULA}` on InstEval (73,421 rows; 2,972 students, "
        "1,128 lecturers, 14 departments: 4,114 group effects).",
        "",
        "| case | impl | fit s | peak GiB | theta | beta | sigma | REML criterion |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def fmt(v):
        return ", ".join(f"{x:.6g}" for x in v)

    lines.append(
        f"| insteval_reml | hierarch | {ours['time']:.1f} | {our_mem:.2f} | {fmt(ours['theta'])}"
        f" | {fmt(ours['beta'])} | {ours['sigma']:.6g} | {ours['crit']:.3f} |"
    )
    if r_ok:
        lines.append(
            f"| insteval_reml | lme4 | {lme4['time']:.1f} | {lme4_mem:.2f} | {fmt(lme4['theta'])}"
            f" | {fmt(lme4['beta'])} | {lme4['sigma']:.6g} | {lme4['crit']:.3f} |"
        )

        def reldiff(other):
            return max(
                abs(a - b) / abs(b)
                for a, b in zip(
                    ours["theta"] + ours["beta"] + [ours["sigma"]],
                    other["theta"] + other["beta"] + [other["sigma"]],
                    strict=True,
                )
            )

        rel, rel_tight = reldiff(lme4), reldiff(lme4["tight"])
        lines += [
            "",
            f"- time ratio lme4 / hierarch: {lme4['time'] / ours['time']:.1f}x (target: >= 1); "
            f"peak memory ratio hierarch / lme4: {our_mem / lme4_mem:.2f} (target: <= 2); "
            f"largest relative difference of the estimates: {rel:.1e} (target: 4 significant "
            f"digits, < 5e-5); REML criterion difference {ours['crit'] - lme4['crit']:+.2e}.",
            f"- lme4 refitted with tight tolerances (`ftol_abs = 1e-14`, `xtol_abs = 1e-12`; "
            f"not timed): theta {fmt(lme4['tight']['theta'])}, REML criterion difference "
            f"hierarch - lme4 {ours['crit'] - lme4['tight']['crit']:+.2e}; largest relative "
            f"difference of the estimates {rel_tight:.1e}.",
        ]
    else:
        lines += ["", "- lme4: Rscript not found, no peer timing in this run."]
    b = bayes
    tune, draws, chains, target = b["settings"]
    ok = b["rhat_max"] <= 1.01 and b["ess_bulk_min"] >= 400 and b["divergences"] == 0
    met = ok and b["total"] <= 300
    lines += [
        f"- insteval_bayes (group effects and fixed effects integrated out: NUTS on the three "
        f"log SDs and log sigma through the crossed kernel, then fixed and group effects drawn "
        f"from their exact conditional posterior): {chains} chains x ({tune} tuning steps + "
        f"{draws} draws), target_accept {target}: **{b['total']:.0f} s for the whole job** "
        f"(process start, imports, compiling the kernel with an empty numba cache "
        f"({b['compile']:.0f} s), reading the CSV, fit, diagnostics; the fit alone "
        f"{b['fit']:.0f} s); max R-hat {b['rhat_max']:.4f}, min bulk ESS {b['ess_bulk_min']:.0f}"
        f" (beta, the SDs, sigma), {b['divergences']} divergences, "
        f"{b['steps_per_draw']:.1f} leapfrog steps per draw; peak {bayes_mem:.2f} GiB. "
        f"Target (converged in under 5 minutes): **{'met' if met else 'missed'}**.",
        f"- One log-density with its gradient: {b['kernel_grad'] * 1000:.0f} ms through the "
        f"kernel (a dense Cholesky factor and inverse of the 1,144-unknown Schur complement "
        f"after eliminating the students), {b['op_grad']:.2f} s through the sparse Op (CHOLMOD "
        f"and Takahashi's selected inverse, fixed effects sampled), the path of the previous "
        f"run.",
        f"- The plain PyMC model (every group effect sampled), the same settings in the same "
        f"run: {b['plain_time']:.0f} s including compilation; max R-hat "
        f"{b['plain_rhat_max']:.3f}, min bulk ESS {b['plain_ess_bulk_min']:.0f}, "
        f"{b['plain_divergences']} divergences, {b['plain_steps_per_draw']:.0f} leapfrog steps "
        f"per draw; ESS/s ratio hierarch / plain (minimum bulk ESS over the same parameters, "
        f"whole times): "
        f"{(b['ess_bulk_min'] / b['total']) / (b['plain_ess_bulk_min'] / b['plain_time']):.0f}x.",
        "",
        "Estimates (posterior means): "
        + ", ".join(f"{k} {fmt(v)}" for k, v in b["estimates"].items())
        + f"; log density: {b['log_density']}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "crossed.md").write_text(text)
        res = {"reml": ours, "reml_peak_gib": our_mem, "bayes": b, "bayes_peak_gib": bayes_mem}
        if r_ok:
            res |= {
                "lme4": lme4,
                "lme4_peak_gib": lme4_mem,
                "rel_diff": rel,
                "rel_tight": rel_tight,
            }
        (out / "crossed.json").write_text(json.dumps(res))
        return
    with open(HERE / "RESULTS.md", "a") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
