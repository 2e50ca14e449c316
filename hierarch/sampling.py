"""The one place where hierarch runs MCMC."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import asdict, dataclass
from typing import Any

import arviz as az

__all__ = ["SamplerSettings", "available_samplers", "resolve_sampler", "sample"]

_SAMPLERS = ("auto", "pymc", "nutpie", "numpyro")


@dataclass
class SamplerSettings:
    """NUTS settings, recorded in every fit.

    Defaults: 4 chains of 1000 draws after 1000 tuning steps, ``target_accept=0.9`` (a little
    above PyMC's 0.8, since hierarchical posteriors have funnels), nutpie when installed.
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    sampler: str = "auto"
    random_seed: int | None = None

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


def sample(
    model, settings: SamplerSettings, *, progressbar: bool | None = None
) -> tuple[az.InferenceData, str]:
    """Draw from ``model``'s posterior with NUTS; return the InferenceData and the back end used.

    ``progressbar=None`` shows a progress bar only in interactive use (a terminal or a notebook).
    """
    import pymc as pm

    backend = resolve_sampler(settings.sampler)
    if progressbar is None:
        progressbar = _interactive()
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
