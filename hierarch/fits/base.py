"""Fit objects: the protocol every fit follows, the Bayesian base class and save/load.

The fit protocol
----------------
Every fit of a hierarchy, from every front end (``binomial_model(..., multilevel=True)``,
``normal_means``, ``hierarch.model``), frequentist or Bayesian, answers the same calls with
the same table columns.  There is one path: the keyword front ends build the formula model's
spec (``m | trials(n) ~ 1 + (1 | g)``, ``y | se(s) ~ 1 + (1 | g)``), and their fits are the
formula fits (:class:`~hierarch.fits.mixed.MixedMLFit`, ``GLMMMLFit``, ``MixedBayesFit``)
with the immr or meta-analysis attributes and printouts added
(:mod:`hierarch.fits.binomial`, :mod:`hierarch.fits.normal_means`).

- ``method``: ``"ml"``, ``"reml"``, ``"laplace"``, ``"agq"`` or ``"bayes"``; ``conf_level``;
- ``fixed_effects()``: indexed by ``coef``; ``estimate``, ``lower``, ``upper``, with ``se``
  (ML: standard error) or ``sd`` (Bayes: posterior SD; ``estimate`` is the posterior mean);
- ``group_sds()``: ``group``, ``effect``, ``kind`` (``group`` or ``overdispersion``),
  ``estimate`` (Bayes adds ``sd``, ``lower``, ``upper``);
- ``tau(...)``: the between-group SD of a random intercept, a
  :class:`~hierarch.report.tau.TauSummary` (Bayes: posterior summary, draws and prior; ML:
  the estimate, ``float(fit.tau())``);
- ``correlations()`` (``group``, ``var1``, ``var2``, ``estimate``, ...), ``sigma()`` (one row
  ``sigma`` with ``estimate``; a clear error where the model has no residual SD), ``icc()``
  (per factor, ``group`` and ``icc``; on the latent scale for GLMMs after Nakagawa et al.
  2017; a clear error where undefined);
- ``coef()`` and ``ranef()``: dicts by grouping factor (ML: conditional modes with
  ``se_<effect>``; Bayes: posterior means with ``sd_<effect>``);
- ``shrinkage()``: per group ``unpooled``, ``partial`` (with ``_lower``, ``_upper``) and
  ``complete``; for a random intercept also ``grand_mean``, ``alpha`` (the pooling weight:
  the weight of the group's own data) and ``fraction_moved`` (the fraction of the distance to
  the grand mean the estimate moved);
- ``new_group()``: the predictive distribution of a new group (``mean``, ``median``,
  ``lower``, ``upper``);
- ``predict(newdata, kind="conditional" | "new_group" | "population" | "fixed")``: the mean
  response of new rows with ``mean``, ``lower``, ``upper`` (Bayes: over the posterior; ML:
  plug-in draws of the fixed effects and of the groups' conditional effects, as merTools'
  ``predictInterval``);
- ``save(path)`` and :func:`load_fit`: Bayesian fits store their InferenceData and spec; ML
  fits store the call that made them and its data, and are refitted on loading
  (:class:`MLFitSave`); either way the reloaded fit reports what the saved one did, and a
  reloaded formula fit's ``model`` has the fitted priors, parameterization and aggregation;
- ``str(fit)``: a printed summary (lme4's layout for formula models, immr's for the binomial
  hierarchy);
- ``hierarch.compare(a, b)``: a frequentist and a Bayesian fit of one model side by side, in
  either order (:mod:`hierarch.report.compare`).

Maximum-likelihood fits of formula models add the frequentist inference of lmerTest,
pbkrtest and lme4: ``fixed_effects(ddf=...)`` (t tests with Satterthwaite or Kenward-Roger
df; z tests for GLMMs), ``contrast(L)``, ``anova()`` (type III), ``confint(method="profile" |
"wald" | "boot")``, ``simulate(n, seed)``, ``predict(..., n_boot=)`` (bootstrap draws of the
variance components) and profile intervals in ``group_sds()`` and ``tau()``;
``hierarch.anova(m0, m1, ...)`` compares nested fits.

Formula-model fits add ``ppc()`` and ``loo()`` (Bayes; not yet for the known-SE
hierarchy), ``coefficients()``, ``varcorr()`` (ML) and ``diagnostics()`` (Bayes), and the
extras of lme4's printed summary: ``fitted()``, ``residuals(type="pearson" | "response")``
(Pearson: lme4's scaled residuals; Bayes: posterior means), ``fixed_effect_correlation()``
and, for ML fits, ``is_singular(tol=1e-4)`` (lme4's ``isSingular``); ``str(fit)`` of an ML
fit prints the scaled residuals' quantiles and the correlation of the fixed effects.
``tests/test_protocol.py`` runs the protocol on rats, pigs, cbpp and eight schools, each by
ML and by NUTS.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from hierarch.bayes.diagnostics import Diagnostics, check_convergence

if TYPE_CHECKING:  # ArviZ loads with the first Bayesian fit's summary, not on import
    import arviz as az

__all__ = [
    "BayesFit",
    "MLFitSave",
    "column_array",
    "column_values",
    "load_fit",
    "record_call",
    "register_refit",
]

_SPEC_ATTR = "hierarch_spec"
_FIT_CLASSES: dict[str, type[BayesFit]] = {}


class BayesFit:
    """A Bayesian fit: the InferenceData is the single source of truth, the spec describes it.

    Subclasses register themselves per model family (``spec["model"]``) so that
    :func:`load_fit` rebuilds the right class from a netCDF file.
    """

    model_name: ClassVar[str] = ""
    #: how the fit was made (the fit protocol's ``method``): always "bayes" here
    method: ClassVar[str] = "bayes"
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
        with warnings.catch_warnings():
            # the unit diagonal of a correlation matrix is constant: ArviZ computes R-hat of a
            # constant (0 / 0) and warns; those rows are dropped below
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            warnings.filterwarnings("ignore", "divide by zero encountered", RuntimeWarning)
            import arviz as az

            table = az.summary(self.idata, **kwargs)
        if "sd" in table.columns:
            diagonal = table.index.str.match(r"corr_.*\[(.+), \1\]$") & (table["sd"] == 0)
            table = table[~diagonal]
        return table

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


#: front end name -> function(data, kwargs) that repeats a maximum-likelihood fit; filled in
#: by the front ends (they sit above this layer), read by :func:`load_fit`
_ML_REFITS: dict[str, Callable[[pd.DataFrame, dict[str, Any]], Any]] = {}
_ML_ATTR = "hierarch_ml_call"
_DATA_PREFIX = "data__"


def register_refit(front_end: str, refit: Callable[[pd.DataFrame, dict[str, Any]], Any]) -> None:
    """Let :func:`load_fit` repeat the maximum-likelihood fits of ``front_end``."""
    _ML_REFITS[front_end] = refit


def record_call(fit, front_end: str, data: pd.DataFrame, columns, **kwargs: Any):
    """Remember how a maximum-likelihood fit was made (front end, its arguments, the columns
    of the data it read), so that :meth:`MLFitSave.save` can store it."""
    cols = list(dict.fromkeys(c for c in columns if c is not None))
    fit._call = {"front_end": front_end, "kwargs": kwargs, "columns": cols}
    fit._data = data[cols].reset_index(drop=True)
    return fit


def column_array(values: pd.Series, dim: str) -> xr.DataArray:
    """A data column as stored in a saved fit: text as strings; a pandas Categorical as its
    labels with its categories (their order chooses the reference level) in the attributes."""
    attrs = {}
    if isinstance(values.dtype, pd.CategoricalDtype):
        attrs = {
            "categories": json.dumps([str(c) for c in values.cat.categories]),
            "ordered": int(values.cat.ordered),
        }
    if values.dtype == object or attrs:
        return xr.DataArray(values.astype(str).to_numpy(dtype=str), dims=[dim], attrs=attrs)
    return xr.DataArray(values.to_numpy(), dims=[dim])


def column_values(da: xr.DataArray):
    """The column back from :func:`column_array` (a Categorical keeps its categories)."""
    if "categories" in da.attrs:
        return pd.Categorical(
            da.values.astype(str),
            categories=json.loads(da.attrs["categories"]),
            ordered=bool(da.attrs.get("ordered", 0)),
        )
    return da.values


class MLFitSave:
    """``save()`` for maximum-likelihood fits.

    An ML fit is stored as the call that made it (front end and arguments) and the columns
    of the data it read, with a few of its estimates; :func:`load_fit` repeats the call
    (the optimisation is deterministic, and takes milliseconds to seconds) and checks the
    estimates against the stored ones, so a reloaded fit reports what the saved one did.
    """

    _call: dict[str, Any] | None = None
    _data: pd.DataFrame | None = None

    def _check_values(self) -> dict[str, float]:
        """Estimates compared after reloading."""
        return {}

    def save(self, path: str | Path) -> Path:
        """Write the fit's call, data and estimates to a netCDF file (see :func:`load_fit`).

        Examples
        --------
        >>> fit.save("rats_ml.nc")  # doctest: +SKIP
        >>> hierarch.load_fit("rats_ml.nc")  # doctest: +SKIP
        """
        if self._call is None:
            raise ValueError(
                "this fit was not made by a hierarch front end (binomial_model, normal_means, "
                "model(...).fit), so there is no call to store"
            )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ds = xr.Dataset(
            {f"{_DATA_PREFIX}{c}": column_array(self._data[c], "row") for c in self._data.columns}
        )
        ds.attrs[_ML_ATTR] = json.dumps({**self._call, "check": self._check_values()})
        ds.to_netcdf(str(path), engine="h5netcdf")
        return path


def _load_ml(path: Path, attrs: dict[str, Any], ds: xr.Dataset):
    call = json.loads(attrs[_ML_ATTR])
    data = pd.DataFrame({str(v)[len(_DATA_PREFIX) :]: column_values(ds[v]) for v in ds.data_vars})[
        call["columns"]
    ]
    refit = _ML_REFITS.get(call["front_end"])
    if refit is None:
        raise ValueError(f"{path}: unknown hierarch front end {call['front_end']!r}")
    fit = refit(data, call["kwargs"])
    for name, saved in call.get("check", {}).items():
        now = fit._check_values()[name]
        if not np.isclose(now, saved, rtol=1e-6, atol=1e-9):
            warnings.warn(
                f"{path}: the reloaded fit's {name} is {now!r}, the saved one {saved!r} "
                "(another version of hierarch or its libraries?)",
                RuntimeWarning,
                stacklevel=3,
            )
    return fit


def load_fit(path: str | Path):
    """Load a fit written by ``fit.save(path)``: a Bayesian fit (its InferenceData and spec)
    or a maximum-likelihood fit (refitted from its stored call and data, see
    :class:`MLFitSave`).

    Examples
    --------
    >>> fit = hierarch.load_fit("output/rats/fit.nc")  # doctest: +SKIP
    """
    path = Path(path)
    with xr.open_dataset(str(path), engine="h5netcdf") as root:
        if _ML_ATTR in root.attrs:
            root.load()
            return _load_ml(path, dict(root.attrs), root)
    import arviz as az

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
