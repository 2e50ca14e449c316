"""``hierarch.compare``: a frequentist and a Bayesian fit of the same model side by side, for
every hierarchy (binomial, known standard errors, formula models)."""

from __future__ import annotations

import pandas as pd

from hierarch.report import binomial, mixed
from hierarch.report.binomial import Comparison

__all__ = ["compare"]


def _model_kind(fit) -> str:
    """``binomial``, ``normal_means`` or ``mixed``, read off the fit's own attributes."""
    spec = getattr(fit, "spec", None)
    if spec is not None:
        return spec["model"]
    if hasattr(fit, "model"):  # REML/ML or Laplace/AGQ fit of a formula model
        return "mixed"
    if hasattr(fit, "se_mu") and "y" in getattr(fit, "groups", pd.DataFrame()):
        return "normal_means"
    return "binomial"


def _normal_means(freq_fit, bayes_fit) -> Comparison:
    fg, be = freq_fit.estimates, bayes_fit.estimates
    if (
        fg["group"].astype(str).tolist() != be["group"].astype(str).tolist()
        or not (fg["y"].to_numpy() == be["y"].to_numpy()).all()
    ):
        raise ValueError("the two fits were not made on the same groups and estimates")
    groups = pd.DataFrame(
        {
            "group": fg["group"].to_numpy(),
            "se": fg["se"].to_numpy(),
            "unpooled": fg["y"].to_numpy(),
            "freq": fg["estimate"].to_numpy(),
            "freq_lower": fg["lower"].to_numpy(),
            "freq_upper": fg["upper"].to_numpy(),
            "bayes": be["estimate"].to_numpy(),
            "bayes_lower": be["lower"].to_numpy(),
            "bayes_upper": be["upper"].to_numpy(),
        }
    )
    summary = pd.DataFrame(
        {"mu": [freq_fit.mu, bayes_fit.mu], "tau": [float(freq_fit.tau()), float(bayes_fit.tau())]},
        index=pd.Index(["frequentist", "bayesian"], name="approach"),
    )
    return Comparison(groups=groups, summary=summary)


def compare(a, b):
    """Set a frequentist and a Bayesian fit of the same model side by side (either order).

    Parameters
    ----------
    a, b
        Two fits of one model, one by maximum likelihood (ML, REML, Laplace, AGQ) and one
        Bayesian, from any front end: ``binomial_model(..., multilevel=True)``,
        ``normal_means`` or ``hierarch.model``.

    Returns
    -------
    Comparison or pandas.DataFrame
        Binomial and known-SE hierarchies: a :class:`~hierarch.report.binomial.Comparison`
        (``groups``: per group the unpooled, frequentist and Bayesian estimates with
        intervals; ``summary``: mu, tau and more per approach).  Formula models: one row per
        parameter (fixed effects, group SDs, correlations, residual SD or dispersion) with the
        frequentist ``estimate`` and the posterior ``mean``, ``lower``, ``upper``
        (:func:`hierarch.report.mixed.compare`).

    Examples
    --------
    >>> import hierarch
    >>> rats = hierarch.load_dataset("rats")
    >>> ml = hierarch.binomial_model("m", "n", "batch", rats, multilevel=True)
    >>> bayes = hierarch.binomial_model("m", "n", "batch", rats, multilevel=True,
    ...                                 method="bayes", draws=200, tune=200, chains=2,
    ...                                 random_seed=1, progressbar=False)  # doctest: +SKIP
    >>> hierarch.compare(ml, bayes).summary.loc["frequentist", "tau"]  # doctest: +SKIP
    0.6646...
    """
    bayes_a, bayes_b = a.method == "bayes", b.method == "bayes"
    if bayes_a == bayes_b:
        which = "Bayesian" if bayes_a else "frequentist"
        raise ValueError(
            f"compare() sets a frequentist and a Bayesian fit side by side; both fits are "
            f"{which} (methods {a.method!r} and {b.method!r})"
        )
    freq_fit, bayes_fit = (b, a) if bayes_a else (a, b)
    kind, other = _model_kind(bayes_fit), _model_kind(freq_fit)
    if kind != other:
        raise ValueError(f"the two fits are of different models ({other} and {kind})")
    if kind == "binomial":
        return binomial.compare(freq_fit, bayes_fit)
    if kind == "normal_means":
        return _normal_means(freq_fit, bayes_fit)
    return mixed.compare(freq_fit, bayes_fit)
