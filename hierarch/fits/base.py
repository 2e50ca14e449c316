"""Fit objects: the protocol every fit follows, the Bayesian base class and save/load.

The fit protocol
----------------
Every fit of a hierarchy, from every front end (``binomial_model(..., multilevel=True)``,
``normal_means``, ``hierarch.model``), frequentist or Bayesian, answers the same calls with
the same table columns:

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
- ``save(path)`` and :func:`load_fit`: Bayesian fits store their InferenceData and spec; ML
  fits store the call that made them and its data, and are refitted on loading
  (:class:`MLFitSave`); either way the reloaded fit reports what the saved one did, and a
  reloaded formula fit's ``model`` has the fitted priors, parameterization and aggregation;
- ``str(fit)``: a printed summary (lme4's layout for formula models, immr's for the binomial
  hierarchy);
- ``hierarch.compare(a, b)``: a frequentist and a Bayesian fit of one model side by side, in
  either order (:mod:`hierarch.report.compare`).

Formula-model fits add ``predict()``, ``ppc()`` and ``loo()``, ``coefficients()``,
``varcorr()`` (ML) and ``diagnostics()`` (Bayes).  ``tests/test_protocol.py`` runs the
protocol on rats, pigs, cbpp and eight schools, each by ML and by NUTS.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from hierarch.bayes.diagnostics import Diagnostics, check_convergence

__all__ = [
    "BayesFit",
    "MLFitSave",
    "ScalarHierarchyReports",
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


def _column(values: pd.Series) -> np.ndarray:
    if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(str).to_numpy(dtype=str)
    return values.to_numpy()


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
            {f"{_DATA_PREFIX}{c}": ("row", _column(self._data[c])) for c in self._data.columns}
        )
        ds.attrs[_ML_ATTR] = json.dumps({**self._call, "check": self._check_values()})
        ds.to_netcdf(str(path), engine="h5netcdf")
        return path


def _load_ml(path: Path, attrs: dict[str, Any], ds: xr.Dataset):
    call = json.loads(attrs[_ML_ATTR])
    data = pd.DataFrame({str(v)[len(_DATA_PREFIX) :]: ds[v].values for v in ds.data_vars})[
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


class ScalarHierarchyReports:
    """The fit protocol's tables for a hierarchy with one random intercept per group
    (``binomial_model(..., multilevel=True)``, ``normal_means``), in the columns of the
    formula models' fits.  A fit supplies :meth:`_hyper` (the grand mean ``mu`` and the
    between-group SD ``tau``, as draws or estimates) and :meth:`_effects` (the group
    effects ``b_j = theta_j - mu`` on the same scale)."""

    #: the family's latent-scale residual variance, for the ICC (None: not defined)
    _latent_variance: float | None = None
    _no_icc = "the ICC is not defined for this hierarchy"

    def _hyper(self) -> dict[str, Any]:
        """ML fits: the estimates ``mu`` (with ``se_mu``) and ``tau_estimate``; Bayesian
        fits override this with posterior draws (and no ``se_mu``)."""
        return {
            "mu": self.mu,
            "se_mu": self.se_mu,
            "tau": self.tau_estimate,
            "group": self.group_column,
        }

    def _effects(self) -> tuple[list, np.ndarray, np.ndarray | None]:  # pragma: no cover
        raise NotImplementedError

    def _row(self, x, se: float | None = None) -> dict[str, float]:
        """Estimate and interval: from draws (Bayes) or from an estimate and its SE (ML)."""
        level = self.conf_level
        if se is None:  # posterior draws
            x = np.asarray(x, dtype=float)
            lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
            return {"estimate": x.mean(), "sd": x.std(ddof=1), "lower": lo, "upper": hi}
        z = float(stats.norm.ppf(0.5 + level / 2))
        return {"estimate": float(x), "se": se, "lower": x - z * se, "upper": x + z * se}

    def fixed_effects(self) -> pd.DataFrame:
        """The grand mean ``mu`` (the model's only fixed effect, ``Intercept``)."""
        h = self._hyper()
        row = self._row(h["mu"], h.get("se_mu"))
        return pd.DataFrame([row], index=pd.Index(["Intercept"], name="coef"))

    def group_sds(self) -> pd.DataFrame:
        """The between-group SD, in the formula fits' columns."""
        h = self._hyper()
        est = {"estimate": float(h["tau"])} if h.get("se_mu") is not None else self._row(h["tau"])
        return pd.DataFrame([{"group": h["group"], "effect": "Intercept", "kind": "group", **est}])

    _no_sigma = "this hierarchy has no residual SD"

    def sigma(self):
        """No residual SD to estimate: binomial counts have none, and the known-SE
        hierarchy takes its within-group SDs (the standard errors) as given."""
        raise ValueError(self._no_sigma)

    def correlations(self) -> pd.DataFrame:
        """No correlated effects in this hierarchy: an empty table."""
        return pd.DataFrame(columns=["group", "var1", "var2", "estimate"])

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Group effects ``b_j`` (conditional modes with conditional SDs ``se_Intercept`` for
        ML; posterior means with posterior SDs ``sd_Intercept`` for Bayes), by factor."""
        labels, b, spread = self._effects()
        h = self._hyper()
        col = "se_Intercept" if h.get("se_mu") is not None else "sd_Intercept"
        index = pd.Index(labels, name=h["group"])
        return {h["group"]: pd.DataFrame({"Intercept": b, col: spread}, index=index)}

    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-group intercepts ``mu + b_j`` (lme4's ``coef``), by factor."""
        labels, b, _ = self._effects()
        h = self._hyper()
        mu = float(np.mean(h["mu"]))
        return {
            h["group"]: pd.DataFrame({"Intercept": mu + b}, index=pd.Index(labels, name=h["group"]))
        }

    def icc(self) -> pd.DataFrame:
        """``tau^2 / (tau^2 + v)`` with ``v`` the latent-scale variance (binomial, logit:
        ``pi^2 / 3``; Nakagawa et al. 2017)."""
        if self._latent_variance is None:
            raise ValueError(self._no_icc)
        h = self._hyper()
        x = np.asarray(h["tau"], dtype=float) ** 2
        x = x / (x + self._latent_variance)
        if h.get("se_mu") is not None:
            return pd.DataFrame([{"group": h["group"], "icc": float(x)}])
        row = self._row(x)
        return pd.DataFrame([{"group": h["group"], "icc": row.pop("estimate"), **row}])
