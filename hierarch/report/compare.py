"""``hierarch.compare``: a frequentist and a Bayesian fit of the same model side by side, for
every hierarchy (binomial, known standard errors, formula models)."""

from __future__ import annotations

import pandas as pd

from hierarch.report import binomial, mixed
from hierarch.report.binomial import Comparison

__all__ = ["compare", "parameters"]


def _model_kind(fit) -> str:
    """``binomial``, ``normal_means`` or ``mixed``, read off the fit's own attributes."""
    if not hasattr(fit, "method"):
        raise TypeError(f"compare() takes two hierarch fits, got a {type(fit).__name__}")
    kind = getattr(fit, "kind", None)
    if kind == "multilevel":  # binomial_model(..., multilevel=True)
        return "binomial"
    if kind in ("pooled", "unpooled"):
        raise ValueError(
            f"compare() sets two fits of a hierarchy side by side; the {kind} binomial model has "
            "no hierarchy: fit binomial_model(..., multilevel=True)"
        )
    if getattr(fit, "hierarchy", None) == "normal_means":
        return "normal_means"
    spec = getattr(fit, "spec", None)
    if spec is not None:
        return "binomial" if spec["model"] == "binomial_multilevel" else spec["model"]
    return "mixed"  # REML/ML or Laplace/AGQ fit of a formula model


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
    """Set two fits of the same model side by side (either order).

    Parameters
    ----------
    a, b
        Two fits of one model from any front end (``binomial_model(..., multilevel=True)``,
        ``normal_means``, ``hierarch.model``): usually one by maximum likelihood (ML, REML,
        Laplace, AGQ) and one Bayesian, in either order.

    Returns
    -------
    Comparison or pandas.DataFrame
        A frequentist and a Bayesian fit of the binomial or known-SE hierarchy: a
        :class:`~hierarch.report.binomial.Comparison` (``groups``: per group the unpooled,
        frequentist and Bayesian estimates with intervals; ``summary``: mu, tau and more per
        approach).  Of a formula model: one row per parameter (fixed effects, group SDs,
        correlations, residual SD or dispersion) with the frequentist ``estimate`` and the
        posterior ``mean``, ``lower``, ``upper`` (:func:`hierarch.report.mixed.compare`).
        Two fits made the same way (REML and ML, Laplace and AGQ, two Bayesian fits with
        other priors): the parameters side by side (:func:`parameters`).

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
    kind, other = _model_kind(a), _model_kind(b)
    if kind != other:
        raise ValueError(f"the two fits are of different models ({kind} and {other})")
    bayes_a, bayes_b = a.method == "bayes", b.method == "bayes"
    if bayes_a == bayes_b:  # two fits made the same way: REML vs ML, Laplace vs AGQ, 2 priors
        return parameters(a, b)
    freq_fit, bayes_fit = (b, a) if bayes_a else (a, b)
    if kind == "binomial":
        return binomial.compare(freq_fit, bayes_fit)
    if kind == "normal_means":
        return _normal_means(freq_fit, bayes_fit)
    return mixed.compare(freq_fit, bayes_fit)


def _rows(fit) -> pd.DataFrame:
    """The protocol's parameter tables of one fit, one row per quantity: fixed effects,
    group SDs, correlations and the residual SD where there is one."""
    parts = []
    fe = fit.fixed_effects()
    parts.append(fe[["estimate", "lower", "upper"]].set_axis(list(fe.index)))
    sds = fit.group_sds()
    names = [f"sd[{g}: {e}]" for g, e in zip(sds["group"], sds["effect"], strict=True)]
    parts.append(sds.reindex(columns=["estimate", "lower", "upper"]).set_axis(names))
    cor = fit.correlations()
    if len(cor):
        names = [
            f"cor[{g}: {v1}, {v2}]"
            for g, v1, v2 in zip(cor["group"], cor["var1"], cor["var2"], strict=True)
        ]
        parts.append(cor.reindex(columns=["estimate", "lower", "upper"]).set_axis(names))
    try:
        parts.append(fit.sigma().reindex(columns=["estimate", "lower", "upper"]))
    except ValueError:  # no residual SD in this model
        pass
    return pd.concat(parts)


def parameters(a, b) -> pd.DataFrame:
    """Any two fits of one model side by side, parameter by parameter (the protocol's
    tables): one row per quantity, the columns ``estimate``, ``lower``, ``upper`` of each fit
    under its method's name (``reml``, ``ml``, ``bayes`` ...; ``_1`` and ``_2`` appended when
    both were made the same way).  ML fits have no intervals for variance components here
    (NaN) until profile or bootstrap intervals exist."""
    la, lb = (a.method, b.method) if a.method != b.method else (f"{a.method}_1", f"{b.method}_2")
    ra, rb = _rows(a), _rows(b)
    if list(ra.index) != list(rb.index):
        raise ValueError(
            "the two fits have different parameters "
            f"({', '.join(ra.index)} vs {', '.join(rb.index)}): fits of the same model?"
        )
    out = pd.concat([ra.add_prefix(f"{la}_"), rb.add_prefix(f"{lb}_")], axis=1)
    out.index.name = "quantity"
    return out.rename(columns={f"{la}_estimate": la, f"{lb}_estimate": lb})
