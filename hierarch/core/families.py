"""The family table: everything hierarch knows about a response family, in one place.

Each :class:`Family` knows its links (canonical first; NumPy and PyTensor inverse links), its
support (checking a response and naming the rows outside it), the link-scale location that
centres the intercept prior, its extra parameter (its name in the Bayesian model and in the
Laplace twin) and that parameter's default prior, its PyMC likelihood, its Laplace pieces
(log-density, score and information on the linear-predictor scale, starting values), its
random draws and pointwise log-likelihood (posterior predictive checks, LOO) and its
latent-scale variance (the ICC of a GLMM).  The graph builders, the Laplace twin and the
reports all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from hierarch.core.priors import Prior

__all__ = [
    "threshold_names",
    "FAMILIES",
    "LAPLACE_FAMILIES",
    "Family",
    "get_family",
    "inverse_link",
    "inverse_link_np",
    "link_np",
    "scale_label",
]

_LOG_2PI = np.log(2.0 * np.pi)


def _rows(index, mask) -> str:
    labels = list(np.asarray(index)[np.asarray(mask)])
    more = f" and {len(labels) - 10} more" if len(labels) > 10 else ""
    return ", ".join(map(str, labels[:10])) + more


def inverse_link(link: str, eta):
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
    if link == "1/mu^2":
        return 1 / pt.sqrt(eta)
    raise ValueError(f"unknown link {link!r}")


def scale_label(link: str) -> str:
    """How reports name the scale of a link's linear predictor ("data" for the identity)."""
    return {"identity": "data", "logit": "log-odds", "log": "log"}.get(link, f"{link} scale")


def inverse_link_np(link: str, eta):
    """The mean at linear predictor ``eta`` (NumPy)."""
    return _link(link, np.asarray(eta, dtype=float))[0]


def link_np(link: str, mu):
    """The link at mean ``mu`` (NumPy)."""
    return {
        "identity": lambda m: m,
        "log": np.log,
        "logit": special.logit,
        "probit": stats.norm.ppf,
        "cloglog": lambda m: np.log(-np.log1p(-m)),
        "inverse": lambda m: 1 / m,
        "1/mu^2": lambda m: 1 / m**2,
    }[link](mu)


# ----------------------------------------------------------------------------- links
def _link(link: str, eta: np.ndarray):
    """Mean ``mu``, ``log mu``, ``log(1 - mu)`` (unit-interval links) and dmu/deta, d2mu/deta2."""
    if link == "identity":
        mu = eta
        return mu, None, None, np.ones_like(eta), np.zeros_like(eta)
    if link == "log":
        mu = np.exp(eta)
        return mu, eta, None, mu, mu
    if link == "inverse":
        mu = 1.0 / eta
        return mu, None, None, -(mu**2), 2.0 * mu**3
    if link == "1/mu^2":  # the inverse Gaussian's canonical link, eta = mu^-2
        mu = 1.0 / np.sqrt(eta)
        return mu, None, None, -0.5 * mu**3, 0.75 * mu**5
    if link == "logit":
        mu = special.expit(eta)
        lmu, l1mu = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
        d1 = np.exp(lmu + l1mu)
        return mu, lmu, l1mu, d1, d1 * (1.0 - 2.0 * mu)
    if link == "probit":
        mu = special.ndtr(eta)
        lmu, l1mu = special.log_ndtr(eta), special.log_ndtr(-eta)
        d1 = np.exp(-0.5 * eta**2 - 0.5 * _LOG_2PI)
        return mu, lmu, l1mu, d1, -eta * d1
    if link == "cloglog":
        ee = np.exp(np.minimum(eta, 700.0))
        mu = -np.expm1(-ee)
        lmu, l1mu = np.log(np.maximum(mu, 1e-300)), -ee
        d1 = np.exp(eta - ee)
        return mu, lmu, l1mu, d1, d1 * (1.0 - ee)
    raise ValueError(f"unknown link {link!r}")


# ----------------------------------------------------------------------------- families
class _Family:
    """A family's Laplace pieces: log-density, score and information on the linear-predictor
    scale, and starting values (read by :mod:`hierarch.freq.laplace`)."""

    name = ""
    dispersion: str | None = None
    #: the names of every extra parameter, the dispersion first (a family with more than one
    #: receives ``phi`` as a tuple of their values; with one, as a float)
    params: tuple[str, ...] = ()
    #: the extra parameters' values for a first fit of the fixed effects, before any estimate
    unit_phi: float | tuple[float, ...] = 1.0
    observed = False  # which information enters the Laplace log-determinant
    #: whether the log-likelihood is concave in the linear predictor (the observed
    #: information never negative): Newton's method is then safe on its own
    log_concave = True
    #: whether an intercept-only model's MLE of the mean is the sample mean whatever the
    #: extra parameters (exponential dispersion families): no iterations needed
    mean_is_sample_mean = True

    def __init__(self, link: str):
        self.link = link

    @property
    def names(self) -> tuple[str, ...]:
        """The Laplace twin's names of the extra parameters (empty when there is none)."""
        return self.params or ((self.dispersion,) if self.dispersion else ())

    def to_free(self, phi) -> np.ndarray:
        """The extra parameters on the optimiser's unbounded scale (logs: all are positive)."""
        return np.log(np.atleast_1d(np.asarray(phi, dtype=float)))

    def free_links(self) -> tuple[str, ...]:
        """The scale of :meth:`to_free` for each parameter: ``"log"`` or ``"logit"``."""
        return ("log",) * len(self.names)

    def free_bounds(self) -> list[tuple[float | None, float | None]]:
        """The optimiser's bounds on :meth:`to_free`'s scale."""
        return [(-12.0, 14.0)] * len(self.names)

    def for_response(self, y) -> _Family:
        """The pieces for this response (ordinal families learn their categories)."""
        return self

    def report(self, phi, cov_free):
        """The scale each extra parameter's Wald interval is formed on, and the standard
        errors there, from the covariance ``cov_free`` on :meth:`to_free`'s scale."""
        return self.free_links(), np.sqrt(np.diag(cov_free))

    def from_free(self, z):
        """Inverse of :meth:`to_free`: a float for one parameter, a tuple for more."""
        values = np.exp(np.asarray(z, dtype=float))
        return float(values[0]) if len(self.names) == 1 else tuple(map(float, values))

    def loglik(self, y, n, eta, phi):  # pointwise, constants included
        raise NotImplementedError

    def score_info(self, y, n, eta, phi, observed=False):
        """d log p / d eta and the (expected or observed) information in eta."""
        raise NotImplementedError

    def start_eta(self, y, n):
        raise NotImplementedError

    def start_phi(self, y, n, mu):
        return None


def _unit_ratios(lmu, l1mu, d1):
    # d1 / mu and d1 / (1 - mu), computed on the log scale (probit / cloglog tails)
    ld1 = np.log(np.maximum(np.abs(d1), 1e-300))
    return np.exp(ld1 - lmu), np.exp(ld1 - l1mu)


class _Binomial(_Family):
    name = "binomial"

    def loglik(self, y, n, eta, phi):
        _, lmu, l1mu, _, _ = _link(self.link, eta)
        return (
            special.xlogy(1, 1) * 0
            + np.where(y > 0, y * lmu, 0.0)
            + np.where(n - y > 0, (n - y) * l1mu, 0.0)
            + special.gammaln(n + 1)
            - special.gammaln(y + 1)
            - special.gammaln(n - y + 1)
        )

    def score_info(self, y, n, eta, phi, observed=False):
        mu, lmu, l1mu, d1, d2 = _link(self.link, eta)
        if self.link == "logit":
            return y - n * mu, n * d1
        r1, r0 = _unit_ratios(lmu, l1mu, d1)
        score = y * r1 - (n - y) * r0
        info = n * r1 * r0
        if observed:
            # -(d2l/dmu2 * d1^2 + dl/dmu * d2)
            info = y * r1**2 + (n - y) * r0**2 - score * d2 / np.where(d1 == 0, 1.0, d1)
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, (y + 0.5) / (n + 1.0))


class _Poisson(_Family):
    name = "poisson"

    def loglik(self, y, n, eta, phi):
        mu, lmu, _, _, _ = _link(self.link, eta)
        lmu = np.log(np.maximum(mu, 1e-300)) if lmu is None else lmu
        return np.where(y > 0, y * lmu, 0.0) - mu - special.gammaln(y + 1)

    def score_info(self, y, n, eta, phi, observed=False):
        mu, _, _, d1, d2 = _link(self.link, eta)
        if self.link == "log":
            return y - mu, mu
        mu = np.maximum(mu, 1e-300)
        score = (y / mu - 1.0) * d1
        info = d1**2 / mu
        if observed:
            info = y / mu**2 * d1**2 - (y / mu - 1.0) * d2
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, y + 0.5)


class _NegBinomial(_Family):
    name = "negative_binomial"
    dispersion = "k"  # Var = mu + mu^2 / k  (MASS's theta, PyMC's alpha)

    def loglik(self, y, n, eta, k):
        mu, lmu, _, _, _ = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        lmu = np.log(mu) if lmu is None else lmu
        lkm = np.logaddexp(np.log(k), lmu)
        return (
            special.gammaln(y + k)
            - special.gammaln(k)
            - special.gammaln(y + 1)
            + k * (np.log(k) - lkm)
            + np.where(y > 0, y * (lmu - lkm), 0.0)
        )

    def score_info(self, y, n, eta, k, observed=False):
        mu, _, _, d1, d2 = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        dl = y / mu - (y + k) / (k + mu)
        score = dl * d1
        info = d1**2 / (mu + mu**2 / k)
        if observed:
            d2l = -y / mu**2 + (y + k) / (k + mu) ** 2
            info = -(d2l * d1**2 + dl * d2)
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, y + 0.5)

    def start_phi(self, y, n, mu):
        excess = np.sum((y - mu) ** 2 - mu)
        return float(np.clip(np.sum(mu**2) / excess, 0.05, 1e3)) if excess > 0 else 10.0


class _Gamma(_Family):
    name = "gamma"
    dispersion = "shape"
    observed = True

    def loglik(self, y, n, eta, a):
        mu, lmu, _, _, _ = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        lmu = np.log(mu) if lmu is None else lmu
        return a * np.log(a) - special.gammaln(a) + (a - 1) * np.log(y) - a * y / mu - a * lmu

    def score_info(self, y, n, eta, a, observed=False):
        mu, _, _, d1, d2 = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        dl = a * (y - mu) / mu**2
        score = dl * d1
        info = a * d1**2 / mu**2
        if observed:
            d2l = a / mu**2 - 2 * a * y / mu**3
            info = -(d2l * d1**2 + dl * d2)
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, y)

    def start_phi(self, y, n, mu):
        return float(np.clip(1.0 / np.mean(((y - mu) / mu) ** 2), 0.05, 1e4))


class _InverseGaussian(_Family):
    name = "inverse_gaussian"
    dispersion = "lam"  # shape: Var = mu^3 / lam (glm's dispersion is 1 / lam)
    observed = True

    def loglik(self, y, n, eta, lam):
        mu, _, _, _, _ = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        return 0.5 * (np.log(lam) - _LOG_2PI - 3 * np.log(y)) - lam * (y - mu) ** 2 / (
            2 * mu**2 * y
        )

    def score_info(self, y, n, eta, lam, observed=False):
        mu, _, _, d1, d2 = _link(self.link, eta)
        mu = np.maximum(mu, 1e-300)
        dl = lam * (y - mu) / mu**3
        score = dl * d1
        info = lam * d1**2 / mu**3
        if observed:
            d2l = -lam * (3 * y - 2 * mu) / mu**4
            info = -(d2l * d1**2 + dl * d2)
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, y)

    def start_phi(self, y, n, mu):
        return float(np.clip(1.0 / np.mean((y - mu) ** 2 / (mu**2 * y)), 1e-4, 1e8))


class _Beta(_Family):
    name = "beta"
    mean_is_sample_mean = False
    dispersion = "phi"  # precision: Var = mu (1 - mu) / (1 + phi)
    observed = True

    def loglik(self, y, n, eta, phi):
        mu, lmu, l1mu, _, _ = _link(self.link, eta)
        a, b = mu * phi, (1 - mu) * phi
        return (
            special.gammaln(phi)
            - special.gammaln(a)
            - special.gammaln(b)
            + (a - 1) * np.log(y)
            + (b - 1) * np.log1p(-y)
        )

    def score_info(self, y, n, eta, phi, observed=False):
        mu, _, _, d1, d2 = _link(self.link, eta)
        mu = np.clip(mu, 1e-12, 1 - 1e-12)
        a, b = mu * phi, (1 - mu) * phi
        ystar = np.log(y) - np.log1p(-y)
        mustar = special.digamma(a) - special.digamma(b)
        dl = phi * (ystar - mustar)
        tri = special.polygamma(1, a) + special.polygamma(1, b)
        score = dl * d1
        info = phi**2 * tri * d1**2
        if observed:
            info = info - dl * d2
        return score, info

    def start_eta(self, y, n):

        return link_np(self.link, y)

    def start_phi(self, y, n, mu):
        v = np.mean((y - mu) ** 2)
        return float(np.clip(np.mean(mu * (1 - mu)) / max(v, 1e-8) - 1.0, 0.5, 1e4))


class _StudentT(_Family):
    """Student-t responses with scale ``sigma`` and ``df`` degrees of freedom (glmmTMB's
    ``t_family``: ``sigma(fit)`` and ``family_params(fit)``); the observed information, as
    TMB's Laplace uses the exact Hessian (it is negative for rows far out in the tails, where
    PIRLS takes Fisher-scoring steps with the expected information
    ``(df + 1) / ((df + 3) sigma^2)``)."""

    name = "student_t"
    mean_is_sample_mean = False
    dispersion = "sigma"
    params = ("sigma", "df")
    unit_phi = (1.0, 30.0)
    observed = True
    log_concave = False

    def loglik(self, y, n, eta, phi):
        sigma, nu = phi
        mu = _link(self.link, eta)[0]
        r2 = ((y - mu) / sigma) ** 2
        return (
            special.gammaln((nu + 1) / 2)
            - special.gammaln(nu / 2)
            - 0.5 * np.log(nu * np.pi)
            - np.log(sigma)
            - (nu + 1) / 2 * np.log1p(r2 / nu)
        )

    def score_info(self, y, n, eta, phi, observed=False):
        sigma, nu = phi
        mu, _, _, d1, d2 = _link(self.link, eta)
        e = y - mu
        den = nu * sigma**2 + e**2
        dl = (nu + 1) * e / den
        score = dl * d1
        info = (nu + 1) / ((nu + 3) * sigma**2) * d1**2
        if observed:
            d2l = -(nu + 1) * (nu * sigma**2 - e**2) / den**2
            info = -(d2l * d1**2 + dl * d2)
        return score, info

    def start_eta(self, y, n):
        return link_np(self.link, y)

    def start_phi(self, y, n, mu):
        # the median absolute deviation (robust to the tails the family is for), df = 5
        mad = 1.4826 * float(np.median(np.abs(y - mu - np.median(y - mu))))
        return (max(mad, 1e-8 * (float(np.std(y)) + 1e-300)), 5.0)


def _count_pieces(y, eta, k):
    """The log-link count model at linear predictor ``eta`` (Poisson when ``k`` is None,
    else the negative binomial with ``Var = mu + mu^2 / k``): log pmf of ``y``, its score and
    observed and expected information in ``eta``, and the log probability of a zero with its
    first two derivatives in ``eta``."""
    mu = np.exp(np.minimum(eta, 700.0))
    if k is None:
        lp = np.where(y > 0, y * eta, 0.0) - mu - special.gammaln(y + 1)
        return lp, y - mu, mu, mu, -mu, -mu, -mu
    lkm = np.logaddexp(np.log(k), eta)
    lp = (
        special.gammaln(y + k)
        - special.gammaln(k)
        - special.gammaln(y + 1)
        + k * (np.log(k) - lkm)
        + np.where(y > 0, y * (eta - lkm), 0.0)
    )
    frac = k / (k + mu)  # k / (k + mu), d/deta of it is -frac (1 - frac)
    score = frac * (y - mu)
    observed = frac * mu + (y - mu) * frac * (1 - frac)
    expected = frac * mu
    return lp, score, observed, expected, k * (np.log(k) - lkm), -frac * mu, -(frac**2) * mu


class _ZeroModel(_Family):
    """Zero-inflated and hurdle counts with a constant zero probability ``zi`` (glmmTMB's
    ``ziformula = ~1``: the probability of a structural zero, or of a zero at all for a
    hurdle model), log link on the count mean ``mu`` (of the untruncated count: glmmTMB's
    conditional mean).  Zero-inflated: ``P(0) = zi + (1 - zi) f(0)``, ``P(y) = (1 - zi) f(y)``;
    hurdle: ``P(0) = zi``, ``P(y) = (1 - zi) f(y) / (1 - f(0))``.  The observed information,
    as TMB's Laplace; it can be negative for zero-inflated zeros."""

    hurdle = False
    negbin = False
    observed = True
    log_concave = False
    mean_is_sample_mean = False

    @property
    def names(self) -> tuple[str, ...]:
        return ("k", "zi") if self.negbin else ("zi",)

    @property
    def unit_phi(self):
        return (1.0, 0.5) if self.negbin else 0.5

    def _split(self, phi):
        return phi if self.negbin else (None, phi)

    def to_free(self, phi) -> np.ndarray:
        k, zi = self._split(phi)
        out = [special.logit(np.clip(zi, 1e-12, 1 - 1e-12))]
        return np.array([np.log(k), *out] if self.negbin else out, dtype=float)

    def free_links(self) -> tuple[str, ...]:
        return ("log", "logit") if self.negbin else ("logit",)

    def from_free(self, z):
        z = np.asarray(z, dtype=float)
        zi = float(special.expit(z[-1]))
        return (float(np.exp(z[0])), zi) if self.negbin else zi

    def _pieces(self, y, eta, phi):
        k, zi = self._split(phi)
        lp, s, obs, exp_, lf0, g, g2 = _count_pieces(y, eta, k)
        return k, zi, lp, s, obs, exp_, lf0, g, g2

    def loglik(self, y, n, eta, phi):
        k, zi, lp, *_, lf0, _, _ = self._pieces(y, eta, phi)
        if self.hurdle:
            # log(1 - f0) = log(-expm1(log f0))
            pos = np.log1p(-zi) + lp - np.log(-np.expm1(np.minimum(lf0, -1e-300)))
            return np.where(y > 0, pos, np.log(zi))
        zero = np.logaddexp(np.log(zi), np.log1p(-zi) + lf0)
        return np.where(y > 0, np.log1p(-zi) + lp, zero)

    def score_info(self, y, n, eta, phi, observed=False):
        k, zi, lp, s, obs, expected, lf0, g, g2 = self._pieces(y, eta, phi)
        f0 = np.exp(lf0)
        if self.hurdle:
            # zeros carry nothing about eta; positives: the zero-truncated count
            t = f0 / -np.expm1(np.minimum(lf0, -1e-300))  # f0 / (1 - f0)
            score = np.where(y > 0, s + t * g, 0.0)
            if observed:
                return score, np.where(y > 0, obs - t * (g**2 + g2) - t**2 * g**2, 0.0)
            # E[score^2]: (1 - zi) E[s_T^2] over the truncated count, zeros adding nothing
            truncated = (1 + t) * (expected - g**2 * f0) - t**2 * g**2
            return score, np.broadcast_to((1 - zi) * truncated, np.shape(score))
        A = np.logaddexp(np.log(zi), np.log1p(-zi) + lf0)  # log P(0)
        r = np.exp(np.log1p(-zi) + lf0 - A)  # P(count zero | zero observed)
        score = np.where(y > 0, s, r * g)
        if observed:
            info = np.where(y > 0, obs, -(r * g2 + r * (1 - r) * g**2))
        else:  # E[score^2]
            info = np.exp(A) * (r * g) ** 2 + (1 - zi) * (expected - g**2 * f0)
        return score, info

    def start_eta(self, y, n):
        return np.log(y + 0.5)

    def start_phi(self, y, n, mu):
        zeros = float(np.mean(y == 0))
        if self.hurdle:
            zi = zeros
        else:  # the zeros beyond those the count model gives at its mean
            zi = max(zeros - float(np.mean(np.exp(-mu))), 0.05)
        zi = float(np.clip(zi, 0.01, 0.99))
        if not self.negbin:
            return zi
        pos = y > 0
        excess = np.sum((y[pos] - mu[pos]) ** 2 - mu[pos])
        k = float(np.clip(np.sum(mu[pos] ** 2) / excess, 0.05, 1e3)) if excess > 0 else 10.0
        return (k, zi)


class _ZIPoisson(_ZeroModel):
    name = "zero_inflated_poisson"
    dispersion = "zi"


class _ZINegBinomial(_ZeroModel):
    name = "zero_inflated_negative_binomial"
    dispersion = "k"
    negbin = True


class _HurdlePoisson(_ZeroModel):
    name = "hurdle_poisson"
    dispersion = "zi"
    hurdle = True


class _HurdleNegBinomial(_ZeroModel):
    name = "hurdle_negative_binomial"
    dispersion = "k"
    negbin = True
    hurdle = True


def _cdf_pieces(link: str, x):
    """``log F(x)``, the density ``f(x)`` and its derivative ``f'(x)`` of the latent
    distribution of a cumulative link (logistic or standard normal; 0 at +-inf)."""
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    if link == "logit":
        logF = -np.logaddexp(0.0, -x)
        F = special.expit(xf)
        f = F * (1 - F)
        d = f * (1 - 2 * F)
    else:  # probit
        logF = special.log_ndtr(x)
        f = np.exp(-0.5 * xf**2 - 0.5 * _LOG_2PI)
        d = -xf * f
    return logF, np.where(finite, f, 0.0), np.where(finite, d, 0.0)


def _log_diff(log_a, log_b):
    """``log(exp(log_a) - exp(log_b))`` for ``log_a >= log_b``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_a + np.log(-np.expm1(np.minimum(log_b - log_a, 0.0)))


class _Cumulative(_Family):
    """Ordinal responses in categories ``1 .. K`` by a cumulative link (``ordinal::clmm``,
    brms's ``cumulative``): ``P(Y <= j) = F(alpha_j - eta)`` with thresholds
    ``alpha_1 < ... < alpha_{K-1}`` (the extra parameters, estimated as ``alpha_1`` and the
    logs of the gaps) and no intercept in ``eta``.  The log-likelihood is concave in ``eta``
    (Pratt 1981) for the logistic and normal latent distributions."""

    name = "cumulative"
    mean_is_sample_mean = False
    observed = True  # the thresholds enter the Hessian, as clmm's
    n_categories = 2
    _start: tuple[float, ...] | None = None

    def for_response(self, y) -> _Cumulative:
        new = type(self)(self.link)
        y = np.asarray(y, dtype=float)
        new.n_categories = max(int(np.max(y)), 2)
        cum = np.array([np.mean(y <= j) for j in range(1, new.n_categories)])
        cum = np.clip(cum, 0.5 / len(y), 1 - 0.5 / len(y))
        start = link_np(self.link, cum)
        new._start = tuple(np.maximum.accumulate(start + 1e-3 * np.arange(len(start))))
        return new

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{j}|{j + 1}" for j in range(1, self.n_categories))

    @property
    def unit_phi(self):
        if self._start is not None:
            return self._start
        return tuple(np.linspace(-1.0, 1.0, self.n_categories - 1))

    def start_eta(self, y, n):
        return np.zeros(len(y))

    def start_phi(self, y, n, mu):
        return self.unit_phi

    def to_free(self, phi) -> np.ndarray:
        a = np.atleast_1d(np.asarray(phi, dtype=float))
        return np.concatenate([a[:1], np.log(np.maximum(np.diff(a), 1e-300))])

    def from_free(self, z):
        z = np.asarray(z, dtype=float)
        a = np.concatenate([z[:1], z[0] + np.cumsum(np.exp(z[1:]))])
        return float(a[0]) if len(a) == 1 else tuple(map(float, a))

    def free_links(self) -> tuple[str, ...]:
        return ("identity",) + ("log",) * (self.n_categories - 2)

    def free_bounds(self):
        return [(-50.0, 50.0)] + [(-12.0, 6.0)] * (self.n_categories - 2)

    def report(self, phi, cov_free):
        # the thresholds themselves: alpha_j = z_1 + sum_{i <= j} exp(z_i) (delta method)
        z = self.to_free(phi)
        J = np.tril(np.ones((len(z), len(z)))) * np.concatenate([[1.0], np.exp(z[1:])])
        return ("identity",) * len(z), np.sqrt(np.diag(J @ cov_free @ J.T))

    def _cuts(self, phi):
        cuts = phi if isinstance(phi, tuple | list) else np.atleast_1d(phi)
        return [np.asarray(c, dtype=float) for c in cuts]

    def _bounds(self, y, eta, phi):
        """The latent interval ``(alpha_{y-1} - eta, alpha_y - eta]`` of each response."""
        cuts = self._cuts(phi)
        j = np.rint(np.asarray(y, dtype=float)).astype(np.int64)
        shape = np.broadcast_shapes(np.shape(eta), np.shape(j), *[np.shape(c) for c in cuts])
        up, lo = np.full(shape, np.inf), np.full(shape, -np.inf)
        for k, c in enumerate(cuts, start=1):
            up = np.where(j == k, c - eta, up)
            lo = np.where(j == k + 1, c - eta, lo)
        return up, lo

    def _log_prob(self, up, lo):
        lFu, _, _ = _cdf_pieces(self.link, up)
        lFl, _, _ = _cdf_pieces(self.link, lo)
        lSu, _, _ = _cdf_pieces(self.link, -up)  # log(1 - F), the distributions symmetric
        lSl, _, _ = _cdf_pieces(self.link, -lo)
        # the difference of the two tails that keeps its digits
        return np.where(lo >= 0, _log_diff(lSl, lSu), _log_diff(lFu, lFl))

    def loglik(self, y, n, eta, phi):
        up, lo = self._bounds(y, eta, phi)
        return self._log_prob(up, lo)

    def _score_curv(self, up, lo):
        lp = self._log_prob(up, lo)
        _, fu, du = _cdf_pieces(self.link, up)
        _, fl, dl = _cdf_pieces(self.link, lo)
        inv = np.exp(-lp)
        score = (fl - fu) * inv
        return score, score**2 - (du - dl) * inv

    def score_info(self, y, n, eta, phi, observed=False):
        up, lo = self._bounds(y, eta, phi)
        score, obs = self._score_curv(up, lo)
        if observed:
            return score, obs
        expected = np.zeros(np.broadcast_shapes(np.shape(score), np.shape(eta)))
        cuts = self._cuts(phi)
        for k in range(1, len(cuts) + 2):  # E[score^2] over the categories
            u = cuts[k - 1] - eta if k <= len(cuts) else np.full(np.shape(eta), np.inf)
            lo_k = cuts[k - 2] - eta if k >= 2 else np.full(np.shape(eta), -np.inf)
            s_k, _ = self._score_curv(u, lo_k)
            expected = expected + np.exp(self._log_prob(u, lo_k)) * s_k**2
        return score, expected

    def probabilities(self, eta, phi) -> np.ndarray:
        """``P(Y = k)`` for ``k = 1 .. K`` at ``eta``: shape ``eta.shape + (K,)``."""
        cuts = self._cuts(phi)
        K = len(cuts) + 1
        out = []
        for k in range(1, K + 1):
            u = cuts[k - 1] - eta if k < K else np.full(np.shape(eta), np.inf)
            lo = cuts[k - 2] - eta if k >= 2 else np.full(np.shape(eta), -np.inf)
            out.append(np.exp(self._log_prob(u, lo)))
        return np.stack(np.broadcast_arrays(*out), axis=-1)


#: the zero-inflated and hurdle families (a constant zero probability, a log-link count)
_ZERO_MODELS = (
    "zero_inflated_poisson",
    "zero_inflated_negative_binomial",
    "hurdle_poisson",
    "hurdle_negative_binomial",
)


def _zero_model_split(name, extra):
    return extra if "negative" in name else (None, extra)


def _zero_model_rvs(name, rng, mu, extra):
    k, zi = _zero_model_split(name, extra)
    shape = np.broadcast_shapes(np.shape(mu), np.shape(zi), np.shape(k) if k is not None else ())
    mu = np.broadcast_to(mu, shape)

    def counts():
        if k is None:
            return rng.poisson(mu)
        kk = np.broadcast_to(k, shape)
        return rng.negative_binomial(kk, kk / (kk + mu))

    y = counts()
    if "hurdle" in name:  # zero-truncated counts: redraw the zeros until none is left
        for _ in range(1000):
            zero = y == 0
            if not zero.any():
                break
            y = np.where(zero, counts(), y)
        else:  # (a count mean so small that positives are rare: one is the likeliest)
            y = np.maximum(y, 1)
    return np.where(rng.uniform(size=shape) < zi, 0, y)


def _zero_model_moments(name, mu, extra):
    k, zi = _zero_model_split(name, extra)
    var = mu + (0.0 if k is None else mu**2 / k)  # of the count
    m2 = var + mu**2
    if "hurdle" in name:
        f0 = np.exp(-mu) if k is None else (k / (k + mu)) ** k
        mean = (1 - zi) * mu / (1 - f0)
        return mean, (1 - zi) * m2 / (1 - f0) - mean**2
    mean = (1 - zi) * mu
    return mean, (1 - zi) * m2 - mean**2


@dataclass(frozen=True)
class Family:
    """A response family: its links and support."""

    name: str
    links: tuple[str, ...]
    support: str  # "real", "binary", "count", "bounded_count", "positive", "unit", "ordinal"
    extra: tuple[str, ...] = ()  # the extra parameter's name in the Bayesian model
    laplace: type[_Family] | None = None  # the Laplace pieces (None: no Laplace twin)

    @property
    def laplace_extra(self) -> str | None:
        """The extra parameter's name in the Laplace twin (negative binomial ``k``, gamma
        ``shape``, beta ``phi``, inverse Gaussian ``lam``, Student-t ``sigma``); the same
        parameter as :attr:`extra` (``alpha``, ``shape``, ``kappa``, ``lam``, ``sigma``),
        named as glmer / glmmTMB name it."""
        return None if self.laplace is None else self.laplace.dispersion

    @property
    def data_scale(self) -> bool:
        """Whether the response is modelled on its own scale with a scale parameter
        ``sigma`` (Gaussian, Student-t): default priors are then scaled by the response's SD."""
        return self.name in ("gaussian", "student_t")

    def rvs(self, rng: np.random.Generator, link: str, eta, trials=None, extra=None):
        """Random responses at linear predictor ``eta`` (``extra``: the extra parameter,
        broadcastable against ``eta``; ``trials`` for the binomial)."""
        mu = inverse_link_np(link, eta)
        if self.name == "gaussian":
            return rng.normal(mu, extra)
        if self.name == "student_t":
            sigma, nu = extra
            return mu + sigma * rng.standard_t(
                nu, size=np.broadcast_shapes(np.shape(mu), np.shape(sigma), np.shape(nu))
            )
        if self.name == "bernoulli":
            return rng.binomial(1, mu)
        if self.name == "binomial":
            return rng.binomial(np.asarray(trials).astype(np.int64), mu)
        if self.name == "poisson":
            return rng.poisson(mu)
        if self.name == "negative_binomial":
            return rng.negative_binomial(extra, extra / (extra + mu))
        if self.name in _ZERO_MODELS:
            return _zero_model_rvs(self.name, rng, mu, extra)
        if self.name == "cumulative":  # the category the latent variable falls in
            P = self.laplace(link).probabilities(np.asarray(eta, float), extra)
            u = rng.uniform(size=P.shape[:-1])
            return 1 + np.sum(u[..., None] > np.cumsum(P, axis=-1)[..., :-1], axis=-1)
        if self.name == "gamma":
            return rng.gamma(extra, mu / extra)
        if self.name == "inverse_gaussian":
            return rng.wald(mu, extra)
        return rng.beta(mu * extra, (1 - mu) * extra)  # beta

    def logpdf(self, y, link: str, eta, trials=None, extra=None):
        """Pointwise log-likelihood of ``y`` at linear predictor ``eta`` (as :meth:`rvs`)."""
        mu = inverse_link_np(link, eta)
        if self.name == "gaussian":
            return stats.norm.logpdf(y, mu, extra)
        if self.name == "student_t":
            sigma, nu = extra
            return stats.t.logpdf(y, nu, mu, sigma)
        if self.name == "bernoulli":
            return stats.bernoulli.logpmf(y, mu)
        if self.name == "binomial":
            return stats.binom.logpmf(y, trials, mu)
        if self.name == "poisson":
            return stats.poisson.logpmf(y, mu)
        if self.name == "negative_binomial":
            return stats.nbinom.logpmf(y, extra, extra / (extra + mu))
        if self.name in _ZERO_MODELS:
            return self.laplace(link).loglik(np.asarray(y, float), None, np.log(mu), extra)
        if self.name == "cumulative":
            return self.laplace(link).loglik(np.asarray(y, float), None, np.asarray(eta), extra)
        if self.name == "gamma":
            return stats.gamma.logpdf(y, extra, scale=mu / extra)
        if self.name == "inverse_gaussian":
            return stats.invgauss.logpdf(y, mu / extra, scale=extra)
        return stats.beta.logpdf(y, mu * extra, (1 - mu) * extra)  # beta

    def moments(self, link: str, eta, trials=None, extra=None):
        """Mean and variance of one response at linear predictor ``eta`` (as :meth:`rvs`;
        binomial: of the count out of ``trials``), for Pearson residuals."""
        mu = inverse_link_np(link, eta)
        if self.name == "gaussian":
            return mu, np.broadcast_to(np.asarray(extra, float) ** 2, np.shape(mu))
        if self.name == "student_t":  # infinite variance for df <= 2
            sigma, nu = (np.asarray(e, float) for e in extra)
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.where(nu > 2, sigma**2 * nu / np.where(nu > 2, nu - 2, 1.0), np.inf)
            return mu, np.broadcast_to(var, np.shape(mu))
        if self.name == "bernoulli":
            return mu, mu * (1 - mu)
        if self.name == "binomial":
            n = np.asarray(trials, float)
            return n * mu, n * mu * (1 - mu)
        if self.name == "poisson":
            return mu, mu
        if self.name == "negative_binomial":
            return mu, mu + mu**2 / extra
        if self.name in _ZERO_MODELS:
            return _zero_model_moments(self.name, mu, extra)
        if self.name == "cumulative":  # of the category number 1 .. K
            P = self.laplace(link).probabilities(np.asarray(eta, float), extra)
            k = np.arange(1, P.shape[-1] + 1)
            mean = np.sum(P * k, axis=-1)
            return mean, np.sum(P * k**2, axis=-1) - mean**2
        if self.name == "gamma":
            return mu, mu**2 / extra
        if self.name == "inverse_gaussian":
            return mu, mu**3 / extra
        return mu, mu * (1 - mu) / (1 + extra)  # beta

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
        if self.support == "ordinal" and len(np.unique(y)) < 2:
            raise ValueError(
                f"response {response!r} for family 'cumulative' has one category "
                f"({_rows([np.unique(y)[0]], [True])}): an ordinal model needs at least two"
            )
        if self.name in _ZERO_MODELS and not np.any(y == 0):
            raise ValueError(
                f"response {response!r} has no zeros, so family {self.name!r} has no zero "
                "process to estimate: use 'poisson' or 'negative_binomial'"
            )
        if self.name in _ZERO_MODELS and not np.any(y > 0):
            raise ValueError(f"response {response!r} is all zeros: there is no count to model")
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
            return float(link_np(link, np.clip(p, 0.01, 0.99)))
        return float(link_np(link, max(float(np.mean(y)), 0.01)))

    def default_extra_priors(self, y=None) -> dict[str, Prior]:
        """Default priors of the extra parameter.  The inverse Gaussian's shape ``lam`` has
        the units of the response (``lam = mu / CV^2``): ``HalfCauchy(mean(y))``, centred on a
        coefficient of variation of 1 with tails that allow any."""
        if self.name == "inverse_gaussian":
            scale = float(np.mean(y)) if y is not None and len(y) else 1.0
            return {"lam": Prior("HalfCauchy", beta=scale)}
        return {
            "student_t": {"nu": Prior("Gamma", alpha=2.0, beta=0.1)},
            "negative_binomial": {"alpha": Prior("Exponential", lam=1.0)},
            "cumulative": {"cutpoints": Prior("Normal", mu=0.0, sigma=5.0)},
            "zero_inflated_poisson": {"zi": Prior("Beta", alpha=1.0, beta=1.0)},
            "zero_inflated_negative_binomial": {
                "alpha": Prior("Exponential", lam=1.0),
                "zi": Prior("Beta", alpha=1.0, beta=1.0),
            },
            "hurdle_poisson": {"hu": Prior("Beta", alpha=1.0, beta=1.0)},
            "hurdle_negative_binomial": {
                "alpha": Prior("Exponential", lam=1.0),
                "hu": Prior("Beta", alpha=1.0, beta=1.0),
            },
            "gamma": {"shape": Prior("Exponential", lam=0.1)},
            "beta": {"kappa": Prior("Exponential", lam=0.05)},
        }.get(self.name, {})

    def latent_variance(self, link: str, eta0=None, re_var=None, size=None):
        """The distribution-specific variance of the latent scale, for the ICC of a GLMM
        (Nakagawa, Johnson and Schielzeth 2017, J. R. Soc. Interface 14: 20170213, table 1):
        binomial / Bernoulli ``pi^2 / 3`` (logit), 1 (probit), ``pi^2 / 6`` (cloglog);
        Poisson (log link) ``log(1 + 1/lambda)`` and negative binomial (log link, ``Var = mu +
        mu^2 / size``, PyMC's ``alpha``, lme4's ``theta``) ``log(1 + 1/lambda + 1/size)``, with
        ``lambda = exp(eta0 + re_var / 2)`` the mean count at the intercept ``eta0`` over the
        random effects of total variance ``re_var`` (the lognormal approximation).  Gaussian:
        the residual variance is the fitted ``sigma^2``, not a family constant.  Raises
        ``ValueError`` where no latent scale is defined here (gamma, beta, other links)."""
        if self.name in ("bernoulli", "binomial"):
            values = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}
            return values[link]
        if self.name in ("poisson", "negative_binomial") and link == "log":
            lam = np.exp(np.asarray(eta0) + np.asarray(re_var) / 2)
            extra = 0.0 if self.name == "poisson" else 1 / np.asarray(size)
            return np.log1p(1 / lam + extra)
        raise ValueError(
            f"the ICC on the latent scale is not defined here for family {self.name!r} with "
            f"link {link!r} (defined: binomial and Bernoulli with logit, probit or cloglog; "
            "Poisson and negative binomial with the log link; Gaussian)"
        )

    def likelihood(self, pm, link: str, eta, y, trials, priors, dims="obs"):
        """Add the observed response to the current PyMC model."""
        if link == "logit" and self.name in ("bernoulli", "binomial"):
            return _logit_binomial(pm, eta, y, trials if self.name == "binomial" else None, dims)
        mu = inverse_link(link, eta)
        if self.name == "bernoulli":
            return pm.Bernoulli("y", p=mu, observed=y, dims=dims)
        if self.name == "binomial":
            return pm.Binomial("y", n=trials, p=mu, observed=y, dims=dims)
        if self.name == "poisson":
            return pm.Poisson("y", mu=mu, observed=y, dims=dims)
        if self.name == "student_t":
            sigma, nu = priors["sigma"].create("sigma"), priors["nu"].create("nu")
            return pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=y, dims=dims)
        if self.name == "negative_binomial":
            alpha = priors["alpha"].create("alpha")
            return pm.NegativeBinomial("y", mu=mu, alpha=alpha, observed=y, dims=dims)
        if self.name == "cumulative":
            return _cumulative_likelihood(pm, link, eta, y, priors, dims)
        if self.name in _ZERO_MODELS:
            # PyMC's psi is the probability of the count process (1 - zi, 1 - hu)
            zero = priors[self.extra[-1]].create(self.extra[-1])
            kw = {"alpha": priors["alpha"].create("alpha")} if "alpha" in self.extra else {}
            dist = {
                "zero_inflated_poisson": pm.ZeroInflatedPoisson,
                "zero_inflated_negative_binomial": pm.ZeroInflatedNegativeBinomial,
                "hurdle_poisson": pm.HurdlePoisson,
                "hurdle_negative_binomial": pm.HurdleNegativeBinomial,
            }[self.name]
            return dist("y", psi=1 - zero, mu=mu, observed=y, dims=dims, **kw)
        if self.name == "gamma":
            shape = priors["shape"].create("shape")
            return pm.Gamma("y", alpha=shape, beta=shape / mu, observed=y, dims=dims)
        if self.name == "inverse_gaussian":
            lam = priors["lam"].create("lam")
            return pm.Wald("y", mu=mu, lam=lam, observed=y, dims=dims)
        if self.name == "beta":
            kappa = priors["kappa"].create("kappa")
            return pm.Beta("y", alpha=mu * kappa, beta=(1 - mu) * kappa, observed=y, dims=dims)
        raise ValueError(f"no likelihood for family {self.name!r}")


def _cumulative_likelihood(pm, link, eta, y, priors, dims):
    """Ordered categories ``1 .. K`` (``y``, data) by PyMC's ordered logistic / probit
    distributions on ``y - 1``, with ordered cutpoints ``P(Y <= j) = F(c_j - eta)``."""
    import pytensor.tensor as pt
    from pymc.distributions.transforms import ordered

    K = int(np.max(np.asarray(y.get_value())))
    cutpoints = priors["cutpoints"].create(
        "cutpoints", shape=K - 1, transform=ordered, initval=np.linspace(-1.0, 1.0, K - 1)
    )
    base = pm.OrderedLogistic if link == "logit" else pm.OrderedProbit
    kw = {} if link == "logit" else {"sigma": 1.0}

    def logp(value, eta, cuts):
        index = value - 1 if "int" in value.dtype else pt.cast(pt.round(value) - 1, "int64")
        return pm.logp(base.dist(eta=eta, cutpoints=cuts, **kw), index)

    def dist(eta, cuts, size):
        return base.dist(eta=eta, cutpoints=cuts, size=size, **kw) + 1

    return pm.CustomDist("y", eta, cutpoints, dist=dist, logp=logp, observed=y, dims=dims)


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
        # the trials are data of dtype float: forward draws (prior / posterior predictive)
        # need them as integers
        dist=lambda eta, n, lb, size: pm.Binomial.dist(
            n=n if "int" in n.dtype else pt.cast(pt.round(n), "int64"), logit_p=eta, size=size
        ),
        logp=lambda value, eta, n, lb: lb + value * eta - n * pt.softplus(eta),
        observed=y,
        dims=dims,
    )


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("gaussian", ("identity", "log"), "real", ("sigma",)),
        Family("student_t", ("identity",), "real", ("sigma", "nu"), _StudentT),
        Family("bernoulli", ("logit", "probit", "cloglog"), "binary", (), _Binomial),
        Family("binomial", ("logit", "probit", "cloglog"), "bounded_count", (), _Binomial),
        Family("poisson", ("log", "identity"), "count", (), _Poisson),
        Family("negative_binomial", ("log", "identity"), "count", ("alpha",), _NegBinomial),
        Family("gamma", ("log", "inverse", "identity"), "positive", ("shape",), _Gamma),
        Family(
            "inverse_gaussian",
            ("1/mu^2", "log", "inverse", "identity"),
            "positive",
            ("lam",),
            _InverseGaussian,
        ),
        Family("beta", ("logit", "probit", "cloglog"), "unit", ("kappa",), _Beta),
        Family("cumulative", ("logit", "probit"), "ordinal", ("cutpoints",), _Cumulative),
        Family("zero_inflated_poisson", ("log",), "count", ("zi",), _ZIPoisson),
        Family(
            "zero_inflated_negative_binomial",
            ("log",),
            "count",
            ("alpha", "zi"),
            _ZINegBinomial,
        ),
        Family("hurdle_poisson", ("log",), "count", ("hu",), _HurdlePoisson),
        Family("hurdle_negative_binomial", ("log",), "count", ("alpha", "hu"), _HurdleNegBinomial),
    ]
}

#: The families with a Laplace twin, name -> Laplace pieces (read by hierarch.freq.laplace)
LAPLACE_FAMILIES = {f.name: f.laplace for f in FAMILIES.values() if f.laplace is not None}


def threshold_names(categories) -> list[str]:
    """The names of an ordinal model's thresholds between consecutive categories
    (``"1|2"``, ``"2|3"``, ... as ``ordinal::clmm``)."""
    return [f"{a}|{b}" for a, b in zip(categories[:-1], categories[1:], strict=True)]


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; available: {', '.join(FAMILIES)}") from None
