"""The thin result object wrapping an InferenceData and the model spec, and its save/load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import arviz as az

from hierarch.diagnostics import Diagnostics, check_convergence

__all__ = ["BayesFit", "load_fit"]

_SPEC_ATTR = "hierarch_spec"
_FIT_CLASSES: dict[str, type[BayesFit]] = {}


class BayesFit:
    """A Bayesian fit: the InferenceData is the single source of truth, the spec describes it.

    Subclasses register themselves per model family (``spec["model"]``) so that
    :func:`load_fit` rebuilds the right class from a netCDF file.
    """

    model_name: ClassVar[str] = ""
    #: parameters checked by :meth:`diagnostics`
    check_vars: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.model_name:
            _FIT_CLASSES[cls.model_name] = cls

    def __init__(self, idata: az.InferenceData, spec: dict[str, Any]) -> None:
        self.idata = idata
        self.spec = spec
        idata.posterior.attrs[_SPEC_ATTR] = json.dumps(spec)

    @property
    def conf_level(self) -> float:
        return float(self.spec["conf_level"])

    def _check_names(self) -> list[str]:
        return [v for v in self.check_vars if v in self.idata.posterior]

    def diagnostics(self, *, warn: bool = False, stacklevel: int = 3) -> Diagnostics:
        """R-hat, bulk/tail ESS and divergences of the model's parameters."""
        return check_convergence(self.idata, self._check_names(), warn=warn, stacklevel=stacklevel)

    def summary(self, **kwargs: Any):
        """ArviZ summary of the model's parameters (``arviz.summary`` keyword arguments)."""
        kwargs.setdefault("var_names", self._check_names())
        return az.summary(self.idata, **kwargs)

    def save(self, path: str | Path) -> Path:
        """Write the fit (posterior, data and spec) to a netCDF file.

        Examples
        --------
        >>> fit.save("rats_fit.nc")  # doctest: +SKIP
        >>> hierarch.load_fit("rats_fit.nc")  # doctest: +SKIP
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.idata.posterior.attrs[_SPEC_ATTR] = json.dumps(self.spec)
        self.idata.to_netcdf(str(path), engine="h5netcdf")
        return path


def load_fit(path: str | Path) -> BayesFit:
    """Load a fit written by :meth:`BayesFit.save`.

    Examples
    --------
    >>> fit = hierarch.load_fit("output/rats/fit.nc")  # doctest: +SKIP
    """
    idata = az.from_netcdf(str(path), engine="h5netcdf")
    if hasattr(idata, "load"):  # read everything now: the file may be overwritten later
        idata.load()
    try:
        spec = json.loads(idata.posterior.attrs[_SPEC_ATTR])
    except KeyError:
        raise ValueError(f"{path} is not a hierarch fit (no {_SPEC_ATTR!r} attribute)") from None
    cls = _FIT_CLASSES.get(spec.get("model", ""))
    if cls is None:
        raise ValueError(f"{path}: unknown hierarch model type {spec.get('model')!r}")
    return cls(idata, spec)
