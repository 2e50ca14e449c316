"""`hierarch run model.toml`: reports printed, figures, tables and a reloadable fit written."""

from __future__ import annotations

import pandas as pd
import pytest

import hierarch
from hierarch.cli import main

TOML = """
[data]
dataset = "rats"

[model]
type = "binomial"
successes = "m"
trials = "n"
group = "batch"
multilevel = true

[sampler]
draws = 300
tune = 300
chains = 2
random_seed = 11

[report]
new_group_trials = 20
"""


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # short run
def test_run_writes_reports_figures_and_fit(tmp_path, capsys):
    cfg = tmp_path / "rats.toml"
    cfg.write_text(TOML)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "-- Frequentist (maximum likelihood) --" in text
    assert "  Mu              :  -1.9369  (grand mean, log-odds)" in text
    assert "-- Bayesian (NUTS) --" in text
    assert "-- Frequentist vs Bayesian --" in text
    for name in [
        "fit.nc",
        "shrinkage.png",
        "population.png",
        "tau.png",
        "shrinkage_bayes.csv",
        "shrinkage_ml.csv",
        "comparison_groups.csv",
        "comparison_summary.csv",
    ]:
        assert (out / name).stat().st_size > 0, name
    fit = hierarch.load_fit(out / "fit.nc")
    saved = pd.read_csv(out / "shrinkage_bayes.csv")
    pd.testing.assert_series_equal(
        saved["partial"], fit.shrinkage()["partial"], check_exact=False, rtol=1e-12
    )
    assert fit.spec["sampler"]["draws"] == 300


def test_datasets_command(capsys):
    assert main(["datasets"]) == 0
    assert "grouseticks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,message",
    [
        ("[model]\ntype='binomial'\n", r"has no \[data\] section"),
        ("[data]\ndataset='rats'\n[model]\nsucesses='m'\n", r"unknown setting\(s\) sucesses"),
        ("[data]\ndataset='rats'\n[model]\ntype='gaussian'\n", "unknown model type 'gaussian'"),
        ("[data\n", "is not valid TOML"),
        # issue 11, item 9: every part of the file is checked before anything is fitted
        (
            "[data]\ndataset='rats'\n[model]\nsuccesses='m'\ntrials='n'\n[prior]\n",
            r"unknown section\(s\) \[prior\]",
        ),
        (
            "[data]\ndataset='rats'\n[model]\nsuccesses='m'\ntrials='n'\n"
            "[priors]\ntau={dist='HalfNormal', sigma=-1}\n",
            r"prior 'tau': Prior\('HalfNormal'\): sigma must be positive",
        ),
        (
            "[data]\ndataset='rats'\n[model]\nsuccesses='m'\ntrials='n'\n[sampler]\ndraws='many'\n",
            "draws must be a whole number, got 'many'",
        ),
        ("[data]\ndataset='ratz'\n[model]\nsuccesses='m'\ntrials='n'\n", "ratz"),
        (
            "[data]\ndataset='sleepstudy'\n[model]\ntype='mixed'\n"
            "formula='y ~ Days + (1 | Subject)'\n",
            "'y'",
        ),
    ],
)
def test_bad_model_files(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(SystemExit, match=message) as err:
        main(["run", str(cfg), "--out", str(tmp_path / "o")])
    assert str(err.value).startswith("hierarch: ")  # one line, no traceback
    assert not (tmp_path / "o" / "fit.nc").exists()  # nothing was fitted


def test_missing_model_file(tmp_path):
    with pytest.raises(SystemExit, match="model file not found"):
        main(["run", str(tmp_path / "nope.toml")])


MIXED_TOML = """
[data]
dataset = "sleepstudy"

[model]
type = "mixed"
formula = "Reaction ~ Days + (Days | Subject)"
method = "reml"

[sampler]
draws = 300
tune = 300
chains = 2
random_seed = 3
"""


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # short run
def test_run_mixed_model_file(tmp_path, capsys):
    cfg = tmp_path / "sleep.toml"
    cfg.write_text(MIXED_TOML)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Linear mixed model fit by REML" in text
    assert "REML criterion: 1743.6283" in text
    assert "Linear mixed model (gaussian, identity link), Bayesian" in text
    for name in [
        "fit.nc",
        "shrinkage_2d.png",
        "group_lines.png",
        "caterpillar.png",
        "hyperparameters.png",
        "shrinkage_bayes.csv",
        "coefficients_ml.csv",
    ]:
        assert (out / name).stat().st_size > 0, name
    fit = hierarch.load_fit(out / "fit.nc")
    assert fit.spec["formula"] == "Reaction ~ Days + (Days | Subject)"


def test_shipped_model_files_parse():
    from pathlib import Path

    from hierarch.cli import _load_config

    files = sorted((Path(__file__).parents[1] / "models").glob("*.toml"))
    assert [f.stem for f in files] == [
        "alcohol",
        "cbpp",
        "grouseticks",
        "pigs",
        "rats",
        "sleepstudy",
    ]
    for f in files:
        cfg = _load_config(f)
        assert cfg["model"]["type"] in ("binomial", "mixed")
