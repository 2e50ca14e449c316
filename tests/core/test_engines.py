"""Statistics computed in DuckDB (Parquet files, a relation) and on a local Dask cluster
(2 workers) against pandas: integer counts exactly, sums to 1e-10 relative (the engines add
in another order); fits from them against fits from the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.core.engines import binomial_cells, engine_of, gaussian_statistics
from hierarch.core.formula import parse_formula
from hierarch.freq.lmm import fit_lmm, fit_lmm_statistics

duckdb = pytest.importorskip("duckdb")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    n = 3000
    g = rng.integers(0, 60, n)
    x = rng.normal(size=n)
    w = rng.integers(0, 4, n)
    y = 1 + 0.5 * x + rng.normal(0, 1, 60)[g] + rng.normal(0, 0.3, 60)[g] * x
    y = y + rng.normal(size=n)
    eta = -0.3 + 0.4 * w + rng.normal(0, 0.7, 60)[g]
    return pd.DataFrame(
        {
            "g": np.char.add("g", g.astype(str)),
            "x": x,
            "w": w,
            "y": y,
            "hit": rng.binomial(1, 1 / (1 + np.exp(-eta))),
        }
    )


@pytest.fixture(scope="module")
def parquet_dir(frame, tmp_path_factory):
    d = tmp_path_factory.mktemp("parquet")
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[rows].to_parquet(d / f"part{i}.parquet")
    return d


@pytest.fixture(scope="module")
def dask_frame(frame):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        yield dd.from_pandas(frame, npartitions=4)


X, Z = ["Intercept", "x", "x:w"], ["Intercept", "x"]


def _same(a, b):
    assert a.levels == b.levels and a.n == b.n
    np.testing.assert_array_equal(a.n_g, b.n_g)
    for name in ("XtX", "Xty", "ZtZ_g", "ZtX_g", "Zty_g"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-10)
    assert a.yty == pytest.approx(b.yty, rel=1e-10)


def test_gaussian_statistics_agree_across_engines(frame, parquet_dir, dask_frame):
    ref = gaussian_statistics(frame, "y", X, "g", Z)
    # the statistics are the cross-products of the design
    pf = parse_formula("y ~ x + x:w + (x | g)", frame)
    np.testing.assert_allclose(ref.XtX, pf.X.T @ pf.X, rtol=1e-12)
    sources = {
        "duckdb": parquet_dir,
        "parquet glob": str(parquet_dir / "*.parquet"),
        "relation": duckdb.read_parquet(str(parquet_dir / "*.parquet")),
        "dask": dask_frame,
    }
    for name, src in sources.items():
        got = gaussian_statistics(src, "y", X, "g", Z)
        assert got.engine == ("dask" if name == "dask" else "duckdb"), name
        _same(got, ref)


def test_binomial_cells_agree_across_engines(frame, parquet_dir, dask_frame):
    ref = binomial_cells(frame, "hit", ["g", "w"])
    assert ref["trials"].sum() == len(frame) and ref["hit"].sum() == frame["hit"].sum()
    for src in (parquet_dir, dask_frame):
        got = binomial_cells(src, "hit", ["g", "w"])
        pd.testing.assert_frame_equal(got, ref, check_dtype=False)


def test_fit_from_statistics_equals_the_fit_from_rows(frame, parquet_dir):
    rows = fit_lmm(parse_formula("y ~ x + (x | g)", frame))
    st = gaussian_statistics(parquet_dir, "y", ["Intercept", "x"], "g", Z)
    fit = fit_lmm_statistics(st)
    # one optimiser, the same arithmetic: the criteria agree to rounding
    assert fit.criterion == pytest.approx(rows.criterion, rel=1e-12)
    np.testing.assert_allclose(fit.beta, rows.beta, rtol=1e-6)
    np.testing.assert_allclose(fit.ranef[0], rows.ranef[0], rtol=1e-5, atol=1e-6)
    via = hierarch.from_engine("y ~ x + (x | g)", parquet_dir)
    assert via.criterion == pytest.approx(rows.criterion, rel=1e-12)


def test_bernoulli_from_parquet_fits_the_same_model(frame, parquet_dir):
    m = hierarch.from_engine("hit ~ w + (1 | g)", parquet_dir, family="bernoulli")
    assert len(m.data) <= 4 * 60
    a = m.fit(method="laplace")
    b = hierarch.model("hit ~ w + (1 | g)", frame, family="bernoulli").fit(method="laplace")
    # the same likelihood up to a constant: estimates equal to the optimiser's tolerance
    np.testing.assert_allclose(a.glmm.beta, b.glmm.beta, rtol=1e-5)
    np.testing.assert_allclose(a.glmm.cov[0], b.glmm.cov[0], rtol=1e-5)


def test_bad_engine_input_gets_clear_errors(frame, parquet_dir, tmp_path):
    with pytest.raises(TypeError, match="not supported"):
        engine_of([1, 2])
    with pytest.raises(ValueError, match="encode factors"):
        gaussian_statistics(parquet_dir, "y", ["Intercept", "g"], "g", ["Intercept"])
    with pytest.raises(ValueError, match="not a column"):
        gaussian_statistics(parquet_dir, "yy", ["Intercept"], "g", ["Intercept"])
    with pytest.raises(ValueError, match="one random-effect term"):
        hierarch.from_engine("y ~ x + (1 | g) + (1 | w)", parquet_dir)
    bad = frame.assign(hit=frame["hit"] * 2)
    with pytest.raises(ValueError, match="outside"):
        binomial_cells(bad, "hit", ["g"])
    missing = frame.assign(y=frame["y"].where(frame.index != 2500))
    with pytest.raises(ValueError, match="missing values"):
        gaussian_statistics(missing, "y", ["Intercept"], "g", ["Intercept"])
    # beyond the sample the formula is read against, in Parquet: the engine counts them
    path = tmp_path / "missing.parquet"
    missing.to_parquet(path)
    with pytest.raises(ValueError, match=r"1 rows have missing values \(in y \(1\)\)"):
        hierarch.from_engine("y ~ x + (1 | g)", path)
