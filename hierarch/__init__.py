"""hierarch: Bayesian hierarchical models with a frequentist twin.

Examples
--------
>>> import hierarch
>>> rats = hierarch.load_dataset("rats")
>>> fit = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
>>> round(fit.tau, 4)
0.6646
"""

from hierarch import plots, simulate
from hierarch.binomial import binomial_model
from hierarch.datasets import describe_dataset, list_datasets, load_dataset
from hierarch.diagnostics import ConvergenceWarning
from hierarch.mixed import Model, model
from hierarch.normal_means import normal_means
from hierarch.priors import Prior
from hierarch.report import compare, new_group, population, shrinkage, tau_summary
from hierarch.results import BayesFit, load_fit

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
