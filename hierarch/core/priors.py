"""Priors: a small, serialisable description of a PyMC distribution."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

__all__ = ["Prior", "check_positive_support", "check_unit_support", "resolve_priors"]


#: parameters that are scales, rates, shapes or degrees of freedom in every PyMC
#: distribution that has them (a non-positive value is never a distribution)
_POSITIVE_PARAMETERS = frozenset({"sigma", "tau", "lam", "scale", "nu", "beta", "alpha", "b"})
#: distributions whose support is (0, inf) or [0, inf) whatever their parameters
_POSITIVE_SUPPORT = frozenset(
    {
        "HalfNormal",
        "HalfStudentT",
        "HalfCauchy",
        "HalfFlat",
        "Exponential",
        "Gamma",
        "InverseGamma",
        "LogNormal",
        "Lognormal",
        "Weibull",
        "ChiSquared",
        "Pareto",
        "Wald",
    }
)


#: PyMC's parameter names (all, required) of the distributions hierarch's defaults use, so
#: that a model spec (and a REML fit) does not import PyMC to check its own default priors;
#: ``tests/core/test_priors.py`` checks the table against PyMC's signatures
_KNOWN_SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma", "tau"), ()),
    "HalfNormal": (("sigma", "tau"), ()),
    "Exponential": (("lam", "scale"), ()),
    "Gamma": (("alpha", "beta", "mu", "sigma"), ()),
    "HalfStudentT": (("nu", "sigma", "lam"), ("nu",)),
    "StudentT": (("nu", "mu", "sigma", "lam"), ("nu",)),
    "HalfCauchy": (("beta",), ("beta",)),
    "Beta": (("alpha", "beta", "mu", "sigma", "nu"), ()),
}


#: parameterizations that need no check beyond finite values and positive scales
_PLAIN = {
    "Normal": frozenset({"mu", "sigma"}),
    "HalfNormal": frozenset({"sigma"}),
    "Exponential": frozenset({"lam"}),
    "HalfCauchy": frozenset({"beta"}),
    "StudentT": frozenset({"nu", "mu", "sigma"}),
    "HalfStudentT": frozenset({"nu", "sigma"}),
    "Gamma": frozenset({"alpha", "beta"}),
    "Beta": frozenset({"alpha", "beta"}),
}


def _signature(dist: str) -> tuple[list[str], list[str]] | None:
    """(parameter names, required names) of PyMC's ``dist``; None: not a PyMC distribution."""
    if dist in _KNOWN_SIGNATURES:
        allowed, required = _KNOWN_SIGNATURES[dist]
        return list(allowed), list(required)
    import pymc as pm

    cls = getattr(pm, dist, None)
    if cls is None or not hasattr(cls, "dist"):
        return None
    return _parameter_names(cls), _required_names(cls)


def _parameter_names(cls) -> list[str]:
    import inspect

    sig = inspect.signature(cls.dist)
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "cls"
    ]


def _required_names(cls) -> list[str]:
    import inspect

    sig = inspect.signature(cls.dist)
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name != "cls"
        and p.default is inspect.Parameter.empty
    ]


class Prior:
    """A prior distribution, named as in PyMC, with its parameters.

    Parameters
    ----------
    dist : str
        Name of a PyMC distribution (``"Normal"``, ``"HalfNormal"``, ``"Exponential"``,
        ``"StudentT"``, ``"HalfStudentT"``, ``"HalfCauchy"``, ...).
    **params
        Its parameters, as PyMC names them.

    Examples
    --------
    >>> from hierarch import Prior
    >>> Prior("HalfNormal", sigma=0.5)
    Prior('HalfNormal', sigma=0.5)
    """

    def __init__(self, dist: str, **params: float | list[float]) -> None:
        signature = _signature(str(dist))
        if signature is None:
            raise ValueError(f"unknown prior distribution {dist!r}: not a PyMC distribution")
        self.dist = str(dist)
        allowed, required = signature
        unknown = [k for k in params if k not in allowed]
        missing = [k for k in required if k not in params]
        if missing and not unknown:
            raise ValueError(
                f"Prior({dist!r}): missing parameter {', '.join(map(repr, missing))} "
                f"({dist} takes {', '.join(allowed)})"
            )
        if unknown:
            raise ValueError(
                f"Prior({dist!r}): unknown parameter {', '.join(map(repr, unknown))}; "
                f"{dist} takes {', '.join(allowed)} (PyMC's names)"
            )
        self.params = {}
        for k, v in params.items():
            try:
                value = (
                    [float(x) for x in v] if isinstance(v, list | tuple | np.ndarray) else float(v)
                )
            except (TypeError, ValueError):
                raise ValueError(f"Prior({dist!r}): {k} must be a number, got {v!r}") from None
            values = np.atleast_1d(value)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"Prior({dist!r}): {k} must be finite, got {v!r}")
            skew = dist == "SkewNormal" and k == "alpha"  # a skewness, of either sign
            if k in _POSITIVE_PARAMETERS and not skew and np.any(values <= 0):
                raise ValueError(f"Prior({dist!r}): {k} must be positive, got {v!r}")
            self.params[k] = value
        # PyMC's own checks of the parameterization (Gamma: alpha and beta, or mu and sigma),
        # except for the one parameterization of hierarch's defaults with parameters of one
        # shape, which the checks above settle
        sizes = {np.size(v) for v in self.params.values()}
        if set(self.params) == _PLAIN.get(self.dist) and len(sizes - {1}) <= 1:
            return
        import pymc as pm

        try:
            getattr(pm, self.dist).dist(**self._np_params())
        except Exception as e:  # noqa: BLE001 - PyMC raises several types here
            raise ValueError(
                f"Prior({dist!r}, {self._args()}) is not a valid distribution: {e}"
            ) from None

    def _args(self) -> str:
        def fmt(v):
            if isinstance(v, list):
                return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
            return f"{v:.4g}"

        return ", ".join(f"{k}={fmt(v)}" for k, v in self.params.items())

    def __repr__(self) -> str:
        return f"Prior({self.dist!r}, {self._args()})"

    def __str__(self) -> str:
        return f"{self.dist}({self._args()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prior) and (self.dist, self.params) == (other.dist, other.params)

    def __hash__(self) -> int:
        return hash((self.dist, repr(sorted(self.params.items()))))

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.params}

    @classmethod
    def from_value(cls, value: Prior | Mapping[str, Any]) -> Prior:
        """Accept a :class:`Prior` or a dict like ``{"dist": "HalfNormal", "sigma": 1}``."""
        if isinstance(value, Prior):
            return value
        if isinstance(value, Mapping) and "dist" in value:
            params = {k: v for k, v in value.items() if k != "dist"}
            return cls(value["dist"], **params)
        raise ValueError(
            f"a prior must be hierarch.Prior(...) or a dict with a 'dist' key, got {value!r}"
        )

    def create(self, name: str, **kwargs: Any):
        """Create the PyMC random variable ``name`` (inside a model context)."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self._np_params(), **kwargs)

    def dist_(self, **kwargs: Any):
        """An unnamed PyMC distribution (e.g. the ``sd_dist`` of an LKJ prior)."""
        import pymc as pm

        return getattr(pm, self.dist).dist(**self._np_params(), **kwargs)

    def _np_params(self) -> dict[str, Any]:
        return {k: np.asarray(v) if isinstance(v, list) else v for k, v in self.params.items()}

    def density(self, x: np.ndarray) -> np.ndarray:
        """Prior density evaluated at ``x`` (for plotting the prior against a posterior)."""
        import pymc as pm

        rv = getattr(pm, self.dist).dist(**self._np_params())
        return np.exp(pm.logp(rv, np.asarray(x, dtype=float)).eval())


def _mass_at(prior: Prior, name: str, points) -> bool:
    """Whether ``prior`` has a finite log density at any of ``points`` (every element of a
    vector prior checked at each); a clear error when it is no valid distribution."""
    import pymc as pm

    try:
        rv = getattr(pm, prior.dist).dist(**prior._np_params())
        points = np.asarray(points, dtype=float)
        if rv.ndim:  # a vector prior: check every element at each point
            points = points[:, None] * np.ones(rv.type.shape[-1] or 1)
        logp = np.asarray([pm.logp(rv, x).eval() for x in points], dtype=float)
    except Exception as e:  # parameters PyMC cannot make a distribution of
        raise ValueError(
            f"the prior for {name!r}, {prior}, is not a valid distribution: {e}"
        ) from None
    return bool(np.any(np.isfinite(logp)))


def check_positive_support(prior: Prior, name: str) -> None:
    """An SD, a scale or a shape needs a prior on the positive numbers: raise a clear error
    when ``prior`` puts mass on values of 0 or below (checked from its log density)."""
    if prior.dist in _POSITIVE_SUPPORT:
        return
    if _mass_at(prior, name, [-1e-8, -1e-3, -1.0, -1e3]):
        raise ValueError(
            f"the prior for {name!r} is {prior}, which puts mass on negative values; {name!r} "
            "is a standard deviation, scale or shape and needs a prior on the positive "
            "numbers, e.g. HalfNormal(sigma=...), Exponential(lam=...) or "
            "TruncatedNormal(lower=0, ...)"
        )


def check_unit_support(prior: Prior, name: str) -> None:
    """A probability needs a prior on (0, 1): raise a clear error when ``prior`` puts mass
    outside it (checked from its log density)."""
    if _mass_at(prior, name, [-1e-3, -1.0, 1.0 + 1e-3, 2.0]):
        raise ValueError(
            f"the prior for {name!r} is {prior}, which puts mass outside (0, 1); {name!r} is "
            "a probability and needs a prior on (0, 1), e.g. Beta(alpha=1, beta=1)"
        )


def resolve_priors(
    defaults: Mapping[str, Prior],
    overrides: Mapping[str, Any] | None,
    positive: Collection[str] = (),
    unit: Collection[str] = (),
) -> dict[str, Prior]:
    """Merge user overrides into the default priors, rejecting unknown parameter names and,
    for the parameters in ``positive`` (SDs, scales, shapes), priors with mass at or below
    zero; for those in ``unit`` (probabilities), priors with mass outside (0, 1)."""
    priors = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError(
                f"no parameter named {key!r} has a prior in this model; "
                f"parameters with priors: {', '.join(defaults)}"
            )
        priors[key] = Prior.from_value(value)
        if key in positive:
            check_positive_support(priors[key], key)
        if key in unit:
            check_unit_support(priors[key], key)
    return priors
