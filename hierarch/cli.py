"""Command line: ``hierarch run models/rats.toml`` runs a ready analysis.

``hierarch explore --out explorer.html`` writes the interactive shrinkage explorer, one web
page that works offline (``hierarch explore --help`` lists its starting settings).

A model file is a small TOML document::

    [data]
    dataset = "rats"          # a bundled dataset (or: path = "file.csv")

    [model]
    type = "binomial"         # or "mixed", with formula = "y ~ x + (x | g)" and
                              # method = "reml" | "ml" for the frequentist twin
    successes = "m"
    trials = "n"
    group = "batch"
    multilevel = true
    conf_level = 0.95

    [sampler]                 # optional: NUTS settings for the Bayesian fit
    draws = 1000
    tune = 1000
    chains = 4
    random_seed = 2024

    [priors]                  # optional: priors of the Bayesian fit, by parameter name
    tau = { dist = "HalfNormal", sigma = 1 }

    [report]                  # optional
    new_group_trials = 20     # also predict a new group's count out of this many trials

The whole file is checked before anything is fitted: unknown sections or settings, sampler
settings and priors give one line naming the problem (no traceback), as do bad data and
formulas.

The run prints the frequentist and the Bayesian report and their comparison, and writes the
figures (PNG), the tables (CSV) and the Bayesian fit (``fit.nc``, reloadable with
``hierarch.load_fit``) into the output folder.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

import hierarch
from hierarch import plots
from hierarch.bayes.sampling import SamplerSettings
from hierarch.core.datasets import list_datasets, load_dataset
from hierarch.core.priors import Prior
from hierarch.core.validate import EXPLORER_N_SIMS, EXPLORER_RANGES, EXPLORER_VIEWS
from hierarch.frontends.explore import explore
from hierarch.report import mixed as report_mixed

__all__ = ["main", "run_model_file"]

_MODEL_KEYS = {
    "type",
    "successes",
    "trials",
    "group",
    "multilevel",
    "conf_level",
    "n_agq",
    "priors",
    "formula",
    "family",
    "method",
    "link",
}
_SAMPLER_KEYS = {"draws", "tune", "chains", "target_accept", "sampler", "random_seed"}


def _load_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            cfg = tomllib.load(fh)
    except FileNotFoundError:
        raise SystemExit(f"hierarch: model file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise SystemExit(f"hierarch: {path} is not valid TOML: {err}") from None
    for section in ("data", "model"):
        if section not in cfg:
            raise SystemExit(f"hierarch: {path} has no [{section}] section")
    sections = set(cfg) - {"data", "model", "sampler", "priors", "report"}
    if sections:
        raise SystemExit(
            f"hierarch: {path}: unknown section(s) {', '.join(f'[{s}]' for s in sorted(sections))}"
            "; sections: [data], [model], [sampler], [priors], [report]"
        )
    if "priors" in cfg:  # [priors] name = {dist = "HalfNormal", sigma = 1}
        if "priors" in cfg["model"]:
            raise SystemExit(f"hierarch: {path}: priors given twice ([priors] and model.priors)")
        cfg["model"]["priors"] = cfg.pop("priors")
    unknown = set(cfg["model"]) - _MODEL_KEYS
    unknown |= {f"sampler.{k}" for k in set(cfg.get("sampler", {})) - _SAMPLER_KEYS}
    if unknown:
        raise SystemExit(f"hierarch: {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    # the settings that only the Bayesian fit reads are checked now, before the frequentist
    # fit prints anything
    try:
        SamplerSettings(**cfg.get("sampler", {}))
        for name, value in (cfg["model"].get("priors") or {}).items():
            try:
                Prior.from_value(value)
            except ValueError as err:
                raise ValueError(f"prior {name!r}: {err}") from None
    except (ValueError, TypeError) as err:
        raise SystemExit(f"hierarch: {path}: {err}") from None
    return cfg


def _load_data(cfg: dict[str, Any], base: Path) -> pd.DataFrame:
    data = cfg["data"]
    if "dataset" in data:
        return load_dataset(data["dataset"])
    if "path" in data:
        return pd.read_csv(base / data["path"])
    raise SystemExit("hierarch: [data] needs either dataset = '...' or path = '...'")


def _save_figures(out: Path, figures: dict[str, Any]) -> list[Path]:
    import matplotlib.pyplot as plt

    written = []
    for name, draw in figures.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
        draw(ax)
        fig.savefig(out / name, dpi=120)
        plt.close(fig)
        written.append(out / name)
    return written


def _save_tables(out: Path, tables: dict[str, tuple[pd.DataFrame, bool]]) -> list[Path]:
    for name, (table, index) in tables.items():
        table.to_csv(out / name, index=index)
    return [out / name for name in tables]


def _run_binomial(data, model_cfg, sampler, cfg, out, progressbar) -> dict[str, Any]:

    n_agq = model_cfg.pop("n_agq", 1)
    priors = model_cfg.pop("priors", None)
    trials_new = cfg.get("report", {}).get("new_group_trials")
    ml = hierarch.binomial_model(data=data, method="ml", n_agq=n_agq, **model_cfg)
    print("-- Frequentist (maximum likelihood) --\n")
    print(ml, "\n")
    bayes = hierarch.binomial_model(
        data=data, method="bayes", priors=priors, progressbar=progressbar, **model_cfg, **sampler
    )
    print("-- Bayesian (NUTS) --\n")
    print(bayes, "\n")
    written: list[Path] = [bayes.save(out / "fit.nc")]
    if getattr(ml, "kind", "") == "multilevel":
        cmp = hierarch.compare(ml, bayes)
        print("-- Frequentist vs Bayesian --\n")
        print(cmp, "\n")
        print(bayes.tau(), "\n")
        ng = bayes.new_group(trials=trials_new)
        print(f"New group (posterior predictive, {100 * bayes.conf_level:g}%):")
        print(ng.round(4).to_string(), "\n")
        shrink = bayes.shrinkage()
        written += _save_tables(
            out,
            {
                "shrinkage_bayes.csv": (shrink, False),
                "shrinkage_ml.csv": (ml.shrinkage(), False),
                "comparison_groups.csv": (cmp.groups, False),
                "comparison_summary.csv": (cmp.summary, True),
            },
        )
        written += _save_figures(
            out,
            {
                "shrinkage.png": lambda ax: plots.plot_shrinkage(shrink, ax=ax),
                "population.png": lambda ax: plots.plot_population(bayes.population(), ng, ax=ax),
                "tau.png": lambda ax: plots.plot_tau(bayes.tau(), ax=ax),
            },
        )
    return {"ml": ml, "bayes": bayes, "files": written}


def _run_mixed(data, model_cfg, sampler, cfg, out, progressbar) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    import numpy as np

    conf_level = model_cfg.pop("conf_level", 0.95)
    n_agq = model_cfg.pop("n_agq", 1)
    method = model_cfg.pop("method", None)
    m = hierarch.model(
        model_cfg.pop("formula"), data, priors=model_cfg.pop("priors", None), **model_cfg
    )
    glmm_method = "agq" if n_agq not in (0, 1) else "laplace"
    freq_method = method or ("reml" if m.family == "gaussian" else glmm_method)
    ml = m.fit(method=freq_method, conf_level=conf_level, n_agq=n_agq)
    print(f"-- Frequentist ({freq_method.upper()}) --\n")
    print(ml, "\n")
    bayes = m.fit(method="bayes", progressbar=progressbar, conf_level=conf_level, **sampler)
    print("-- Bayesian (NUTS) --\n")
    print(bayes, "\n")
    side = report_mixed.compare(ml, bayes)
    print(f"-- {freq_method.upper()} and Bayesian side by side --\n")
    print(side.round(4).to_string(), "\n")
    written: list[Path] = [bayes.save(out / "fit.nc")]
    blocks = m.parsed.blocks
    tables: dict[str, tuple[pd.DataFrame, bool]] = {
        "coefficients_bayes.csv": (bayes.coefficients(), False),
    }
    tables["coefficients_ml.csv"] = (ml.coefficients(), False)
    tables["compare.csv"] = (side, True)
    figures: dict[str, Any] = {
        "caterpillar.png": lambda ax: plots.plot_caterpillar(
            bayes.coefficients(), blocks[0].columns[-1], ax=ax
        ),
    }
    try:
        shrink_ml, shrink_b = ml.shrinkage(), bayes.shrinkage()
    except ValueError as err:  # a structure the separate-fit comparison does not cover
        print(f"(no shrinkage table: {err})\n")
    else:
        where = "" if m.family == "gaussian" else f" ({m.link} scale)"
        print(f"-- Shrinkage: separate fits vs partial pooling{where} (first groups) --\n")
        print(shrink_b.head(10).round(4).to_string(index=False), "\n")
        tables["shrinkage_ml.csv"] = (shrink_ml, False)
        tables["shrinkage_bayes.csv"] = (shrink_b, False)
        slope_cols = [c for c in m.parsed.x_names if c != "Intercept"]
        if len(m.parsed.x_names) == 2 and slope_cols:
            x = m.parsed.X[:, m.parsed.x_names.index(slope_cols[0])]
            grid = np.linspace(x.min(), x.max(), 20)
            figures["shrinkage_2d.png"] = lambda ax: plots.plot_shrinkage_2d(shrink_b, ax=ax)
            figures["group_lines.png"] = lambda ax: plots.plot_group_lines(shrink_b, grid, ax=ax)
    if m.family == "gaussian" and all(b.columns == ["Intercept"] for b in blocks):
        print("ICC (posterior):")
        print(bayes.icc().round(4).to_string(index=False), "\n")
    scale = "" if m.family == "gaussian" else f", {m.link} scale"
    print(f"New group (coefficients, posterior predictive{scale}):")
    print(bayes.new_group().round(4).to_string(), "\n")
    written += _save_tables(out, tables)
    written += _save_figures(out, figures)
    axes = plots.plot_hyperparameters(report_mixed.hyperparameter_draws(bayes))
    axes[0].figure.savefig(out / "hyperparameters.png", dpi=110)
    plt.close(axes[0].figure)
    written.append(out / "hyperparameters.png")
    return {"ml": ml, "bayes": bayes, "files": written}


_RUNNERS = {"binomial": _run_binomial, "mixed": _run_mixed}


def run_model_file(
    path: str | Path, out: str | Path | None = None, progressbar: bool | None = None
) -> dict[str, Any]:
    """Run the analysis described by a model file; return the fits and written files."""
    import matplotlib

    matplotlib.use("Agg")

    path = Path(path)
    cfg = _load_config(path)
    model_cfg = dict(cfg["model"])
    kind = model_cfg.pop("type", "binomial")
    if kind not in _RUNNERS:
        raise SystemExit(f"hierarch: unknown model type {kind!r}; use one of {', '.join(_RUNNERS)}")
    out = Path(out) if out is not None else Path("output") / path.stem
    out.mkdir(parents=True, exist_ok=True)
    data = _load_data(cfg, path.parent)
    sampler = dict(cfg.get("sampler", {}))
    print(
        f"== {path.name}: {cfg['data'].get('dataset', cfg['data'].get('path'))}, "
        f"{len(data)} rows ==\n"
    )
    result = _RUNNERS[kind](data, model_cfg, sampler, cfg, out, progressbar)
    print("Wrote:\n" + "\n".join(f"  {p}" for p in result["files"]))
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hierarch`` command."""
    parser = argparse.ArgumentParser(prog="hierarch", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a ready analysis from a TOML model file")
    run.add_argument("model_file", type=Path)
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default: output/<model file name>)"
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sub.add_parser("datasets", help="list the bundled datasets")
    exp = sub.add_parser(
        "explore", help="write the interactive shrinkage explorer (one offline web page)"
    )
    exp.add_argument("--out", type=Path, default=Path("explorer.html"), help="the .html file")
    for name, (lo, hi, whole) in EXPLORER_RANGES.items():
        default = inspect.signature(explore).parameters[name].default
        exp.add_argument(
            f"--{name}",
            type=int if whole else float,
            default=default,
            help=f"starting value, {lo}-{hi} (default {default})",
        )
    exp.add_argument("--view", choices=EXPLORER_VIEWS, default="partial")
    exp.add_argument("--n-sims", type=int, choices=EXPLORER_N_SIMS, default=100)
    args = parser.parse_args(argv)
    if args.command == "explore":
        settings = {name: getattr(args, name) for name in EXPLORER_RANGES}
        try:
            path = explore(**settings, view=args.view, n_sims=args.n_sims).save(args.out)
        except ValueError as err:
            raise SystemExit(f"hierarch explore: {err}") from None
        print(f"Wrote {path}: open it in any browser (it needs no network)")
        return 0
    if args.command == "datasets":
        with pd.option_context("display.max_colwidth", 60, "display.width", 140):
            print(list_datasets()[["rows", "columns", "description"]].to_string())
        return 0
    try:
        run_model_file(args.model_file, args.out, progressbar=False if args.no_progress else None)
    except (ValueError, TypeError) as err:  # bad data, formula, dataset, priors: no traceback
        raise SystemExit(f"hierarch: {args.model_file}: {err}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
