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

# the public names, imported on first use (PEP 562): ``import hierarch`` stays light (a REML
# fit never loads PyMC, ArviZ or matplotlib; at InstEval size that is ~0.3 GiB of peak memory
# and seconds of import time); ``name: (module, attribute)``, attribute None for a module
_LAZY = {
    "plots": ("hierarch.plots", None),
    "ConvergenceWarning": ("hierarch.bayes.diagnostics", "ConvergenceWarning"),
    "describe_dataset": ("hierarch.core.datasets", "describe_dataset"),
    "list_datasets": ("hierarch.core.datasets", "list_datasets"),
    "load_dataset": ("hierarch.core.datasets", "load_dataset"),
    "Prior": ("hierarch.core.priors", "Prior"),
    "DataWarning": ("hierarch.core.validate", "DataWarning"),
    "BayesFit": ("hierarch.fits.base", "BayesFit"),
    "load_fit": ("hierarch.fits.base", "load_fit"),
    "FitWarning": ("hierarch.freq.diagnose", "FitWarning"),
    "simulate": ("hierarch.frontends.simulate", None),
    "binomial_model": ("hierarch.frontends.binomial", "binomial_model"),
    "from_engine": ("hierarch.frontends.engines", "from_engine"),
    "explore": ("hierarch.frontends.explore", "explore"),
    "Model": ("hierarch.frontends.mixed", "Model"),
    "model": ("hierarch.frontends.mixed", "model"),
    "normal_means": ("hierarch.frontends.normal_means", "normal_means"),
    "sbc": ("hierarch.frontends.sbc", "sbc"),
    "anova": ("hierarch.report.anova", "anova"),
    "new_group": ("hierarch.report.binomial", "new_group"),
    "population": ("hierarch.report.binomial", "population"),
    "shrinkage": ("hierarch.report.binomial", "shrinkage"),
    "tau_summary": ("hierarch.report.binomial", "tau_summary"),
    "compare": ("hierarch.report.compare", "compare"),
    "ParetoKWarning": ("hierarch.report.crossval", "ParetoKWarning"),
    "loo_compare": ("hierarch.report.crossval", "loo_compare"),
}


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hierarch' has no attribute {name!r}") from None
    import importlib

    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
