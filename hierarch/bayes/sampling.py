"""The one place where hierarch runs MCMC."""

from __future__ import annotations

import contextlib
import importlib.util
import math
import numbers
import os
import sys
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ArviZ is imported by what samples, not by importing this module
    import arviz as az

from hierarch.bayes import _nutpie_disk

__all__ = [
    "SamplerSettings",
    "available_samplers",
    "clear_compiled_cache",
    "model_key",
    "resolve_sampler",
    "sample",
]

# nutpie-compiled models by structure (see ``model_key``): a refit of a model of the same
# shape -- new data, new prior values, another seed -- swaps the data in and skips the
# compilation (seconds of numba work).  Kept small: each entry holds compiled functions.
_COMPILED: dict[Any, Any] = {}
_MAX_COMPILED = 16


def clear_compiled_cache() -> None:
    """Forget every cached compiled model."""
    _COMPILED.clear()


def model_key(model, extra: Any = ()) -> tuple:
    """A hashable description of a PyMC model's structure, for models whose data all enter
    through ``pm.Data``: the random variables (names and distribution types), the shapes of
    their values and of every data variable, deterministics and potentials, plus ``extra``
    (what the graph holds as constants: link, formula, prior families, LKJ shape, ...)."""
    import numpy as np

    # shapes from dims and static types (``model.initial_point()`` would compile a function)
    dims = model.named_vars_to_dims
    rvs = tuple(
        (rv.name, type(rv.owner.op).__name__, dims.get(rv.name), rv.type.shape)
        for rv in model.free_RVs + model.observed_RVs
    )
    data = tuple(sorted((d.name, np.shape(d.get_value())) for d in model.data_vars))
    dets = tuple(d.name for d in model.deterministics)
    coords = tuple((k, len(v)) for k, v in sorted(model.coords.items()))
    return (extra, rvs, data, dets, len(model.potentials), coords)


_SAMPLERS = ("auto", "pymc", "nutpie", "numpyro")
_DEFAULTS = {"draws": 1000, "tune": 1000, "chains": 4}


def _count(value: Any, name: str, minimum: int) -> int:
    """A whole number of at least ``minimum`` (draws, tune, chains, seeds), or a clear error
    naming the setting."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


@dataclass
class SamplerSettings:
    """NUTS settings, recorded in every fit.

    Defaults: 4 chains of 1000 draws after 1000 tuning steps, ``target_accept=0.9`` (a little
    above PyMC's 0.8, since hierarchical posteriors have funnels), nutpie when installed.
    ``draws``, ``tune`` or ``chains`` left at ``None`` take these defaults, or the values of
    the environment variables ``HIERARCH_DRAWS``, ``HIERARCH_TUNE``, ``HIERARCH_CHAINS`` when
    set (so documentation examples and notebooks can be run quickly; an explicit value
    always wins).
    """

    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    target_accept: float = 0.9
    sampler: str = "auto"
    random_seed: int | None = None

    def __post_init__(self) -> None:
        for name, default in _DEFAULTS.items():
            value = getattr(self, name)
            where = f"{name}"
            if value is None:
                env = os.environ.get(f"HIERARCH_{name.upper()}")
                value, where = (
                    (env, f"environment variable HIERARCH_{name.upper()}")
                    if env
                    else (
                        default,
                        name,
                    )
                )
            setattr(self, name, _count(value, where, minimum=0 if name == "tune" else 1))
        ta = self.target_accept
        if isinstance(ta, bool) or not isinstance(ta, numbers.Real) or not 0 < float(ta) < 1:
            raise ValueError(
                f"target_accept must be a number strictly between 0 and 1 (the target "
                f"acceptance rate of NUTS, e.g. 0.9 or 0.95), got {ta!r}"
            )
        self.target_accept = float(ta)
        if self.random_seed is not None:
            self.random_seed = _count(self.random_seed, "random_seed", minimum=0)
        if not isinstance(self.sampler, str):
            raise ValueError(f"sampler must be a name such as 'auto', got {self.sampler!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def available_samplers() -> list[str]:
    """NUTS back ends usable here, fastest first."""
    out = []
    if importlib.util.find_spec("nutpie") is not None:
        out.append("nutpie")
    if importlib.util.find_spec("numpyro") is not None:
        out.append("numpyro")
    out.append("pymc")
    return out


def resolve_sampler(sampler: str) -> str:
    """Turn ``"auto"`` into a concrete back end; check an explicit one is installed."""
    if sampler not in _SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(_SAMPLERS)}")
    avail = available_samplers()
    if sampler == "auto":
        return avail[0]
    if sampler not in avail:
        raise ValueError(
            f"sampler {sampler!r} is not installed; installed: {', '.join(avail)} "
            f"(pip install {sampler})"
        )
    return sampler


def _interactive() -> bool:
    if "ipykernel" in sys.modules or hasattr(sys, "ps1"):
        return True
    return sys.stderr.isatty()


def _disk_cache_enabled() -> bool:
    """nutpie's compiled wrappers are kept on disk (next to PyTensor's numba cache) unless
    ``HIERARCH_DISK_CACHE=0`` (nor when PyTensor's numba cache is off: see
    :func:`hierarch.bayes._nutpie_disk.compile_pymc_model`)."""
    import os

    return os.environ.get("HIERARCH_DISK_CACHE", "1") != "0"


def _sample_nutpie_cached(model, settings: SamplerSettings, progressbar: bool, key):
    """nutpie with the compiled model reused across fits of the same structure (what
    ``pm.sample(nuts_sampler="nutpie")`` does, minus the recompilation)."""
    import nutpie
    import pymc as pm
    from arviz import dict_to_dataset
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        find_constants,
        find_observations,
    )
    from pymc.util import _get_seeds_per_chain

    # a model hierarch has a hand-written log-density for (:mod:`hierarch.bayes.kernels`):
    # nothing to compile but one numba function, shared by every model of its class
    kernel = getattr(model, "_hierarch_kernel", None)
    compiled = None if kernel is not None else _COMPILED.get(key)
    if kernel is not None:
        compiled = kernel.nutpie_model(
            {k: list(v) for k, v in model.coords.items()},
            {k: tuple(v) for k, v in model.named_vars_to_dims.items() if v is not None},
        )
    elif compiled is None:
        # nutpie starts each chain at the initial point jittered by U(-1, 1) on the
        # unconstrained scale; for fixed effects of wide-ranged covariates (prior SD 0.07 for
        # a covariate spanning +/-60) that is a hopeless start, so they start at their prior
        # means (intercept at the link of the mean response) and only the other parameters
        # are jittered (which still sends the chains apart)
        jitter = {
            rv for rv in model.free_RVs if rv.name != "beta" and not rv.name.startswith("beta_")
        }
        compiled = None
        if _disk_cache_enabled():
            try:
                compiled = _nutpie_disk.compile_pymc_model(
                    model, jitter_rvs=jitter, structure_key=key
                )
            except Exception as err:  # noqa: BLE001 -- a speed-up must never cost a fit
                warnings.warn(
                    f"hierarch's on-disk compile cache was not used ({type(err).__name__}: "
                    f"{err}); compiling with nutpie as usual. Set HIERARCH_DISK_CACHE=0 to "
                    "skip it, or delete PyTensor's numba cache directory if this repeats.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        if compiled is None:
            compiled = nutpie.compile_pymc_model(model, jitter_rvs=jitter)
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = compiled
    else:
        compiled = compiled.with_data(**{d.name: d.get_value() for d in model.data_vars})
    # the kernels' LAPACK calls run in nutpie's chain threads: one BLAS thread each (OpenBLAS
    # threads of two chains on two cores fight; measured on InstEval: several times slower)
    from hierarch.core.sparse import one_blas_thread

    with one_blas_thread() if kernel is not None else contextlib.nullcontext():
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            target_accept=settings.target_accept,
            seed=_get_seeds_per_chain(settings.random_seed, 1)[0],
            progress_bar=progressbar,
        )
    # the compiled model carries the coordinates of the fit it was made for: relabel
    post = idata.posterior
    idata.posterior = post.assign_coords(
        {k: list(v) for k, v in model.coords.items() if k in post.dims}
    )
    coords, dims = coords_and_dims_for_inferencedata(model)
    groups = {
        "constant_data": find_constants(model),
        "observed_data": find_observations(model),
    }
    idata.add_groups(
        {
            g: dict_to_dataset(v, library=pm, coords=coords, dims=dims, default_dims=[])
            for g, v in groups.items()
        },
        coords=coords,
        dims=dims,
    )
    return idata


def sample(
    model,
    settings: SamplerSettings,
    *,
    progressbar: bool | None = None,
    cache_key: Any = None,
) -> tuple[az.InferenceData, str]:
    """Draw from ``model``'s posterior with NUTS; return the InferenceData and the back end used.

    ``progressbar=None`` shows a progress bar only in interactive use (a terminal or a notebook).
    With a ``cache_key`` (see :func:`model_key`; the model's data must all be ``pm.Data``)
    and the nutpie back end, the compiled model is kept and reused by later fits with the
    same key: a refit of the same shape pays no compilation.  Its numba code is also kept on
    disk under the same key (:mod:`hierarch.bayes._nutpie_disk`), so a new process loads a model
    it has compiled before; ``HIERARCH_DISK_CACHE=0`` turns that off.
    """
    import pymc as pm

    backend = resolve_sampler(settings.sampler)
    if progressbar is None:
        progressbar = _interactive()
    kernel = getattr(model, "_hierarch_kernel", None)
    if backend == "nutpie" and (cache_key is not None or kernel is not None):
        idata = _sample_nutpie_cached(model, settings, progressbar, (cache_key, backend))
    else:
        with model:
            idata = pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                target_accept=settings.target_accept,
                random_seed=settings.random_seed,
                nuts_sampler=backend,
                progressbar=progressbar,
                compute_convergence_checks=False,
            )
    if "constant_data" in idata.groups():  # prior values and statistics: in the spec already
        cd = idata.constant_data
        drop = [v for v in cd.data_vars if str(v).startswith(("prior_", "stat_"))]
        if drop:
            cd = cd.drop_vars(drop)
            idata.constant_data = cd.drop_vars(
                [c for c in cd.coords if not any(c in cd[v].dims for v in cd.data_vars)]
            )
    # keep the fit lean: tuning draws are not part of the posterior, and the unconstrained
    # copies of constrained parameters (``sigma_log__``) that some back ends return are not
    # parameters of the model
    for group in [g for g in idata.groups() if g.startswith("warmup")]:
        del idata[group]
    internal = [v for v in idata.posterior.data_vars if str(v).endswith("__")]
    if internal:
        post = idata.posterior.drop_vars(internal)
        unused = [
            c
            for c in post.coords
            if c not in ("chain", "draw") and not any(c in post[v].dims for v in post.data_vars)
        ]
        idata.posterior = post.drop_vars(unused)
    return idata, backend
