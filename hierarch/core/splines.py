"""Spline terms with R's semantics: ``bs()`` as ``splines::bs``, ``ns()`` as ``splines::ns`` and
``cr()`` as mgcv's cubic regression spline.

formulae's own ``bs()`` centres its basis (a sum-to-zero constraint over the data), so its
columns are not R's; a user moving a formula from lme4 expects R's columns. These two are
formulae stateful transforms, passed in formulae's namespace under internal names
(:mod:`hierarch.core.formula` maps ``bs(`` / ``ns(`` to them and their names back), so
formulae's own ``bs`` stays as it is for everyone else: the knots are fixed on the fitted data
and reused for new data, as R's ``predict(<bs>, newx)``.

- ``bs(x, df=None, knots=None, degree=3, intercept=False)``: the B-spline basis of the given
  degree. With ``df``, ``df - degree - intercept`` interior knots at the quantiles of ``x``
  (R's default quantile, type 7), boundary knots at the range of ``x``; without the
  intercept the first basis function is dropped. Beyond the boundary knots the end
  polynomial pieces continue (R's Taylor extension of the same degree).
- ``ns(x, df=None, knots=None, intercept=False)``: the natural cubic spline basis: the cubic
  B-spline basis projected onto the null space of the second derivatives at the boundary knots
  (through the QR decomposition of their constraint matrix, as R), ``df - 1 - intercept``
  interior knots; linear beyond the boundary knots.
- ``cr(x, df=None, knots=None)``: mgcv's cubic regression spline basis (``s(x, bs = "cr",
  k = df + 1)``) with its sum-to-zero constraint absorbed, as mgcv's ``smoothCon(...,
  absorb.cons = TRUE)`` builds it for a GAM or ``gamm4``: ``df`` columns beside the
  intercept, knots at quantiles of ``x``.  patsy's ``cr`` (statsmodels' formula library)
  computes it; this wrapper gives it formulae's stateful-transform interface.
"""

from __future__ import annotations

import re

import numpy as np
from scipy.interpolate import BSpline

__all__ = [
    "INTERNAL_NAMES",
    "MgcvCubicRegressionSpline",
    "NAMESPACE",
    "RBSpline",
    "RNaturalSpline",
    "internal",
    "user_name",
]

#: the formulae names of the transforms (a formula's ``bs(`` / ``ns(`` is rewritten to them)
INTERNAL_NAMES = {"bs": "hierarch_bs", "ns": "hierarch_ns", "cr": "hierarch_cr"}


def _no_unknown(unknown: dict, fn: str, allowed: str) -> None:
    if unknown:
        raise ValueError(
            f"{fn}() has no argument {', '.join(map(repr, unknown))}; it takes {allowed} "
            "(as R's splines package; R's Boundary.knots is always the data's range here)"
        )


def _as_x(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError("a spline term takes one numeric column")
    if not np.isfinite(x).all():
        raise ValueError("a spline term's column has missing or infinite values")
    return x


def _interior_knots(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 0:
        return np.empty(0)
    probs = np.linspace(0, 1, n + 2)[1:-1]
    return np.quantile(x, probs)  # linear interpolation: R's type 7


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _basis(x: np.ndarray, all_knots: np.ndarray, degree: int, deriv: int = 0) -> np.ndarray:
    """Every B-spline of ``all_knots`` (boundary knots repeated ``degree + 1`` times) at ``x``,
    polynomial pieces extended beyond the boundary; the right boundary belongs to the last
    interval, as R's ``splineDesign``."""
    n = len(all_knots) - degree - 1
    out = np.empty((len(x), n))
    lo, hi = all_knots[degree], all_knots[-degree - 1]
    # at x == hi, evaluate the last piece from the left (half-open intervals otherwise give 0)
    xe = np.where(x == hi, np.nextafter(hi, lo), x) if deriv == 0 else x
    for i in range(n):
        c = np.zeros(n)
        c[i] = 1.0
        spl = BSpline(all_knots, c, degree, extrapolate=True)
        out[:, i] = spl(xe, nu=deriv)
    return out


class _RSpline:
    __stateful_transform__ = True  # formulae keeps one instance per term, for new data

    def __init__(self) -> None:
        self.params_set = False

    def _knots(self, x, df, knots, n_from_df: int, min_df: int, what: str):
        if knots is None and df is None:
            raise ValueError(f"{what} needs df= or knots=")
        if knots is not None:
            inner = np.sort(np.atleast_1d(np.asarray(knots, dtype=float)))
        else:
            df = _check_int(df, "df", min_df)
            inner = _interior_knots(x, df - n_from_df)
        lo, hi = float(x.min()), float(x.max())
        if inner.size and (inner.min() <= lo or inner.max() >= hi):
            raise ValueError(
                f"{what}: the knots must lie inside the range of the data ({lo:g} to {hi:g}), "
                f"got {inner.tolist()}"
            )
        return inner, lo, hi


class RBSpline(_RSpline):
    """R's ``splines::bs`` as a formulae stateful transform."""

    __transform_name__ = INTERNAL_NAMES["bs"]

    def __call__(self, x, df=None, knots=None, degree=3, intercept=False, **unknown):
        _no_unknown(unknown, "bs", "df, knots, degree, intercept")
        x = _as_x(x)
        if not self.params_set:
            self.degree = _check_int(degree, "degree", 1)
            self.intercept = bool(intercept)
            inner, lo, hi = self._knots(
                x, df, knots, self.degree + self.intercept, self.degree + self.intercept, "bs()"
            )
            self.all_knots = np.concatenate(
                [np.repeat(lo, self.degree + 1), inner, np.repeat(hi, self.degree + 1)]
            )
            self.params_set = True
        basis = _basis(x, self.all_knots, self.degree)
        return basis if self.intercept else basis[:, 1:]


class RNaturalSpline(_RSpline):
    """R's ``splines::ns`` as a formulae stateful transform."""

    __transform_name__ = INTERNAL_NAMES["ns"]

    def __call__(self, x, df=None, knots=None, intercept=False, **unknown):
        _no_unknown(unknown, "ns", "df, knots, intercept")
        x = _as_x(x)
        if not self.params_set:
            self.intercept = bool(intercept)
            inner, lo, hi = self._knots(
                x, df, knots, 1 + self.intercept, 1 + self.intercept, "ns()"
            )
            self.lo, self.hi = lo, hi
            self.all_knots = np.concatenate([np.repeat(lo, 4), inner, np.repeat(hi, 4)])
            const = _basis(np.array([lo, hi]), self.all_knots, 3, deriv=2)
            if not self.intercept:
                const = const[:, 1:]
            q, _ = np.linalg.qr(const.T, mode="complete")
            self.q = q
            self.params_set = True
        inside = (x >= self.lo) & (x <= self.hi)
        basis = np.empty((len(x), len(self.all_knots) - 4))
        if inside.any():
            basis[inside] = _basis(x[inside], self.all_knots, 3)
        for side, mask in ((self.lo, x < self.lo), (self.hi, x > self.hi)):
            if mask.any():  # linear beyond the boundary: value and slope at the boundary knot
                b0 = _basis(np.array([side]), self.all_knots, 3)
                b1 = _basis(np.array([side]), self.all_knots, 3, deriv=1)
                basis[mask] = b0 + (x[mask] - side)[:, None] * b1
        if not self.intercept:
            basis = basis[:, 1:]
        return (basis @ self.q)[:, 2:]


class MgcvCubicRegressionSpline(_RSpline):
    """mgcv's ``cr`` basis, centred (patsy's ``cr(..., constraints="center")``), as a
    formulae stateful transform."""

    __transform_name__ = INTERNAL_NAMES["cr"]

    def __call__(self, x, df=None, knots=None, **unknown):
        if unknown:
            raise ValueError(
                f"cr() has no argument {', '.join(map(repr, unknown))}; it takes df, knots "
                "(as mgcv's s(x, bs = 'cr', k = df + 1), with its sum-to-zero constraint)"
            )
        from patsy.mgcv_cubic_splines import CR

        x = _as_x(x)
        if not self.params_set:
            if knots is None and df is None:
                raise ValueError("cr() needs df= or knots=")
            if knots is not None:
                inner, _, _ = self._knots(x, None, knots, 0, 0, "cr()")
                self.kwargs = {"knots": inner}
            else:
                self.kwargs = {"df": _check_int(df, "df", 2)}  # after centring: mgcv's k - 1
            self.cr = CR()
            self.cr.memorize_chunk(x, constraints="center", **self.kwargs)
            self.cr.memorize_finish()
            self.params_set = True
        return np.asarray(self.cr.transform(x, constraints="center", **self.kwargs))


#: what :mod:`hierarch.core.formula` adds to formulae's namespace
NAMESPACE = {
    INTERNAL_NAMES["bs"]: RBSpline,
    INTERNAL_NAMES["ns"]: RNaturalSpline,
    INTERNAL_NAMES["cr"]: MgcvCubicRegressionSpline,
}

_CALL = re.compile(r"(?<![A-Za-z0-9_.])(bs|ns|cr)\(")


def internal(expr: str) -> str:
    """A formula part with ``bs(`` / ``ns(`` calling these transforms."""
    return _CALL.sub(lambda m: INTERNAL_NAMES[m.group(1)] + "(", expr)


def user_name(name: str) -> str:
    """A design column or term name as the user wrote it (``bs(x, df=4)[0]``)."""
    for user, inner in INTERNAL_NAMES.items():
        name = name.replace(inner + "(", user + "(")
    return name
