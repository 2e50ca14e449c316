"""lme4-style formulas: ``y ~ x + (x | g)``.

The fixed part and each random-effect expression are turned into design matrices by the
`formulae <https://github.com/bambinos/formulae>`_ library (Bambi's formula engine).  What
formulae does not keep, the grouping into *blocks* (which random effects are correlated), is
read here from the bars: ``(x | g)`` is one correlated block (intercept and slope),
``(1 | g) + (0 + x | g)`` two uncorrelated blocks, ``(x || g)`` the same as the latter,
``(1 | a/b)`` the blocks ``(1 | a) + (1 | a:b)``, and ``(1 | a:b)`` a block on the
interaction of two factors.

Only column names, numbers, the formula operators and a short list of functions (``C``,
``log``, ``log2``, ``log10``, ``exp``, ``sqrt``, ``abs``, ``scale``, ``center``,
``standardize``) may appear: the formula string is never evaluated as Python.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hierarch.core import splines as _splines

__all__ = ["FormulaError", "ParsedFormula", "REBlock", "parse_formula", "split_formula"]

_FUNCTIONS = {
    "C",
    "Treatment",  # C(x, Treatment('ref')): the reference level (formulae's contrasts)
    "Sum",  # C(x, Sum): sum-to-zero (deviation) coding
    "log",
    "log2",
    "log10",
    "exp",
    "sqrt",
    "abs",
    "scale",
    "center",
    "standardize",
    "poly",  # orthogonal polynomials, as R's poly(x, k)
    "bs",  # B-splines, as R's splines::bs (hierarch.core.splines)
    "ns",  # natural cubic splines, as R's splines::ns
    "cr",  # cubic regression splines, as mgcv's s(x, bs = "cr"), centred
    "c",  # a list of values, as R's c(): bs(x, knots=c(40, 60))
    "I",  # arithmetic inside a term, as R's I(): I(x^2) (R's ^ is read as a power)
}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAMESPACE = {
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "c": lambda *values: np.asarray(values, dtype=float),
    "TRUE": True,  # R's spelling: bs(x, df=4, intercept=TRUE)
    "FALSE": False,
    **_splines.NAMESPACE,
}
_IDENT = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")

#: what every missing-value error suggests
_NA_ADVICE = (
    "hierarch drops no rows unasked: remove or impute them, or pass na_action='drop' to fit "
    "the complete rows (it reports which rows it dropped)"
)


def _r_powers(text: str) -> str:
    """Inside ``I(...)``, R's ``^`` is a power; formulae evaluates the inside as Python, where
    it would be a bitwise xor: write ``**`` for it."""
    out, i = [], 0
    for m in re.finditer(r"(?<![A-Za-z0-9_.])I\(", text):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append(text[i : m.end()] + text[m.end() : j].replace("^", "**"))
        i = j
    out.append(text[i:])
    return "".join(out)


def formula_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """The data columns a formula names (response, predictors, grouping factors, offsets),
    in the data's column order: the columns whose missing values make a row incomplete."""
    names = {m.group(0) for m in _IDENT.finditer(formula)}
    return [c for c in data.columns if str(c) in names]


_ALLOWED_CHARS = re.compile(r"^[A-Za-z0-9_.\s~+\-*:/|()<>=!,'\"]*$")


class FormulaError(ValueError):
    """A formula that cannot be read, or that names something the data do not have."""


@dataclass
class REBlock:
    """One block of (possibly correlated) random effects: ``(expr | factor)``.

    Attributes
    ----------
    factor : str
        Label of the grouping factor (``"id"``, ``"batch:cask"``).
    columns : list of str
        Names of the effects within a group (``["Intercept", "week"]``).
    Z : ndarray, shape (n, k)
        The random-effect design of every row (before the group indicator).
    codes : ndarray, shape (n,)
        Level index of every row.
    levels : list
        Level labels (sorted).
    """

    factor: str
    expr: str
    columns: list[str]
    Z: np.ndarray
    codes: np.ndarray
    levels: list
    design: object = None  # formulae design of ``expr`` (to evaluate new data)

    def new_Z(self, newdata: pd.DataFrame) -> np.ndarray:
        """The block's random-effect design for new rows."""
        full = _evaluate_new(self.design, newdata, f"the random effects ({self.expr} | ...)")
        names = list(self.design.as_dataframe().columns)
        return full[:, [names.index(c) for c in self.columns]]

    @property
    def k(self) -> int:
        return len(self.columns)

    @property
    def n_levels(self) -> int:
        return len(self.levels)


def _evaluate_new(design, newdata: pd.DataFrame, what: str) -> np.ndarray:
    """A design evaluated on new rows, or a clear error naming the columns ``newdata`` lacks."""
    if not isinstance(newdata, pd.DataFrame):
        raise ValueError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
    try:
        return np.asarray(design.evaluate_new_data(newdata).design_matrix, dtype=float)
    except Exception as e:  # noqa: BLE001 - formulae raises several types here
        terms = getattr(design, "terms", {})
        names = {v for t in terms.values() for v in getattr(t, "var_names", ())}
        missing = sorted(n for n in names if n not in newdata.columns)
        if missing or isinstance(e, KeyError):
            raise ValueError(
                f"newdata lacks column(s) {', '.join(map(repr, missing)) or str(e)} used by "
                f"{what}; it has {', '.join(map(str, newdata.columns))}"
            ) from None
        raise ValueError(f"newdata cannot be evaluated for {what}: {e}") from None


@dataclass
class ParsedFormula:
    """A formula resolved against a DataFrame."""

    formula: str
    response: str
    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    blocks: list[REBlock]
    fixed_terms: list[str]
    fixed_design: object = None  # formulae design of the fixed part (to evaluate new data)
    columns_used: tuple[str, ...] = ()
    offset: np.ndarray | None = None  # sum of the ``offset(expr)`` terms (link scale)
    offset_terms: tuple[str, ...] = ()
    #: the design's intercept column left out of ``X`` (ordinal models: the thresholds
    #: take its place), or None
    dropped_intercept: int | None = None

    def new_X(self, newdata: pd.DataFrame) -> np.ndarray:
        """The fixed-effect design for new rows."""
        X = _evaluate_new(self.fixed_design, newdata, "the fixed effects")
        if self.dropped_intercept is not None:
            X = np.delete(X, self.dropped_intercept, axis=1)
        return X

    def without_intercept(self) -> ParsedFormula:
        """The same formula with the intercept column left out of the fixed effects."""
        if "Intercept" not in self.x_names:
            return self
        j = self.x_names.index("Intercept")
        return dataclasses.replace(
            self,
            X=np.delete(self.X, j, axis=1),
            x_names=[n for n in self.x_names if n != "Intercept"],
            dropped_intercept=j,
        )

    def new_offset(self, newdata: pd.DataFrame) -> np.ndarray:
        """The offset of new rows (zeros without ``offset()`` terms)."""
        if not self.offset_terms:
            return np.zeros(len(newdata))
        return _offset_values(self.offset_terms, newdata)

    @property
    def offset_or_zero(self) -> np.ndarray:
        return np.zeros(self.n) if self.offset is None else self.offset

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def has_intercept(self) -> bool:
        return "Intercept" in self.x_names

    def coef_names(self, factor: str) -> list[str]:
        """The columns of a group's coefficients by ``factor`` (lme4's ``coef()``): the
        random-effect columns that are not in the fixed part first (their fixed value is 0,
        e.g. an ordinal model's random intercept), then the fixed part's columns."""
        extra: list[str] = []
        for b in self.blocks:
            if b.factor == factor:
                extra += [c for c in b.columns if c not in self.x_names and c not in extra]
        return extra + list(self.x_names)


def _split_top(s: str, sep: str) -> list[str]:
    """Split ``s`` at ``sep`` characters that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"unbalanced parentheses in {s!r}")
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise FormulaError(f"unbalanced parentheses in {s!r}")
    parts.append("".join(cur))
    return parts


def split_formula(formula: str) -> tuple[str, str, list[tuple[str, str, bool]]]:
    """Split a formula into response, fixed part, and ``(expr, factor, correlated)`` bars."""
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(f"a formula looks like 'y ~ x + (x | g)', got {formula!r}")
    if not _ALLOWED_CHARS.match(formula):
        bad = sorted(set(re.sub(r"[A-Za-z0-9_.\s~+\-*:/|()<>=!,'\"]", "", formula)))
        hint = ""
        if "[" in bad:
            hint = (
                "; to choose a factor's reference level write C(x, Treatment('level')), or "
                "make x a pandas Categorical with its levels in the order you want (the "
                "first is the reference)"
            )
        raise FormulaError(
            f"formula {formula!r} contains characters a formula cannot have: {' '.join(bad)}" + hint
        )
    lhs, _, rhs = formula.partition("~")
    response = lhs.strip()
    if not response or not _IDENT.fullmatch(response):
        raise FormulaError(f"the response (left of ~) must be one column name, got {lhs.strip()!r}")
    fixed, bars = [], []
    for term in _split_top(rhs, "+"):
        t = term.strip()
        if not t:
            raise FormulaError(f"empty term in {formula!r} (a stray '+'?)")
        if t.startswith("(") and t.endswith(")") and "|" in t:
            inner = t[1:-1]
            if "||" in inner:
                expr, factor = inner.split("||", 1)
                correlated = False
            else:
                pieces = _split_top(inner, "|")
                if len(pieces) != 2:
                    raise FormulaError(f"malformed random-effect term {t!r}: use (expr | group)")
                expr, factor = pieces
                correlated = True
            expr, factor = expr.strip(), factor.strip()
            if not expr or not factor:
                raise FormulaError(f"malformed random-effect term {t!r}: use (expr | group)")
            bars.append((expr, factor, correlated))
        elif "|" in t:
            raise FormulaError(f"malformed term {t!r}: a random effect is written (expr | group)")
        else:
            fixed.append(t)
    return response, " + ".join(fixed) if fixed else "1", bars


def _check_names(text: str, data: pd.DataFrame, where: str) -> None:
    text = _QUOTED.sub("''", text)  # a quoted level ('drugA') is not a column name
    for m in _IDENT.finditer(text):
        name = m.group(0)
        after = text[m.end() :].lstrip()
        if after.startswith("("):
            if name not in _FUNCTIONS:
                raise FormulaError(
                    f"function {name!r} in {where} is not allowed; formulas may use "
                    f"{', '.join(sorted(_FUNCTIONS))}"
                )
            continue
        if re.fullmatch(r"[0-9.]+", name) or name in (
            "True",
            "False",
            "TRUE",
            "FALSE",
            "Sum",
            "Treatment",
        ):
            continue  # numbers, booleans, contrasts named bare: C(x, Sum)
        if after.startswith("=") and not after.startswith("=="):
            continue  # a keyword argument's name: bs(x, df=4)
        if name not in data.columns:
            raise FormulaError(
                f"formula term {name!r} in {where} is not a column of the data; available "
                f"columns: {', '.join(map(str, data.columns))}"
            )


def _categories_in_order(data: pd.DataFrame) -> pd.DataFrame:
    """formulae sorts the levels of an unordered pandas Categorical; its category order is
    the user's choice of levels (the first the reference), so it is passed on as an ordered
    Categorical (which formulae keeps in order)."""
    cats = [
        c
        for c in data.columns
        if isinstance(data[c].dtype, pd.CategoricalDtype) and not data[c].dtype.ordered
    ]
    if not cats:
        return data
    return data.assign(**{str(c): data[c].cat.as_ordered() for c in cats})


def _design(expr: str, data: pd.DataFrame):
    from formulae import design_matrices

    data = _categories_in_order(data)

    try:
        dm = design_matrices(
            _splines.internal(expr), data, na_action="error", extra_namespace=_NAMESPACE
        )
    except Exception as err:  # formulae raises several types; re-raise with the term
        raise FormulaError(
            f"cannot build the design for {expr!r}: {_splines.user_name(str(err))}"
        ) from err
    frame = dm.common.as_dataframe().astype(float)
    frame.columns = [_splines.user_name(str(c)) for c in frame.columns]
    return frame, dm.common


_OFFSET = re.compile(r"^offset\((.*)\)$", re.S)


def _split_offsets(fixed: str) -> tuple[str, tuple[str, ...]]:
    """Take ``offset(expr)`` terms out of the fixed part (lme4 / R syntax)."""
    keep, offsets = [], []
    for term in _split_top(fixed, "+"):
        m = _OFFSET.match(term.strip())
        if m:
            offsets.append(m.group(1).strip())
        else:
            keep.append(term.strip())
    rest = " + ".join(t for t in keep if t) or "1"
    return rest, tuple(offsets)


def _offset_values(terms: tuple[str, ...], data: pd.DataFrame) -> np.ndarray:
    total = np.zeros(len(data))
    for expr in terms:
        _check_names(expr, data, f"the offset offset({expr})")
        df, _ = _design(f"0 + {expr}", data)
        if df.shape[1] != 1:
            raise FormulaError(f"offset({expr}) must give one numeric column")
        vals = df.to_numpy()[:, 0]
        if not np.all(np.isfinite(vals)):
            rows = data.index[~np.isfinite(vals)][:10].tolist()
            raise FormulaError(f"offset({expr}) is not finite in rows {rows} (log of 0?)")
        total = total + vals
    return total


def _expand_factor(factor: str) -> list[str]:
    """``a/b`` -> ``[a, a:b]``; ``a/b/c`` -> ``[a, a:b, a:b:c]``; otherwise ``[factor]``."""
    parts = [p.strip() for p in factor.split("/")]
    if any(not p for p in parts):
        raise FormulaError(f"malformed nesting {factor!r}: write (1 | outer/inner)")
    return [":".join(parts[: i + 1]) for i in range(len(parts))]


def _factor_codes(label: str, data: pd.DataFrame) -> tuple[np.ndarray, list]:
    cols = [c.strip() for c in label.split(":")]
    for c in cols:
        if c not in data.columns:
            raise FormulaError(
                f"grouping factor {c!r} is not a column of the data; available columns: "
                f"{', '.join(map(str, data.columns))}"
            )
        if data[c].isna().any():
            rows = data.index[data[c].isna().to_numpy()][:10].tolist()
            raise FormulaError(
                f"grouping column {c!r} has missing values in rows {rows}; {_NA_ADVICE}"
            )
    key = data[cols[0]].astype(str) if len(cols) > 1 else data[cols[0]]
    for c in cols[1:]:
        key = key + ":" + data[c].astype(str)
    codes, levels = pd.factorize(key, sort=True)
    return codes.astype(np.int64), list(levels)


def parse_formula(formula: str, data: pd.DataFrame) -> ParsedFormula:
    """Resolve an lme4-style formula against ``data``.

    Parameters
    ----------
    formula : str
        For example ``"weight ~ week + (week | id)"``.
    data : pandas.DataFrame

    Returns
    -------
    ParsedFormula

    Examples
    --------
    >>> import hierarch
    >>> pf = parse_formula("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    >>> pf.x_names, [(b.factor, b.columns) for b in pf.blocks]
    (['Intercept', 'week'], [('id', ['Intercept', 'week'])])
    """
    if not isinstance(data, pd.DataFrame):
        raise FormulaError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    dups = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
    if dups:
        raise FormulaError(
            f"the data have duplicated column names: {', '.join(map(repr, dups))}; each "
            "column needs a name of its own"
        )
    response, fixed, bars = split_formula(_r_powers(formula))
    fixed, offset_terms = _split_offsets(fixed)
    _check_names(response, data, "the response")
    _check_names(fixed, data, "the fixed effects")
    for expr, factor, _ in bars:
        _check_names(expr, data, f"the random effects ({expr} | {factor})")
    col = data[response]
    text = pd.api.types.is_string_dtype(col) or (
        col.dtype == object and col.map(lambda v: isinstance(v, str)).any()
    )
    if text and pd.to_numeric(col, errors="coerce").notna().all():
        raise FormulaError(
            f"response column {response!r} holds text, not numbers; hierarch converts "
            f"nothing silently: convert it first, e.g. "
            f"data[{response!r}] = pd.to_numeric(data[{response!r}])"
        )
    y_raw = pd.to_numeric(col, errors="coerce")
    bad = ~np.isfinite(y_raw.to_numpy(dtype=float))
    if bad.any():
        rows = data.index[bad][:10].tolist()
        raise FormulaError(
            f"response column {response!r} has missing, non-numeric or non-finite values in "
            f"rows {rows}{' (first 10)' if bad.sum() > 10 else ''}; {_NA_ADVICE}"
        )
    used = {
        m.group(0)
        for part in [fixed, *offset_terms] + [e for e, _, _ in bars]
        for m in _IDENT.finditer(part)
        if m.group(0) in data.columns
    }
    for col in sorted(used):
        if data[col].isna().any():
            rows = data.index[data[col].isna().to_numpy()][:10].tolist()
            raise FormulaError(f"column {col!r} has missing values in rows {rows}; {_NA_ADVICE}")
        if (
            pd.api.types.is_numeric_dtype(data[col])
            and not np.isfinite(data[col].to_numpy(dtype=float)).all()
        ):
            rows = data.index[~np.isfinite(data[col].to_numpy(dtype=float))][:10].tolist()
            raise FormulaError(f"column {col!r} has infinite values in rows {rows}")
    Xdf, fixed_design = _design(fixed, data)
    offset = _offset_values(offset_terms, data) if offset_terms else None
    blocks: list[REBlock] = []
    for expr, factor, correlated in bars:
        Zdf, zdesign = _design(expr, data)
        for label in _expand_factor(factor):
            codes, levels = _factor_codes(label, data)
            cols = list(Zdf.columns)
            groups = [cols] if correlated else [[c] for c in cols]
            for gcols in groups:
                blocks.append(
                    REBlock(label, expr, gcols, Zdf[gcols].to_numpy(), codes, levels, zdesign)
                )
    return ParsedFormula(
        formula=formula,
        response=response,
        y=y_raw.to_numpy(dtype=float),
        X=Xdf.to_numpy(),
        x_names=list(Xdf.columns),
        blocks=blocks,
        fixed_terms=[t.strip() for t in fixed.split("+")],
        fixed_design=fixed_design,
        offset=offset,
        offset_terms=offset_terms,
        columns_used=tuple(
            [response]
            + sorted(used)
            + sorted({c.strip() for _, f, _ in bars for c in re.split(r"[/:]", f)} - used)
        ),
    )
