"""Statistics computed where the data live: a Parquet dataset or a DuckDB relation (through
DuckDB, out of core on one machine), a Dask DataFrame (a cluster), or a pandas DataFrame (the
reference the others are tested against).  The rows never come into pandas.

Two reductions are exact for the models they serve:

* :func:`gaussian_statistics` -- per-group sums of products of the design columns and the
  response (``Z_j'Z_j``, ``Z_j'X_j``, ``Z_j'y_j``, and summed over groups ``X'X``, ``X'y``,
  ``y'y``): the profiled REML/ML deviance of a Gaussian model with one grouping factor
  depends on the data only through these (:func:`hierarch.freq.lmm.fit_lmm_statistics`);
* :func:`binomial_cells` -- Bernoulli or binomial rows that share every covariate and the
  group, summed into one binomial cell (successes, trials): the likelihood is the same up to
  a constant, so ``hierarch.model("y | trials(n) ~ ...", cells)`` fits the same model.

Design columns are ``Intercept``, numeric columns and products of them (``a:b``), as a
formula writes them; anything else (factors, transformations) gets a clear error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["GaussianStatistics", "binomial_cells", "engine_of", "gaussian_statistics"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def engine_of(source) -> str:
    """``"duckdb"`` (a DuckDB relation, or a path / glob of Parquet files), ``"dask"`` or
    ``"pandas"``; anything else is refused with the kinds that are accepted."""
    if isinstance(source, pd.DataFrame):
        return "pandas"
    if isinstance(source, (str, Path)):
        return "duckdb"
    mod = type(source).__module__
    if mod.startswith("duckdb"):
        return "duckdb"
    if mod.startswith("dask"):
        return "dask"
    raise TypeError(
        f"data of type {type(source).__name__} is not supported: give a pandas DataFrame, a "
        "Parquet file or glob (str or Path), a DuckDB relation or a Dask DataFrame"
    )


def _relation(source):
    import duckdb

    if isinstance(source, (str, Path)):
        text = str(source)
        if not (text.endswith(".parquet") or "*" in text or Path(text).is_dir()):
            raise ValueError(f"{text!r}: give a Parquet file, a glob of them or a folder")
        if Path(text).is_dir():
            text = str(Path(text) / "**" / "*.parquet")
        return duckdb.read_parquet(text)
    return source


def _columns(source) -> list[str]:
    kind = engine_of(source)
    if kind == "duckdb":
        return list(_relation(source).columns)
    return list(source.columns)


def _numeric(source) -> set[str]:
    """The numeric (or boolean) columns of the data, from the schema alone."""
    kind = engine_of(source)
    if kind == "duckdb":
        rel = _relation(source)
        names = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
        return {
            c
            for c, t in zip(rel.columns, rel.types, strict=True)
            if str(t)
            .upper()
            .startswith(
                names + ("DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "BOOLEAN")
            )
        }
    return {c for c, t in source.dtypes.items() if pd.api.types.is_numeric_dtype(t)}


def _factors(term: str, columns: list[str], numeric: set[str]) -> list[str]:
    """The columns whose product is design column ``term`` (``[]`` for the intercept)."""
    if term == "Intercept":
        return []
    parts = term.split(":")
    for p in parts:
        if not _NAME.match(p) or p not in numeric:
            raise ValueError(
                f"design column {term!r}: data in an engine take the intercept, numeric "
                "columns and their products (a:b); encode factors and transformations as "
                f"columns first (the data have: {', '.join(columns)})"
            )
    return parts


@dataclass
class GaussianStatistics:
    """Sufficient statistics of a Gaussian model with one grouping factor.

    ``ZtZ_g`` (J, k, k), ``ZtX_g`` (J, k, p), ``Zty_g`` (J, k) per level of ``group`` (in
    ``levels`` order, sorted); ``XtX`` (p, p), ``Xty`` (p,), ``yty`` and ``n`` over all rows;
    ``n_g`` the rows per level."""

    response: str
    group: str
    x_names: list[str]
    z_names: list[str]
    levels: list
    n: int
    n_g: np.ndarray
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    ZtZ_g: np.ndarray
    ZtX_g: np.ndarray
    Zty_g: np.ndarray
    engine: str = field(default="pandas")


def _check_complete(source, cols: list[str], kind: str) -> None:
    """Engines' sums skip missing values: count the incomplete rows first and refuse them."""
    cols = list(dict.fromkeys(cols))
    if kind == "duckdb":
        rel = _relation(source)
        numeric = _numeric(source)
        cond = " OR ".join(
            f'"{c}" IS NULL' + (f' OR isnan(CAST("{c}" AS DOUBLE))' if c in numeric else "")
            for c in cols
        )
        counts = rel.aggregate(
            ", ".join(f'SUM(CASE WHEN "{c}" IS NULL THEN 1 ELSE 0 END) AS "{c}"' for c in cols)
            + f", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS __rows"
        ).fetchall()[0]
        per_col = dict(zip(cols, counts[:-1], strict=True))
        rows = int(counts[-1] or 0)
    else:
        na = source[cols].isna()
        per, rows = na.sum(), na.any(axis=1).sum()
        if kind == "dask":
            per, rows = per.compute(), rows.compute()
        per_col, rows = dict(per.items()), int(rows)
    if rows:
        named = ", ".join(f"{c} ({int(v or 0)})" for c, v in per_col.items() if v) or "NaN values"
        raise ValueError(
            f"{rows} rows have missing values (in {named}): the engine would skip them "
            "silently, so drop or fill those rows where the data live first"
        )


def _product_sql(factors: list[str]) -> str:
    return " * ".join(f'CAST("{f}" AS DOUBLE)' for f in factors) if factors else "1.0"


def _grouped_sums(source, group: str, products: dict[str, list[str]], kind: str) -> pd.DataFrame:
    """``SELECT group, COUNT(*), SUM(product) ... GROUP BY group`` in the engine; a small
    frame (one row per level) comes back."""
    if kind == "duckdb":
        rel = _relation(source)
        sums = ", ".join(f'SUM({_product_sql(f)}) AS "{k}"' for k, f in products.items())
        out = rel.aggregate(f'"{group}" AS g, COUNT(*) AS n_rows, {sums}', f'"{group}"').df()
    else:

        def prod(df, f):
            v = 1.0
            for c in f:
                v = v * df[c].astype("float64")
            return v

        assign = {k: (lambda df, f=f: prod(df, f)) for k, f in products.items()}
        frame = source[[group] + sorted({c for f in products.values() for c in f})]
        frame = frame.assign(n_rows=1, **assign)
        out = frame.groupby(group)[["n_rows", *products]].sum()
        if kind == "dask":
            out = out.compute()
        out = out.reset_index().rename(columns={group: "g"})
    if out["g"].isna().any():
        raise ValueError(f"column {group!r} has missing values: drop or fill those rows first")
    return out.sort_values("g", kind="stable").reset_index(drop=True)


def gaussian_statistics(
    source, response: str, x_names: list[str], group: str, z_names: list[str]
) -> GaussianStatistics:
    """The statistics of ``response ~ x_names + (z_names | group)`` computed in the engine
    (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 4, 3], "x": [0.0, 1, 0, 1], "g": ["a", "a", "b", "b"]})
    >>> st = gaussian_statistics(df, "y", ["Intercept", "x"], "g", ["Intercept"])
    >>> st.n, st.Zty_g[:, 0].tolist(), st.XtX.tolist()
    (4, [3.0, 7.0], [[4.0, 2.0], [2.0, 2.0]])
    """
    kind = engine_of(source)
    cols = _columns(source)
    for name, what in ((response, "response"), (group, "grouping factor")):
        if name not in cols:
            raise ValueError(f"the {what} {name!r} is not a column of the data ({', '.join(cols)})")
    numeric = _numeric(source)
    if response not in numeric:
        raise ValueError(f"the response {response!r} is not numeric")
    xf = {t: _factors(t, cols, numeric) for t in x_names}
    zf = {t: _factors(t, cols, numeric) for t in z_names}
    products: dict[str, list[str]] = {}
    keys: dict[tuple[str, str], str] = {}

    def need(a: str, fa: list[str], b: str, fb: list[str]) -> None:
        if (a, b) not in keys and (b, a) not in keys:
            keys[(a, b)] = name = f"p{len(products)}"
            products[name] = fa + fb

    yf = [response]
    allx = list(xf.items())
    for i, (a, fa) in enumerate(allx):
        for b, fb in allx[: i + 1]:
            need(a, fa, b, fb)
        need(a, fa, response, yf)
    need(response, yf, response, yf)
    for a, fa in zf.items():
        for b, fb in zf.items():
            need(a, fa, b, fb)
        for b, fb in xf.items():
            need(a, fa, b, fb)
        need(a, fa, response, yf)
    _check_complete(source, [group, response, *(c for f in products.values() for c in f)], kind)
    out = _grouped_sums(source, group, products, kind)

    def col(a, b):
        name = keys.get((a, b)) or keys[(b, a)]
        return out[name].to_numpy(dtype=float)

    p = len(x_names)
    XtX = np.array([[col(a, b).sum() for b in x_names] for a in x_names]).reshape(p, p)
    Xty = np.array([col(a, response).sum() for a in x_names])
    ZtZ_g = np.stack([np.stack([col(a, b) for b in z_names], -1) for a in z_names], 1)
    ZtX_g = np.stack([np.stack([col(a, b) for b in x_names], -1) for a in z_names], 1)
    Zty_g = np.stack([col(a, response) for a in z_names], -1)
    n_g = out["n_rows"].to_numpy(dtype=np.int64)
    return GaussianStatistics(
        response=response,
        group=group,
        x_names=list(x_names),
        z_names=list(z_names),
        levels=out["g"].tolist(),
        n=int(n_g.sum()),
        n_g=n_g,
        XtX=XtX,
        Xty=Xty,
        yty=float(col(response, response).sum()),
        ZtZ_g=ZtZ_g,
        ZtX_g=ZtX_g,
        Zty_g=Zty_g,
        engine=kind,
    )


def binomial_cells(source, response: str, by: list[str], trials: str | None = None) -> pd.DataFrame:
    """Rows alike in every column of ``by`` summed into binomial cells, in the engine:
    ``response`` (0/1, or successes with ``trials``) becomes the successes and ``trials`` (or
    the row count) the trials of each cell.  The result is small (one row per distinct
    combination) and fits as ``hierarch.model(f"{response} | trials({trials or 'trials'}) ~
    ...", cells)``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1, 0, 1, 1], "g": ["a", "a", "b", "b"]})
    >>> binomial_cells(df, "y", ["g"]).to_dict("list")
    {'g': ['a', 'b'], 'y': [1, 2], 'trials': [2, 2]}
    """
    kind = engine_of(source)
    cols = _columns(source)
    for c in [response, *by, *([trials] if trials else [])]:
        if c not in cols:
            raise ValueError(f"{c!r} is not a column of the data ({', '.join(cols)})")
    tname = trials or "trials"
    _check_complete(source, [*by, response, *([trials] if trials else [])], kind)
    if kind == "duckdb":
        rel = _relation(source)
        keys = ", ".join(f'"{c}"' for c in by)
        tsum = f'SUM("{trials}")' if trials else "COUNT(*)"
        bad = (
            rel.filter(
                f'"{response}" IS NULL OR "{response}" < 0'
                + (f' OR "{response}" > "{trials}"' if trials else f' OR "{response}" > 1')
            )
            .aggregate("COUNT(*)")
            .fetchall()[0][0]
        )
        if bad:
            raise ValueError(
                f"{bad} rows have a {response!r} that is missing or outside "
                + ("[0, trials]" if trials else "{0, 1}")
            )
        out = rel.aggregate(
            f'{keys}, CAST(SUM("{response}") AS BIGINT) AS "{response}", '
            f'CAST({tsum} AS BIGINT) AS "{tname}"',
            keys,
        ).df()
    else:
        frame = source[[*by, response, *([trials] if trials else [])]]
        y = frame[response]
        bad = y.isna() | (y < 0) | ((y > frame[trials]) if trials else (y > 1))
        bad = bad.sum()
        bad = int(bad.compute() if kind == "dask" else bad)
        if bad:
            raise ValueError(
                f"{bad} rows have a {response!r} that is missing or outside "
                + ("[0, trials]" if trials else "{0, 1}")
            )
        if not trials:
            frame = frame.assign(**{tname: 1})
        out = frame.groupby(by)[[response, tname]].sum()
        if kind == "dask":
            out = out.compute()
        out = out.reset_index()
    out = out.sort_values(by, kind="stable").reset_index(drop=True)
    return out[[*by, response, tname]].astype({response: "int64", tname: "int64"})
