"""Crossed designs at InstEval size beside lme4, in one run (issue 13's benchmarks).

Cases (``../shared/data/insteval.csv``: 73,421 rows; students s: 2,972, lecturers d: 1,128,
dept: 14; ``y ~ service + (1 | s) + (1 | d) + (1 | dept)``):

- ``insteval_reml``: hierarch's ``model(...).fit(method="reml")`` (sparse CHOLMOD algebra)
  against ``lme4::lmer`` -- wall time of the fit (data already read, imports not counted) and
  peak memory of the whole process (``/usr/bin/time``-style maximum resident set size of a
  fresh process that reads the CSV and fits), estimates compared to 4 significant digits;
- ``insteval_bayes``: the marginalized Bayesian model (group effects integrated out through
  the sparse Op): the cost of one log-density + gradient evaluation, and the time NUTS would
  need from it; the plain PyMC model's time per draw from a short run.

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
cat(sprintf(paste0('{"time": %.4f, "theta": [%.10f, %.10f, %.10f], ',
                   '"beta": [%.10f, %.10f], "sigma": %.10f, "crit": %.8f}'),
            t, th[1], th[2], th[3], b[1], b[2], sigma(f), REMLcrit(f)))
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
import json, statistics, sys, time, warnings
import numpy as np, pandas as pd
import hierarch
from hierarch.bayes.sparse_marginal import sparse_core
d = pd.read_csv(sys.argv[1])
for c in ["s", "d", "dept", "service"]:
    d[c] = d[c].astype(str)
m = hierarch.model(sys.argv[2], d)
core, _ = sparse_core(m)
lam = np.concatenate([np.full(b.n_levels, sd) for b, sd in zip(m.parsed.blocks, [0.33, 0.5, 0.08])])
beta = np.array([3.2, -0.09])
core.logp(beta, lam, 1.18)  # numba compilation of the selected inverse
ts = []
for _ in range(5):
    t = time.perf_counter(); core.logp(beta, lam, 1.18); ts.append(time.perf_counter() - t)
grad = statistics.median(ts)
ts = []
for _ in range(5):
    t = time.perf_counter(); core.logp(beta, lam, 1.18, grad=False)
    ts.append(time.perf_counter() - t)
value = statistics.median(ts)
# the plain model: a short run, time per draw after compilation
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    fit = m.fit(marginalize=False, draws=30, tune=30, chains=1, random_seed=1, progressbar=False)
    plain_total = time.perf_counter() - t
steps = fit.idata.sample_stats
n_steps = float(steps["n_steps"].mean()) if "n_steps" in steps else float("nan")
# the marginalized model: a short run of two chains (60 tuning steps, 60 draws each)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    mfit = m.fit(draws=60, tune=60, chains=2, random_seed=1, progressbar=False)
    marg_total = time.perf_counter() - t
ms = mfit.idata.sample_stats
marg_steps = float(ms["n_steps"].mean()) if "n_steps" in ms else float("nan")
print(json.dumps({"grad": grad, "value": value, "plain_total_60": plain_total,
                  "plain_steps_per_draw": n_steps, "marg_total_120": marg_total,
                  "marg_steps_per_draw": marg_steps}))
"""


def _run_measured(cmd: list[str]) -> tuple[dict, float]:
    """Run ``cmd`` in a fresh process: its JSON output and its peak resident memory (GiB)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr[-3000:])\n"
        "print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else '{}')\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-2]), int(lines[-1]) / 1024**2


def main() -> None:
    if not DATA.exists():
        sys.exit(f"{DATA} is not here (the shared data sit beside the repository)")
    tmp = Path(tempfile.mkdtemp())
    r_ok = shutil.which("Rscript") is not None
    ours, our_mem = _run_measured([sys.executable, "-c", PY_REML, str(DATA), FORMULA])
    if r_ok:
        (tmp / "ie.R").write_text(R_SCRIPT)
        lme4, lme4_mem = _run_measured(["Rscript", str(tmp / "ie.R"), str(DATA)])
    bayes, bayes_mem = _run_measured([sys.executable, "-c", PY_BAYES, str(DATA), FORMULA])
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
        rel = max(
            abs(a - b) / abs(b)
            for a, b in zip(
                ours["theta"] + ours["beta"] + [ours["sigma"]],
                lme4["theta"] + lme4["beta"] + [lme4["sigma"]],
                strict=True,
            )
        )
        lines += [
            "",
            f"- time ratio lme4 / hierarch: {lme4['time'] / ours['time']:.1f}x (target: >= 1); "
            f"peak memory ratio hierarch / lme4: {our_mem / lme4_mem:.2f} (target: <= 2); "
            f"largest relative difference of the estimates: {rel:.1e} (target: 4 significant "
            f"digits, < 5e-5); REML criterion difference {ours['crit'] - lme4['crit']:+.2e}.",
        ]
    else:
        lines += ["", "- lme4: Rscript not found, no peer timing in this run."]
    g = bayes["grad"]
    per_draw = bayes["marg_total_120"] / 120  # two chains of 120 steps, side by side
    projected = 1000 * per_draw  # 500 tuning steps and 500 draws per chain
    lines += [
        f"- insteval_bayes (marginalized through the sparse Op): one log-density "
        f"{bayes['value'] * 1000:.0f} ms, with its gradient {g:.2f} s (the gradient needs the "
        f"selected inverse: Takahashi's recursion over the factor's sparse columns, LAPACK "
        f"on its dense trailing block). A short run, 2 chains x (60 tuning steps + 60 draws): "
        f"{bayes['marg_total_120']:.0f} s including compilation, "
        f"{bayes['marg_steps_per_draw']:.1f} leapfrog steps per draw; projected for 500 tuning "
        f"steps and 500 draws per chain (the least that gives bulk ESS >= 400 over two chains): "
        f"{projected / 60:.0f} min: **the 5-minute target is "
        f"{'met' if projected <= 300 else 'missed'}**. "
        f"The plain PyMC model: 30 tuning steps + 30 draws, one chain, "
        f"{bayes['plain_total_60']:.0f} s including compilation, "
        f"{bayes['plain_steps_per_draw']:.0f} leapfrog steps per draw; peak "
        f"{bayes_mem:.2f} GiB.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(HERE / "RESULTS.md", "a") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
