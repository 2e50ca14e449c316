"""Fits from a 50-million-row Parquet dataset through DuckDB (issue 13's benchmark).

Two datasets are written once to a folder of Parquet files (``--dir``, default a temporary
folder; 10 files, written in chunks so the writer itself stays small):

- ``gauss_50m``: ``y ~ x + (x | g)``, 10,000 groups, Gaussian random intercepts and slopes;
- ``bernoulli_50m``: ``hit ~ w + (1 | g)``, 10,000 groups, a covariate with 4 values.

Each fit runs in a fresh process (``hierarch.from_engine`` on the folder): wall time of the
whole fit (statistics in DuckDB, then the REML fit, or the Laplace fit of the aggregated
cells) and the process's peak resident memory.  Target: peak under 4 GiB.

    .venv/bin/python benchmarks/engines.py     # appends a section to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N, J, FILES = 50_000_000, 10_000, 10

FIT = r"""
import json, sys, time
import hierarch
path, case = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if case == "gauss_50m":
    fit = hierarch.from_engine("y ~ x + (x | g)", path)
    out = {"beta": list(fit.beta), "sd": [float(v) for v in fit.varcorr()["sdcor"]]}
else:
    m = hierarch.from_engine("hit ~ w + (1 | g)", path, family="bernoulli")
    cells = len(m.data)
    fit = m.fit(method="laplace")
    out = {"beta": list(fit.glmm.beta), "sd": [float(fit.glmm.cov[0][0, 0] ** 0.5)],
           "cells": cells}
out["time"] = time.perf_counter() - t
print(json.dumps(out))
"""


def write(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2026)
    a, b = rng.normal(0, 1.0, J), rng.normal(0, 0.3, J)
    u = rng.normal(0, 0.8, J)
    per = N // FILES
    for i in range(FILES):
        g = rng.integers(0, J, per).astype(np.int32)
        x = rng.normal(size=per)
        y = 2.0 + a[g] + (0.5 + b[g]) * x + rng.normal(size=per)
        w = rng.integers(0, 4, per).astype(np.int8)
        eta = -1.0 + 0.3 * w + u[g]
        hit = (rng.random(per) < 1 / (1 + np.exp(-eta))).astype(np.int8)
        table = pa.table({"g": g, "x": x, "y": y, "w": w, "hit": hit})
        pq.write_table(table, folder / f"part{i:02d}.parquet", row_group_size=1_000_000)
        del g, x, y, w, eta, hit, table


def run(folder: Path, case: str) -> tuple[dict, float]:
    wrapper = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr[-2000:])\n"
        "print(r.stdout.strip().splitlines()[-1])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-c", FIT, str(folder), case],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-2]), int(lines[-1]) / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write engines.md and engines.json here "
        "instead of appending to RESULTS.md (benchmarks/targets.py)",
    )
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="hierarch50m-"))
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if not list(folder.glob("*.parquet")):
        write(folder)
    t_write = time.perf_counter() - t
    size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 1024**3
    res = {case: run(folder, case) for case in ("gauss_50m", "bernoulli_50m")}
    lines = [
        "",
        f"## 50 million rows from Parquet through DuckDB (issue 13; `benchmarks/engines.py`, "
        f"{time.strftime('%Y-%m-%d')})",
        "",
        f"One run on {platform.node()}: {platform.machine()}, Python "
        f"{platform.python_version()} ({os.cpu_count()} cores). {N:,} rows, {J:,} groups, "
        f"{FILES} Parquet files, {size:.2f} GiB on disk (written in {t_write:.0f} s). Each fit "
        "in a fresh process with `hierarch.from_engine(formula, folder)`; the rows never enter "
        "pandas.",
        "",
        "| case | model | fit s (statistics + fit) | peak GiB | estimates (beta; SDs, "
        "correlation, residual SD) |",
        "|---|---|---|---|---|",
    ]
    models = {
        "gauss_50m": "y ~ x + (x \\| g), REML",
        "bernoulli_50m": "hit ~ w + (1 \\| g), Laplace",
    }
    for case, (out, mem) in res.items():
        est = ", ".join(f"{v:.4g}" for v in out["beta"] + out["sd"])
        extra = f" ({out['cells']:,} binomial cells)" if "cells" in out else ""
        lines.append(f"| {case} | {models[case]} | {out['time']:.1f} | {mem:.2f} | {est}{extra} |")
    worst = max(mem for _, mem in res.values())
    lines += [
        "",
        f"- peak memory {worst:.2f} GiB (target: under 4 GiB): "
        + ("met." if worst < 4 else "**missed**."),
        "- simulated truth: gauss_50m beta (2, 0.5), SDs (1, 0.3), residual 1; bernoulli_50m "
        "beta (-1, 0.3), SD 0.8.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "engines.md").write_text(text)
        (args.out / "engines.json").write_text(
            json.dumps({case: {**o, "peak_gib": mem} for case, (o, mem) in res.items()})
        )
        return
    with open(HERE / "RESULTS.md", "a") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
