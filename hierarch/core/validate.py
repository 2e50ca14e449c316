"""Input checks shared by the model builders.

Every check raises :class:`ValueError` naming the column, the offending rows (by the
DataFrame's index labels) and the problem.  Nothing is silently dropped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

_MAX_ROWS_SHOWN = 10


def _rows(index: pd.Index, mask: np.ndarray) -> str:
    labels = list(index[np.asarray(mask)])
    shown = ", ".join(str(x) for x in labels[:_MAX_ROWS_SHOWN])
    more = len(labels) - _MAX_ROWS_SHOWN
    suffix = f" and {more} more" if more > 0 else ""
    word = "row" if len(labels) == 1 else "rows"
    return f"{word} {shown}{suffix}"


def require_dataframe(data: object) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(
            f"data must be a pandas DataFrame with the named columns, got {type(data).__name__}"
        )
    if len(data) == 0:
        raise ValueError("data has no rows")
    return data


def require_columns(data: pd.DataFrame, columns: Sequence[str], role: dict[str, str]) -> None:
    """Check that every column exists; ``role`` maps column -> argument name for the message."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        parts = [f"{role.get(c, 'column')}={c!r}" for c in missing]
        raise ValueError(
            f"column(s) not found in data: {', '.join(parts)}; "
            f"available columns: {', '.join(map(str, data.columns))}"
        )


class DataWarning(UserWarning):
    """Something was done to the data that the user asked for and should know about (rows
    dropped by ``na_action="drop"``)."""


NA_ACTIONS = ("error", "drop")


def drop_incomplete(
    data: pd.DataFrame, columns: Sequence[str], na_action: str = "error", stacklevel: int = 4
) -> tuple[pd.DataFrame, pd.Index]:
    """Apply ``na_action`` to the rows with a missing value in ``columns``.

    ``"error"`` (the default) leaves the data alone: the checks that follow name the column
    and rows.  ``"drop"`` removes those rows and warns (:class:`DataWarning`) how many and
    which (by index label), per column.  Returns the data to fit and the dropped labels.
    """
    if na_action not in NA_ACTIONS:
        raise ValueError(f"na_action must be 'error' or 'drop', got {na_action!r}")
    columns = [c for c in columns if c in data.columns]
    if na_action == "error" or not columns:
        return data, data.index[:0]
    missing = data[columns].isna()
    mask = missing.any(axis=1).to_numpy()
    if not mask.any():
        return data, data.index[:0]
    if mask.all():
        raise ValueError(
            f"na_action='drop' would drop every row: each has a missing value in "
            f"{', '.join(map(repr, columns))}"
        )
    per_column = ", ".join(f"{c!r} {int(n)}" for c, n in missing.sum().items() if n)
    warnings.warn(
        f"na_action='drop': dropped {int(mask.sum())} of {len(data)} rows with missing "
        f"values ({per_column}): {_rows(data.index, mask)}",
        DataWarning,
        stacklevel=stacklevel,
    )
    return data.loc[~mask], data.index[mask]


def no_missing(data: pd.DataFrame, column: str) -> None:
    mask = data[column].isna().to_numpy()
    if mask.any():
        raise ValueError(
            f"column {column!r} has missing values (NaN) in {_rows(data.index, mask)}; "
            "remove or impute these rows, or pass na_action='drop' to drop them with a warning "
            "(hierarch never drops rows silently)"
        )


def prior_weights(data: pd.DataFrame, column: str) -> np.ndarray:
    """The prior weights of a Gaussian model (lme4's ``weights``: the residual variance of a
    row is ``sigma^2 / w``): a column of positive, finite numbers, or a clear error naming
    the rows that are not."""
    if column not in data.columns:
        raise ValueError(f"weights column {column!r} is not a column of the data")
    no_text(data, column)
    no_missing(data, column)
    w = data[column].to_numpy(dtype=float)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise ValueError(
            f"weights column {column!r} must hold positive, finite numbers, not so in "
            f"{_rows(data.index, bad)}"
        )
    return w


def no_text(data: pd.DataFrame, column: str) -> None:
    """A column that should hold numbers holds numbers (not text that looks like them)."""
    col = data[column]
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return
    if pd.api.types.is_string_dtype(col) or col.map(lambda v: isinstance(v, str)).any():
        raise ValueError(
            f"column {column!r} holds text, not numbers; hierarch converts "
            f"nothing silently: convert it first, e.g. "
            f"data[{column!r}] = pd.to_numeric(data[{column!r}])"
        )


def counts(data: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column as non-negative integer counts, or raise naming the bad rows."""
    no_missing(data, column)
    values = pd.to_numeric(data[column], errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        raise ValueError(f"column {column!r} is not numeric in {_rows(data.index, bad)}")
    no_text(data, column)
    x = values.to_numpy(dtype=float)
    nonfinite = ~np.isfinite(x)
    if nonfinite.any():
        raise ValueError(f"column {column!r} has infinite values in {_rows(data.index, nonfinite)}")
    negative = x < 0
    if negative.any():
        raise ValueError(
            f"column {column!r} has negative counts in {_rows(data.index, negative)} "
            f"(values {', '.join(str(v) for v in x[negative][:_MAX_ROWS_SHOWN])}); "
            "counts must be 0 or more"
        )
    fractional = x != np.round(x)
    if fractional.any():
        raise ValueError(
            f"column {column!r} has non-integer counts in {_rows(data.index, fractional)} "
            f"(values {', '.join(str(v) for v in x[fractional][:_MAX_ROWS_SHOWN])}); "
            "counts must be whole numbers"
        )
    return x.astype(np.int64)


def binomial_counts(
    data: pd.DataFrame, successes: str, trials: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a successes/trials pair of columns and return them as integer arrays."""
    m = counts(data, successes)
    n = counts(data, trials)
    zero = n == 0
    if zero.any():
        raise ValueError(
            f"column {trials!r} (trials) is zero in {_rows(data.index, zero)}; "
            "a row with no trials carries no information: remove it explicitly"
        )
    above = m > n
    if above.any():
        raise ValueError(
            f"successes above trials: column {successes!r} exceeds column {trials!r} in "
            f"{_rows(data.index, above)}"
        )
    return m, n


def grouping(data: pd.DataFrame, column: str, *, min_levels: int = 1) -> tuple[np.ndarray, list]:
    """Return integer codes and sorted level labels for a grouping column."""
    no_missing(data, column)
    codes, levels = pd.factorize(data[column], sort=True)
    levels = list(levels)
    if len(levels) < min_levels:
        raise ValueError(
            f"grouping column {column!r} has {len(levels)} level(s) "
            f"({', '.join(map(str, levels))}); a multilevel model needs at least {min_levels} "
            "groups to estimate the between-group SD"
        )
    return codes.astype(np.int64), levels


def conf_level(value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"conf_level must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {value!r}")
    return v


def quadrature(method: str, n_agq) -> int:
    """The number of quadrature points a GLMM fit by ``method`` uses: ``"laplace"`` takes 1
    (Laplace) or 0 (glmer's ``nAGQ = 0``); ``"agq"`` takes 2 or more (25 when fewer are
    given, as the default ``n_agq=1`` is)."""
    try:
        n = int(n_agq)
        ok = n == n_agq and not isinstance(n_agq, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok or n < 0:
        raise ValueError(f"n_agq must be a non-negative whole number, got {n_agq!r}")
    if method == "laplace":
        if n not in (0, 1):
            raise ValueError(
                f"n_agq={n_agq!r} with method='laplace': use n_agq=1 (the Laplace "
                "approximation) or n_agq=0 (glmer's nAGQ = 0: fixed effects inside PIRLS); "
                "quadrature with more points is method='agq'"
            )
        return n
    return 25 if n < 2 else n


_IDENTIFIER = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def formula_names(formula: str, *names: str) -> str:
    """``formula`` when every column name in ``names`` can stand in a formula, else a clear
    error (the keyword front ends build the formula models from column names)."""
    for name in names:
        if not _IDENTIFIER.match(str(name)):
            raise ValueError(
                f"column name {name!r}: this model is the formula model {formula!r}, so its "
                "columns need names made of letters, digits, '_' and '.' (not starting with a "
                "digit); rename the column"
            )
    return formula


#: the shrinkage explorer's sliders: (low, high, whole numbers only)
EXPLORER_RANGES = {
    "J": (2, 100, True),
    "n_mean": (2, 50, True),
    "sigma_u": (0.0, 5.0, False),
    "sigma_e": (0.1, 10.0, False),
    "balance": (0.0, 1.0, False),
    "seed": (1, 999, True),
}
EXPLORER_VIEWS = ("complete", "none", "partial", "bayes")
EXPLORER_N_SIMS = (20, 100, 500)


def explorer_settings(**settings) -> dict:
    """Check the shrinkage explorer's starting settings against its sliders' ranges.

    Returns the settings as plain numbers (the page reads them as JSON); raises
    :class:`ValueError` naming the setting, its value and the allowed range.
    """
    out: dict = {}
    for name, value in settings.items():
        if name in EXPLORER_RANGES:
            lo, hi, whole = EXPLORER_RANGES[name]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"explorer setting {name} must be a number, got {value!r}")
            if whole and float(value) != int(value):
                raise ValueError(f"explorer setting {name} must be a whole number, got {value}")
            if not lo <= value <= hi:
                raise ValueError(
                    f"explorer setting {name} = {value} is outside its slider's range {lo}-{hi}"
                )
            out[name] = int(value) if whole else float(value)
        elif name == "n_sims":
            if value not in EXPLORER_N_SIMS:
                raise ValueError(
                    f"explorer setting n_sims must be one of {EXPLORER_N_SIMS}, got {value!r}"
                )
            out[name] = int(value)
        elif name == "view":
            if value not in EXPLORER_VIEWS:
                raise ValueError(
                    f"explorer setting view must be one of {EXPLORER_VIEWS}, got {value!r}"
                )
            out[name] = value
        elif name == "show_truth":
            out[name] = bool(value)
        else:
            known = [*EXPLORER_RANGES, "n_sims", "view", "show_truth"]
            raise ValueError(f"unknown explorer setting {name!r}; the settings are {known}")
    return out
