"""Priors: a small, serialisable description of a PyMC distribution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["Prior", "resolve_priors"]


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
        import pymc as pm

        cls = getattr(pm, str(dist), None)
        if cls is None or not hasattr(cls, "dist"):
            raise ValueError(f"unknown prior distribution {dist!r}: not a PyMC distribution")
        self.dist = str(dist)
        self.params = {
            k: [float(x) for x in v] if isinstance(v, list | tuple | np.ndarray) else float(v)
            for k, v in params.items()
        }

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


def resolve_priors(
    defaults: Mapping[str, Prior], overrides: Mapping[str, Any] | None
) -> dict[str, Prior]:
    """Merge user overrides into the default priors, rejecting unknown parameter names."""
    priors = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError(
                f"no parameter named {key!r} has a prior in this model; "
                f"parameters with priors: {', '.join(defaults)}"
            )
        priors[key] = Prior.from_value(value)
    return priors
