"""Response families and links for formula models.

Each family knows its links (canonical first), checks that the response lies in its support
(naming the rows that do not), gives the link-scale location used to centre the intercept
prior, and adds its likelihood (with any extra parameter) to a PyMC model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierarch.priors import Prior

__all__ = ["FAMILIES", "Family", "get_family"]


def _rows(index, mask) -> str:
    labels = list(np.asarray(index)[np.asarray(mask)])
    more = f" and {len(labels) - 10} more" if len(labels) > 10 else ""
    return ", ".join(map(str, labels[:10])) + more


def _inverse_link(link: str, eta):
    import pymc as pm
    import pytensor.tensor as pt

    if link == "identity":
        return eta
    if link == "log":
        return pt.exp(eta)
    if link == "logit":
        return pm.math.invlogit(eta)
    if link == "probit":
        return 0.5 * (1 + pt.erf(eta / np.sqrt(2)))
    if link == "cloglog":
        return 1 - pt.exp(-pt.exp(eta))
    if link == "inverse":
        return 1 / eta
    raise ValueError(f"unknown link {link!r}")


def _link_np(link: str, mu: float) -> float:
    from scipy import special, stats

    return {
        "identity": lambda m: m,
        "log": np.log,
        "logit": special.logit,
        "probit": stats.norm.ppf,
        "cloglog": lambda m: np.log(-np.log1p(-m)),
        "inverse": lambda m: 1 / m,
    }[link](mu)


@dataclass(frozen=True)
class Family:
    """A response family: its links and support."""

    name: str
    links: tuple[str, ...]
    support: str  # "real", "binary", "count", "bounded_count", "positive", "unit"
    extra: tuple[str, ...] = ()

    @property
    def default_link(self) -> str:
        return self.links[0]

    def check_link(self, link: str | None) -> str:
        link = link or self.default_link
        if link not in self.links:
            raise ValueError(
                f"link {link!r} is not valid for family {self.name!r}; valid links: "
                f"{', '.join(self.links)}"
            )
        return link

    def validate(self, y: np.ndarray, index, response: str, trials: np.ndarray | None) -> None:
        """Raise ``ValueError`` naming the rows whose response lies outside the support."""

        def fail(mask, what):
            raise ValueError(
                f"response {response!r} for family {self.name!r} must be {what}; "
                f"rows {_rows(index, mask)} are not"
            )

        if self.support in ("count", "bounded_count", "binary"):
            if np.any(y < 0):
                fail(y < 0, "non-negative counts")
            if np.any(y != np.round(y)):
                fail(y != np.round(y), "whole numbers")
        if self.support == "binary" and np.any(y > 1):
            fail(y > 1, "0 or 1")
        if self.support == "bounded_count":
            if trials is None:
                raise ValueError(
                    "family 'binomial' needs the number of trials: write "
                    "'successes | trials(n) ~ ...' or pass trials='column'"
                )
            if np.any(trials <= 0) or np.any(trials != np.round(trials)):
                fail(
                    (trials <= 0) | (trials != np.round(trials)),
                    "paired with positive whole numbers of trials",
                )
            if np.any(y > trials):
                fail(y > trials, "no larger than the number of trials (successes above trials)")
        if self.support == "positive" and np.any(y <= 0):
            fail(y <= 0, "positive (greater than 0)")
        if self.support == "unit" and np.any((y <= 0) | (y >= 1)):
            fail((y <= 0) | (y >= 1), "strictly between 0 and 1")

    def intercept_location(self, y: np.ndarray, link: str, trials=None) -> float:
        """Link-scale value of the (clipped) mean response: the intercept prior's centre."""
        if self.support == "real":
            return float(np.mean(y))
        if self.support in ("binary", "bounded_count", "unit"):
            p = float(np.sum(y) / np.sum(trials)) if trials is not None else float(np.mean(y))
            return float(_link_np(link, np.clip(p, 0.01, 0.99)))
        return float(_link_np(link, max(float(np.mean(y)), 0.01)))

    def default_extra_priors(self) -> dict[str, Prior]:
        return {
            "negative_binomial": {"alpha": Prior("Exponential", lam=1.0)},
            "gamma": {"shape": Prior("Exponential", lam=0.1)},
            "beta": {"kappa": Prior("Exponential", lam=0.05)},
        }.get(self.name, {})

    def likelihood(self, pm, link: str, eta, y, trials, priors, dims="obs"):
        """Add the observed response to the current PyMC model."""
        if link == "logit" and self.name in ("bernoulli", "binomial"):
            return _logit_binomial(pm, eta, y, trials if self.name == "binomial" else None, dims)
        mu = _inverse_link(link, eta)
        if self.name == "bernoulli":
            return pm.Bernoulli("y", p=mu, observed=y, dims=dims)
        if self.name == "binomial":
            return pm.Binomial("y", n=trials, p=mu, observed=y, dims=dims)
        if self.name == "poisson":
            return pm.Poisson("y", mu=mu, observed=y, dims=dims)
        if self.name == "negative_binomial":
            alpha = priors["alpha"].create("alpha")
            return pm.NegativeBinomial("y", mu=mu, alpha=alpha, observed=y, dims=dims)
        if self.name == "gamma":
            shape = priors["shape"].create("shape")
            return pm.Gamma("y", alpha=shape, beta=shape / mu, observed=y, dims=dims)
        if self.name == "beta":
            kappa = priors["kappa"].create("kappa")
            return pm.Beta("y", alpha=mu * kappa, beta=(1 - mu) * kappa, observed=y, dims=dims)
        raise ValueError(f"no likelihood for family {self.name!r}")


def _logit_binomial(pm, eta, y, trials, dims):
    """The binomial (``trials`` given) or Bernoulli likelihood with a logit link, written on
    the logit scale: ``log p(y) = log C(n, y) + y eta - n log(1 + e^eta)``.  The same density
    as ``pm.Binomial(n, invlogit(eta))``, but the log binomial coefficients (three ``gammaln``
    per row, constant) enter as data computed once, and one softplus replaces the logs of a
    sigmoid: about half the work per gradient.  Predictive draws use ``pm.Binomial``."""
    import pytensor.tensor as pt
    from scipy.special import gammaln

    if trials is None:
        return pm.CustomDist(
            "y",
            eta,
            dist=lambda eta, size: pm.Bernoulli.dist(logit_p=eta, size=size),
            logp=lambda value, eta: value * eta - pt.softplus(eta),
            observed=y,
            dims=dims,
        )
    n_val, y_val = np.asarray(trials.get_value()), np.asarray(y.get_value())  # pm.Data
    log_binom = pm.Data(
        "log_binom", gammaln(n_val + 1) - gammaln(y_val + 1) - gammaln(n_val - y_val + 1), dims=dims
    )
    return pm.CustomDist(
        "y",
        eta,
        trials,
        log_binom,
        dist=lambda eta, n, lb, size: pm.Binomial.dist(n=n, logit_p=eta, size=size),
        logp=lambda value, eta, n, lb: lb + value * eta - n * pt.softplus(eta),
        observed=y,
        dims=dims,
    )


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("gaussian", ("identity", "log"), "real", ("sigma",)),
        Family("bernoulli", ("logit", "probit", "cloglog"), "binary"),
        Family("binomial", ("logit", "probit", "cloglog"), "bounded_count"),
        Family("poisson", ("log", "identity"), "count"),
        Family("negative_binomial", ("log", "identity"), "count", ("alpha",)),
        Family("gamma", ("log", "inverse", "identity"), "positive", ("shape",)),
        Family("beta", ("logit", "probit", "cloglog"), "unit", ("kappa",)),
    ]
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; available: {', '.join(FAMILIES)}") from None
