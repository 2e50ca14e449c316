"""Formula models: ``hierarch.model("y ~ x + (x | g)", data)``, fitted by NUTS or by REML/ML.

The :class:`Model` is the spec (:class:`hierarch.core.spec.ModelSpec`) with the engines
attached: ``Model.build()`` returns the PyMC graph; ``Model.fit(method=...)`` fits it:
``"bayes"`` samples with NUTS, ``"reml"`` and ``"ml"`` run the frequentist twin
(:mod:`hierarch.freq.lmm`), ``"laplace"`` and ``"agq"`` the GLMM twin.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from hierarch.bayes import graphs
from hierarch.bayes.conditional import add_group_effects
from hierarch.bayes.parameterization import choose as choose_parameterization
from hierarch.bayes.sampling import SamplerSettings, sample
from hierarch.core import validate as v
from hierarch.core.spec import ModelSpec
from hierarch.fits.base import record_call, register_refit
from hierarch.fits.mixed import MixedBayesFit, ml_fit, store_data
from hierarch.fits.normal_means import NormalMeansBayesFit, NormalMeansML
from hierarch.freq.diagnose import FitWarning
from hierarch.freq.spec_fit import ML_METHODS, fit_spec

__all__ = ["Model", "model"]


class Model(ModelSpec):
    __doc__ = ModelSpec.__doc__

    _parameterization: dict[str, str] | None = None

    @property
    def parameterization(self) -> dict[str, str]:
        """Centred or non-centred, per block (``"auto"`` is resolved on first use)."""
        if self._parameterization is None:
            self._parameterization = choose_parameterization(self, self.parameterization_choice)
        return self._parameterization

    def build(self):
        """Build (do not sample) the PyMC model (:func:`hierarch.bayes.graphs.build`)."""
        return graphs.build(self, self.parameterization)

    def build_marginal(self):
        """The PyMC model with the group effects integrated out
        (:func:`hierarch.bayes.graphs.build_marginal`)."""
        return graphs.build_marginal(self)

    def prior_predictive(self, draws: int = 200, random_seed: int | None = None) -> pd.DataFrame:
        """Data sets simulated from the priors alone, beside the observed response: do the
        priors allow the data, and do they rule out what cannot happen?

        Parameters
        ----------
        draws : int
            Number of replicated data sets.
        random_seed : int, optional
            Seed of the draws: the same seed, the same replicates.

        Returns
        -------
        pandas.DataFrame
            One column per replicate (``rep_0`` ...) and ``observed``, one row per data row (per
            cell of alike rows for binomial models that aggregate them), as
            :meth:`hierarch.fits.mixed.MixedBayesFit.ppc`; ``attrs["kind"] == "prior"``. Draw it
            with :func:`hierarch.plots.plot_ppc`.

        Examples
        --------
        >>> import hierarch
        >>> m = hierarch.model("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
        >>> reps = m.prior_predictive(draws=100, random_seed=1)
        >>> reps.shape, reps.attrs["kind"]
        ((432, 101), 'prior')
        """
        from hierarch.bayes.prior_predictive import prior_predictive

        settings = SamplerSettings(draws=draws, random_seed=random_seed)
        rep, observed = prior_predictive(
            self, self.parameterization, settings.draws, settings.random_seed
        )
        out = pd.DataFrame(rep.T, columns=[f"rep_{i}" for i in range(rep.shape[0])])
        out["observed"] = observed
        out.attrs["family"] = self.family
        out.attrs["kind"] = "prior"
        return out

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        method: str = "bayes",
        *,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        target_accept: float = 0.9,
        sampler: str = "auto",
        random_seed: int | None = None,
        progressbar: bool | None = None,
        conf_level: float = 0.95,
        marginalize: bool | str = "auto",
        n_agq: int = 1,
    ):
        """Fit the model.

        Parameters
        ----------
        method : {"bayes", "reml", "ml", "laplace", "agq"}
            NUTS on :meth:`build`'s graph, or the frequentist twin: REML/ML for Gaussian
            models, Laplace or adaptive Gauss-Hermite quadrature (``n_agq`` points; one
            scalar random effect) for the other families; ``method="laplace", n_agq=0`` is
            glmer's ``nAGQ = 0`` (fixed effects estimated inside PIRLS: fastest, least
            precise).
        draws, tune, chains, target_accept, sampler, random_seed, progressbar
            NUTS settings (Bayesian only).
        conf_level : float
            Level of reported intervals.
        marginalize : bool or "auto"
            Sample the fixed effects and variance parameters under the exact marginal
            likelihood (group effects integrated out, :meth:`build_marginal`), then draw the
            group effects from their exact conditional posterior: the same posterior and the
            same variables as the plain model, at a fraction of the cost.  ``"auto"`` does so
            whenever it is exact (Gaussian response with the identity link, no known SEs).
        """
        conf_level = v.conf_level(conf_level)
        if method in ML_METHODS:
            result = fit_spec(self, method, n_agq)
            for note in result.notes:  # singular, not converged, nearly unidentifiable
                warnings.warn(f"{self.formula}: {note}", FitWarning, stacklevel=2)
            if self.known_se is not None:  # the known-SE hierarchy
                fit = NormalMeansML(self, result, conf_level)
            else:
                fit = ml_fit(self, result, conf_level)
            return record_call(
                fit,
                "model",
                self.data,
                self.columns_used,
                formula=self.formula,
                family=self.family,
                link=self.link,
                trials=self.trials_column,
                aggregate=self.aggregate,
                weights=self.weights_column,
                method=method,
                n_agq=n_agq,
                conf_level=conf_level,
            )
        if method != "bayes":
            raise ValueError(
                f"method must be 'bayes', 'reml', 'ml', 'laplace' or 'agq', got {method!r}"
            )
        settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
        idata, spec = self.sample_posterior(settings, conf_level, marginalize, progressbar)
        if self.known_se is not None:
            spec["model"] = "normal_means"
            fit = NormalMeansBayesFit(idata, spec)
        else:
            fit = MixedBayesFit(idata, spec)
        fit._model = self
        fit.diagnostics(warn=True, stacklevel=4)
        return fit

    def _sample(self, pm_model, settings, progressbar, marginalize, sparse_op):
        return sample(
            pm_model,
            settings,
            progressbar=progressbar,
            # the sparse marginal Op holds the data's statistics itself: never reuse its
            # compilation for other data
            cache_key=None
            if sparse_op
            else graphs.cache_key(self, pm_model, None if marginalize else self.parameterization),
        )

    def sample_posterior(
        self,
        settings: SamplerSettings,
        conf_level: float = 0.95,
        marginalize: bool | str = "auto",
        progressbar: bool | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Sample the posterior (see :meth:`fit`): the InferenceData and the fit's spec."""
        random_seed = settings.random_seed
        notes = []
        if marginalize == "auto":
            marginalize = self.can_marginalize
            if not marginalize and self.family == "gaussian":
                notes.append(
                    "group effects not integrated out: exact marginalization needs the "
                    f"identity link (this model has {self.link!r}) and no known standard "
                    "errors; the plain model was sampled"
                )
        pm_model = self.build_marginal() if marginalize else self.build()
        sparse_op = bool(marginalize and self._sparse_marginal)
        with warnings.catch_warnings():
            # numba runs the sparse marginal Op (CHOLMOD) in object mode, as it must
            warnings.filterwarnings("ignore", "Numba will use object mode", UserWarning)
            idata, backend = self._sample(pm_model, settings, progressbar, marginalize, sparse_op)
        if marginalize:
            add_group_effects(
                self, idata, random_seed, kernel=getattr(pm_model, "_hierarch_kernel", None)
            )
        store_data(idata, self.data, self.columns_used)
        spec = {
            "model": "mixed",
            "formula": self.formula,
            "family": self.family,
            "link": self.link,
            "trials": self.trials_column,
            "weights": self.weights_column,
            "response": self.parsed.response,
            "x_names": self.parsed.x_names,
            "blocks": [
                {"name": n, "factor": b.factor, "columns": b.columns}
                for n, b in zip(self.block_names, self.parsed.blocks, strict=True)
            ],
            "conf_level": conf_level,
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
            "sampler": settings.to_dict(),
            "backend": backend,
            "parameterization": "marginalized" if marginalize else self.parameterization,
            "marginalized": bool(marginalize),
            # which log-density NUTS ran on: hierarch's hand-written one for the models it
            # covers (:mod:`hierarch.bayes.kernels`), else PyMC's compiled graph
            "log_density": "hierarch kernel"
            if backend == "nutpie" and getattr(pm_model, "_hierarch_kernel", None) is not None
            else "PyMC graph",
            "aggregate": self.aggregate,
            "notes": notes,
        }
        return idata, spec


def model(
    formula: str,
    data: pd.DataFrame,
    family: str = "gaussian",
    priors: dict[str, Any] | None = None,
    parameterization: str | dict[str, str] = "auto",
    *,
    link: str | None = None,
    trials: str | None = None,
    aggregate: bool = True,
    na_action: str = "error",
    weights: str | None = None,
) -> Model:
    """Describe a mixed model with an lme4-style formula (see :class:`Model`).

    ``na_action="drop"`` fits the rows that are complete in the model's columns and warns
    which it dropped; by default a missing value is an error that names its rows.
    ``weights="w"`` (Gaussian models) gives row ``i`` the residual variance
    ``sigma^2 / w_i``, as lme4's ``weights``.

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("Reaction ~ Days + (Days | Subject)",
    ...                    hierarch.load_dataset("sleepstudy"))
    >>> [round(float(x), 2) for x in m.fit(method="reml").lmm.beta]
    [251.41, 10.47]
    """
    return Model(
        formula,
        data,
        family=family,
        priors=priors,
        parameterization=parameterization,
        link=link,
        trials=trials,
        aggregate=aggregate,
        na_action=na_action,
        weights=weights,
    )


def _refit(data: pd.DataFrame, kw: dict[str, Any]):
    kw = dict(kw)
    fit_kw = {k: kw.pop(k) for k in ("method", "n_agq", "conf_level")}
    return Model(kw.pop("formula"), data, **kw).fit(**fit_kw)


register_refit("model", _refit)
