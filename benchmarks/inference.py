"""Frequentist inference beside lme4 / lmerTest, in one run (issue 12's benchmarks).

Cases:

- ``pigs_profile``: ``confint(method="profile")`` of ``weight ~ week + (week | id)`` (all six
  parameters) -- hierarch's ``fit.confint()`` against lme4's ``confint(fit)``;
- ``satterthwaite_1m``: Satterthwaite's df of both fixed effects of ``y ~ x + (x | g)`` on
  1,000,000 rows and 10,000 groups -- hierarch's ``fit.fixed_effects()`` after its REML fit;
  lmerTest computes the derivatives inside ``lmerTest::lmer``, so its cost is that fit's time
  minus ``lme4::lmer``'s, plus ``summary()``.  Fit and df together are timed too.

Both programs read the same CSV.  The R side runs through ``Rscript`` (Debian packages
``r-cran-lme4``, ``r-cran-lmertest``); without it the table says so.  Each timing is the
median of three repetitions in one process (hierarch: after one warm-up, so imports are not
counted; R: the same).  The ratio is lme4's time over hierarch's (above 1: hierarch is
faster).

    .venv/bin/python benchmarks/inference.py     # appends a section to benchmarks/RESULTS.md
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
pigs <- read.csv(args[1]); pigs$id <- factor(pigs$id)
big <- read.csv(args[2]); big$g <- factor(big$g)
med <- function(f) median(replicate(3, system.time(f())[["elapsed"]]))
pfit <- lme4::lmer(weight ~ week + (week | id), pigs)
t_profile <- med(function() suppressWarnings(confint(pfit, oldNames = FALSE)))
t_fit <- system.time(lfit <- lme4::lmer(y ~ x + (x | g), big))[["elapsed"]]
## lmerTest computes the Hessian and Jacobian of Satterthwaite's method when it fits
## (lmerTest::lmer); summary() then only combines them: its df cost is the difference
t_both <- system.time(bfit <- lmerTest::lmer(y ~ x + (x | g), big))[["elapsed"]]
t_summary <- med(function() summary(bfit))
df <- summary(bfit)$coefficients[, "df"]
cat(sprintf(paste0('{"pigs_profile": %.4f, "fit_1m": %.4f, "fit_and_satterthwaite_1m": %.4f, ',
                   '"satterthwaite_1m": %.4f, "df": [%.6f, %.6f]}'),
            t_profile, t_fit, t_both, t_both - t_fit + t_summary, df[1], df[2]))
"""


def _median(f, n=3):
    f()  # warm-up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).parent))
    from run import _data

    import hierarch

    tmp = Path(tempfile.mkdtemp())
    pigs = hierarch.load_dataset("pigs")
    big = _data("gauss_1m")
    pigs.to_csv(tmp / "pigs.csv", index=False)
    big.to_csv(tmp / "big.csv", index=False)
    big = pd.read_csv(tmp / "big.csv")  # the numbers R reads

    pfit = hierarch.model("weight ~ week + (week | id)", pigs).fit(method="reml")

    def profile():
        pfit.__dict__.pop("_profile_cache", None)
        pfit.confint()

    ours = {"pigs_profile": _median(profile)}
    t = time.perf_counter()
    bfit = hierarch.model("y ~ x + (x | g)", big).fit(method="reml")
    ours["fit_1m"] = time.perf_counter() - t

    def satt():
        bfit.__dict__.pop("_tests_cache", None)
        return bfit.fixed_effects()

    ours["satterthwaite_1m"] = _median(satt)
    ours["fit_and_satterthwaite_1m"] = ours["fit_1m"] + ours["satterthwaite_1m"]
    ours_df = satt()["df"].to_numpy()

    theirs, note = None, ""
    if shutil.which("Rscript"):
        script = tmp / "bench.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(tmp / "pigs.csv"), str(tmp / "big.csv")],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0:
            theirs = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            note = f"Rscript failed: {out.stderr.strip()[-300:]}"
    else:
        note = "Rscript not installed: lme4/lmerTest not measured"

    rows = []
    for case, label in [
        ("pigs_profile", "pigs: profile intervals, 6 parameters"),
        ("fit_1m", "1e6 rows, 1e4 groups: REML fit (lme4::lmer)"),
        ("satterthwaite_1m", "1e6 rows, 1e4 groups: Satterthwaite df (lmerTest: its extra cost)"),
        ("fit_and_satterthwaite_1m", "1e6 rows, 1e4 groups: fit + df (lmerTest::lmer)"),
    ]:
        r = theirs[case] if theirs else float("nan")
        rows.append(f"| {label} | {ours[case]:.2f} | {r:.2f} | {r / ours[case]:.1f}x |")
    lines = [
        "",
        "## Frequentist inference beside lme4 / lmerTest (`benchmarks/inference.py`)",
        "",
        f"Run on {time.strftime('%Y-%m-%d')}; median of three repetitions after a warm-up, "
        "seconds; ratio = lme4's time / hierarch's.",
        "",
        "| case | hierarch (s) | lme4 / lmerTest (s) | ratio |",
        "| --- | --- | --- | --- |",
        *rows,
    ]
    if theirs:
        lines.append(
            f"\nSatterthwaite df of the 1e6-row model: hierarch {np.round(ours_df, 3).tolist()}, "
            f"lmerTest {np.round(theirs['df'], 3).tolist()}."
        )
    if note:
        lines.append(f"\n{note}")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(Path(__file__).with_name("RESULTS.md"), "a") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
