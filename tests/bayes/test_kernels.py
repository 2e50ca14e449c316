"""The hand-written log-density of random-intercept GLMMs (:mod:`hierarch.bayes.kernels`)
against the PyMC graph it replaces: the same log density up to a constant and the same
gradient at random points (compiled by PyTensor in FAST_COMPILE mode: no C or numba code,
so no compile cost here), for every family, link, parameterization and group-SD prior the
kernel covers; the models it does not cover keep the graph; a fit through the kernel gives
the same posterior as one through the graph (slow tier)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.bayes.kernels import glmm_kernel

SEED = 20261202


def _sim(rng, n=300, J1=12, J2=7):
    g1, g2 = rng.integers(0, J1, n), rng.integers(0, J2, n)
    x = rng.standard_normal(n)
    exposure = rng.uniform(0.5, 2.0, n)
    eta = -0.3 + 0.5 * x + rng.normal(0, 0.7, J1)[g1] + rng.normal(0, 0.4, J2)[g2]
    return pd.DataFrame(
        {
            "x": x,
            "f": rng.choice(["a", "b", "c"], n),
            "g1": [f"s{j:02d}" for j in g1],
            "g2": [f"t{j}" for j in g2],
            "hit": rng.binomial(1, 1 / (1 + np.exp(-eta))),
            "count": rng.poisson(np.exp(eta) * exposure),
            "exposure": exposure,
            "trials": rng.integers(1, 9, n),
        }
    ).assign(succ=lambda d: rng.binomial(d["trials"], 1 / (1 + np.exp(-eta))))


CASES = {
    "binomial, covariates, non-centred": (
        "succ | trials(trials) ~ x + C(f) + (1 | g1)", "binomial", {}, "non-centred",
    ),
    "binomial, centred": ("succ | trials(trials) ~ x + (1 | g1)", "binomial", {}, "centred"),
    "bernoulli, aggregated cells, two factors": (
        "hit ~ C(f) + (1 | g1) + (1 | g2)", "bernoulli", {}, {"g1": "centred", "g2": "non-centred"},
    ),
    "bernoulli, row by row, exponential SD prior": (
        "hit ~ x + (1 | g1)", "bernoulli", {"sd_g1": {"dist": "Exponential", "lam": 2.0}},
        "non-centred",
    ),
    "poisson, offset, half-t and half-Cauchy SD priors": (
        "count ~ x + offset(log(exposure)) + (1 | g1) + (1 | g2)", "poisson",
        {"sd_g1": {"dist": "HalfStudentT", "nu": 4, "sigma": 0.8},
         "sd_g2": {"dist": "HalfCauchy", "beta": 0.5}},
        "centred",
    ),
    "poisson, no intercept": ("count ~ 0 + x + (1 | g1)", "poisson", {}, "centred"),
}  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return _sim(np.random.default_rng(SEED))


def _point_dict(pm_model, x):
    out, i = {}, 0
    for v in pm_model.value_vars:  # shapes from the variables' named dimensions
        dims = pm_model.named_vars_to_dims[pm_model.values_to_rvs[v].name]
        shape = tuple(len(pm_model.coords[d]) for d in dims)
        size = int(np.prod(shape))
        out[v.name] = x[i : i + size].reshape(shape)
        i += size
    assert i == len(x)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_equals_the_pymc_graph(case, data):
    # the log density to 1e-9 up to one constant (differences between points) and the
    # gradient to 1e-9 relative: the same function, evaluated in another order
    formula, family, priors, par = CASES[case]
    model = hierarch.model(formula, data, family=family, priors=priors, parameterization=par)
    pm_model = model.build()
    kernel = pm_model._hierarch_kernel
    assert kernel is not None
    if "aggregated" in case:
        assert kernel.X.shape[0] < model.parsed.n  # alike rows summed into binomial cells
    logp = pm_model.compile_logp(mode="FAST_COMPILE")
    dlogp = pm_model.compile_dlogp(mode="FAST_COMPILE")
    rng = np.random.default_rng(1)
    points = [kernel.initial_point(s) + rng.normal(0, 0.5, kernel.n_dim) for s in range(6)]
    ref = np.array([logp(_point_dict(pm_model, x)) for x in points])
    mine = np.array([kernel.logp(x)[0] for x in points])
    np.testing.assert_allclose(mine - mine[0], ref - ref[0], atol=1e-9 * np.abs(ref).max())
    for x in points:
        g_ref = dlogp(_point_dict(pm_model, x))
        np.testing.assert_allclose(kernel.logp(x)[1], g_ref, rtol=1e-9, atol=1e-9)
    # the stored variables: the graph's names and shapes
    expanded = kernel.expand(points[0])
    assert set(expanded) == {v.name for v in pm_model.free_RVs + pm_model.deterministics}


def _shape(pm_model, v):
    """A value variable's shape from its named dimensions (the LKJ factor's packed vector
    has none: k (k + 1) / 2 values)."""
    dims = pm_model.named_vars_to_dims.get(pm_model.values_to_rvs[v].name)
    if dims:
        return tuple(len(pm_model.coords[d]) for d in dims)
    return (3,) if "cholesky-cov-packed" in v.name else ()


LMM_CASES = {
    "random intercept, default priors": ("y ~ x + (1 | g1)", {}, None),
    "random intercept, half-t SD, exponential sigma": (
        "y ~ x + C(f) + (1 | g1)",
        {"sd_g1": {"dist": "HalfStudentT", "nu": 3, "sigma": 2.0},
         "sigma": {"dist": "Exponential", "lam": 0.5}},
        None,
    ),
    "random slope, LKJ(2), default priors": ("y ~ x + (x | g1)", {}, None),
    "random slope, LKJ(1), one SD scale, half-Cauchy sigma": (
        "y ~ x + (x | g1)",
        {"sd_g1": {"dist": "HalfNormal", "sigma": 3.0}, "lkj_eta": 1.0,
         "sigma": {"dist": "HalfCauchy", "beta": 2.0}},
        None,
    ),
    "random slope, prior weights": ("y ~ x + (x | g1)", {}, "w"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LMM_CASES))
def test_marginal_gaussian_kernel_equals_the_pymc_graph(case, data):
    # the marginalized one-factor Gaussian model (group effects integrated out): log density
    # to 1e-9 up to a constant, gradient to 1e-9, the stored variables equal to the graph's
    formula, priors, weights = LMM_CASES[case]
    rng = np.random.default_rng(7)
    df = data.assign(
        y=2.0 + 0.8 * data["x"] + rng.normal(0, 1.0, len(data)) * 3,
        w=rng.uniform(0.5, 2.0, len(data)),
    )
    model = hierarch.model(formula, df, priors=priors, weights=weights)
    pm_model = model.build_marginal()
    kernel = pm_model._hierarch_kernel
    assert kernel is not None and type(kernel).__name__ == "LMMKernel"
    logp = pm_model.compile_logp(mode="FAST_COMPILE")
    dlogp = pm_model.compile_dlogp(mode="FAST_COMPILE")
    dets = pm_model.compile_fn(
        pm_model.replace_rvs_by_values(list(pm_model.deterministics) + list(pm_model.free_RVs)),
        inputs=pm_model.value_vars,
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )

    def as_dict(x):
        out, i = {}, 0
        for v in pm_model.value_vars:
            shape = _shape(pm_model, v)
            size = int(np.prod(shape))
            out[v.name] = x[i : i + size].reshape(shape)
            i += size
        return out

    points = [kernel.initial_point(s) + rng.normal(0, 0.3, kernel.n_dim) for s in range(5)]
    ref = np.array([logp(as_dict(x)) for x in points])
    mine = np.array([kernel.logp(x)[0] for x in points])
    np.testing.assert_allclose(mine - mine[0], ref - ref[0], atol=1e-9 * np.abs(ref).max())
    for x in points:
        np.testing.assert_allclose(kernel.logp(x)[1], dlogp(as_dict(x)), rtol=1e-9, atol=1e-9)
    names = [d.name for d in pm_model.deterministics] + [v.name for v in pm_model.free_RVs]
    expanded = kernel.expand(points[1])
    assert set(expanded) == set(names)
    for name, val in zip(names, dets(as_dict(points[1])), strict=True):
        np.testing.assert_allclose(expanded[name], val, rtol=1e-12, atol=1e-14, err_msg=name)


def test_models_outside_the_class_keep_the_graph(data):
    # a random slope, a probit link, a negative binomial, a Student-t prior on a fixed
    # effect, a log-normal SD prior: no kernel, the PyMC graph is compiled as before
    outside = [
        ("hit ~ x + (x | g1)", "bernoulli", {}, {}),
        ("hit ~ x + (1 | g1)", "bernoulli", {"link": "probit"}, {}),
        ("count ~ x + (1 | g1)", "negative_binomial", {}, {}),
        ("hit ~ x + (1 | g1)", "bernoulli", {}, {"x": {"dist": "StudentT", "nu": 3, "sigma": 1}}),
        ("hit ~ x + (1 | g1)", "bernoulli", {},
         {"sd_g1": {"dist": "LogNormal", "mu": 0, "sigma": 1}}),
    ]  # fmt: skip
    for formula, family, kw, priors in outside:
        model = hierarch.model(formula, data, family=family, priors=priors, **kw)
        assert model.build()._hierarch_kernel is None, formula
    # Gaussian: two grouping factors, three effects per group (the graph's own paths)
    df = data.assign(y=data["x"] + data["count"])
    for formula in ("y ~ x + (1 | g1) + (1 | g2)", "y ~ x + C(f) + (x + C(f) | g1)"):
        pm_model = hierarch.model(formula, df).build_marginal()
        assert getattr(pm_model, "_hierarch_kernel", None) is None, formula
    # and the switch turns it off
    model = hierarch.model("hit ~ x + (1 | g1)", data, family="bernoulli")
    pm_model = model.build()
    assert glmm_kernel(model, model.parameterization, pm_model) is not None


def test_kernel_fit_reports_itself_and_is_reproducible(data):
    model = hierarch.model(
        "succ | trials(trials) ~ x + (1 | g1)", data, family="binomial",
        parameterization="non-centred",
    )  # fmt: skip
    kw = dict(draws=200, tune=200, chains=2, random_seed=SEED, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        a, b = model.fit(method="bayes", **kw), model.fit(method="bayes", **kw)
    assert a.spec["log_density"] == "hierarch kernel"
    # the same seed gives the same draws (the same process and compiled code: exact)
    np.testing.assert_array_equal(a.idata.posterior["beta"], b.idata.posterior["beta"])
    post = a.idata.posterior
    assert set(post.data_vars) == {"beta", "sd_g1", "z_g1", "b_g1"}
    np.testing.assert_allclose(
        post["b_g1"], post["z_g1"] * post["sd_g1"].values[:, :, None, :], rtol=1e-12
    )


@pytest.mark.slow
def test_kernel_posterior_equals_the_graphs(monkeypatch):
    # cbpp, 4 x 1000 draws each way: posterior means of beta and the herd SD within 3
    # combined Monte Carlo SEs (independent runs: the draws differ, the posterior must not)
    import arviz as az

    cbpp = hierarch.load_dataset("cbpp")
    model = hierarch.model(
        "incidence | trials(size) ~ C(period) + (1 | herd)", cbpp, family="binomial"
    )
    kern = model.fit(method="bayes", random_seed=SEED, progressbar=False)
    monkeypatch.setenv("HIERARCH_KERNELS", "0")
    graph = model.fit(method="bayes", random_seed=SEED + 1, progressbar=False)
    assert kern.spec["log_density"] == "hierarch kernel"
    assert graph.spec["log_density"] == "PyMC graph"
    for var in ("beta", "sd_herd"):
        a, b = kern.idata.posterior[var], graph.idata.posterior[var]
        se = np.sqrt(
            az.mcse(kern.idata, var_names=[var])[var].values ** 2
            + az.mcse(graph.idata, var_names=[var])[var].values ** 2
        )
        diff = a.mean(("chain", "draw")).values - b.mean(("chain", "draw")).values
        assert np.all(np.abs(diff) < 3 * se), (var, diff, se)


@pytest.mark.slow
def test_marginal_kernel_posterior_equals_the_graphs(monkeypatch):
    # sleepstudy's random slopes, 4 x 1000 draws each way: posterior means within 3
    # combined Monte Carlo SEs
    import arviz as az

    sleep = hierarch.load_dataset("sleepstudy")
    model = hierarch.model("Reaction ~ Days + (Days | Subject)", sleep)
    kern = model.fit(method="bayes", random_seed=SEED, progressbar=False)
    monkeypatch.setenv("HIERARCH_KERNELS", "0")
    graph = model.fit(method="bayes", random_seed=SEED + 1, progressbar=False)
    assert kern.spec["log_density"] == "hierarch kernel"
    assert graph.spec["log_density"] == "PyMC graph"
    for var in ("beta", "sd_Subject", "corr_Subject", "sigma", "b_Subject"):
        a, b = kern.idata.posterior[var], graph.idata.posterior[var]
        se = np.sqrt(
            az.mcse(kern.idata, var_names=[var])[var].values ** 2
            + az.mcse(graph.idata, var_names=[var])[var].values ** 2
        )
        diff = a.mean(("chain", "draw")).values - b.mean(("chain", "draw")).values
        ok = np.abs(diff) < 3 * se + 1e-12  # corr's diagonal: exactly 1 both ways
        assert ok.mean() > 0.99 if var == "b_Subject" else ok.all(), (var, diff, se)
