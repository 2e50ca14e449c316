"""hierarch: Bayesian hierarchical models with a frequentist twin.

The package is layered; each layer imports only the layers below it (``make lint`` checks
this with import-linter, see ``pyproject.toml``):

- ``hierarch.cli``: the command line;
- ``hierarch.frontends``: ``binomial_model``, ``normal_means``, ``model`` and the simulators;
- ``hierarch.plots``: draws what a reporting function returned;
- ``hierarch.fits``: the fit objects (one protocol, :mod:`hierarch.fits.base`);
- ``hierarch.report``: pure reporting functions, fit in, table out;
- ``hierarch.bayes``: PyMC graphs, marginalization, conditional draws, sampling and caches;
- ``hierarch.freq``: REML/ML, Laplace and adaptive quadrature;
- ``hierarch.core``: formulas, families, priors, validation, the model spec, datasets.

Examples
--------
>>> import hierarch
>>> rats = hierarch.load_dataset("rats")
>>> fit = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
>>> round(fit.tau(), 4)
0.6646
"""

from hierarch import plots
from hierarch.bayes.diagnostics import ConvergenceWarning
from hierarch.core.datasets import describe_dataset, list_datasets, load_dataset
from hierarch.core.priors import Prior
from hierarch.fits.base import BayesFit, load_fit
from hierarch.frontends import simulate
from hierarch.frontends.binomial import binomial_model
from hierarch.frontends.mixed import Model, model
from hierarch.frontends.normal_means import normal_means
from hierarch.report.binomial import new_group, population, shrinkage, tau_summary
from hierarch.report.compare import compare

__version__ = "0.1.0"

__all__ = [
    "BayesFit",
    "ConvergenceWarning",
    "Prior",
    "binomial_model",
    "compare",
    "describe_dataset",
    "list_datasets",
    "load_dataset",
    "load_fit",
    "Model",
    "model",
    "new_group",
    "normal_means",
    "plots",
    "simulate",
    "population",
    "shrinkage",
    "tau_summary",
]
