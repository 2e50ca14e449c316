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

import importlib.util as _importlib_util
import warnings as _warnings

if _importlib_util.find_spec("nutpie") is not None:
    # PyTensor's C backend warns on the first compile that pip's wheels give it no BLAS to
    # link; hierarch samples with nutpie, whose numba code does its own linear algebra, so the
    # message means nothing here (with the plain PyMC sampler it would, and is left alone)
    _warnings.filterwarnings(
        "ignore", message="PyTensor could not link to a BLAS installation", category=UserWarning
    )

# ArviZ 0.2x prints a daily banner about its coming 1.0 refactor on import: news for ArviZ's
# own users, not for a hierarch user who never called ArviZ (hierarch keeps its imports
# compatible with both)
_warnings.filterwarnings(
    "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
)

from hierarch import plots  # noqa: E402
from hierarch.bayes.diagnostics import ConvergenceWarning  # noqa: E402
from hierarch.core.datasets import describe_dataset, list_datasets, load_dataset  # noqa: E402
from hierarch.core.priors import Prior  # noqa: E402
from hierarch.core.validate import DataWarning  # noqa: E402
from hierarch.fits.base import BayesFit, load_fit  # noqa: E402
from hierarch.freq.diagnose import FitWarning  # noqa: E402
from hierarch.frontends import simulate  # noqa: E402
from hierarch.frontends.binomial import binomial_model  # noqa: E402
from hierarch.frontends.engines import from_engine  # noqa: E402
from hierarch.frontends.explore import explore  # noqa: E402
from hierarch.frontends.mixed import Model, model  # noqa: E402
from hierarch.frontends.normal_means import normal_means  # noqa: E402
from hierarch.frontends.sbc import sbc  # noqa: E402
from hierarch.report.anova import anova  # noqa: E402
from hierarch.report.binomial import new_group, population, shrinkage, tau_summary  # noqa: E402
from hierarch.report.compare import compare  # noqa: E402
from hierarch.report.crossval import ParetoKWarning, loo_compare  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DataWarning",
    "ParetoKWarning",
    "loo_compare",
    "sbc",
    "explore",
    "from_engine",
    "BayesFit",
    "anova",
    "ConvergenceWarning",
    "FitWarning",
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
