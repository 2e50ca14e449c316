"""What can go wrong in a maximum-likelihood fit, said in plain words with what to try: a
singular (boundary) fit, an optimiser that stopped where the deviance still slopes, and a
likelihood that is nearly flat in some direction (parameters that are nearly
unidentifiable).  The fits keep these as ``notes`` (printed with the summary) and the
front end warns with a :class:`FitWarning` naming what failed.

The checks follow lme4's ``checkConv``: the gradient is scaled by the Hessian (``H^-1 g``,
lme4's default tolerance 0.002), and the Hessian's eigenvalues are checked for a
non-positive or a tiny one relative to the largest (a ratio above 1e7; lme4 warns from
1e6 on scaled parameters; our parameters are not rescaled, so the bar is set higher).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "FitWarning",
    "check_optimum",
    "singular_message",
]

TRY_BAYES = (
    "fit the Bayesian model (fit(method='bayes')): its prior on the SD (half-normal by "
    "default) keeps it off zero, and hierarch.compare(ml_fit, bayes_fit) sets the two side "
    "by side"
)


class FitWarning(UserWarning):
    """A maximum-likelihood fit is singular, did not converge, or is nearly unidentifiable."""


def singular_message(blocks, covs, tol: float = 1e-4) -> str | None:
    """The plain-words note of a singular fit: which SD is zero or which correlation is at
    +/-1, what it means, and what to try (None when the fit is not singular)."""
    zero, perfect = [], []
    for b, C in zip(blocks, covs, strict=True):
        sd = np.sqrt(np.clip(np.diag(C), 0, None))
        scale = max(float(np.max(sd)), 1.0)
        for c, col in enumerate(b.columns):
            if sd[c] < tol * scale:
                zero.append(f"{col} by {b.factor}")
        for i in range(b.k):
            for j in range(i + 1, b.k):
                if sd[i] > tol * scale and sd[j] > tol * scale:
                    r = C[i, j] / (sd[i] * sd[j])
                    if abs(r) > 1 - 1e-6:
                        perfect.append(f"{b.columns[i]} and {b.columns[j]} by {b.factor}")
        if b.k > 1 and not zero and not perfect:
            w = np.linalg.eigvalsh(C)
            if w[0] < tol**2 * max(float(w[-1]), 1e-300):
                perfect.append(f"the effects of {b.factor} ({', '.join(b.columns)})")
    if not zero and not perfect:
        return None
    what = []
    if zero:
        what.append(f"the SD of {', '.join(zero)} is estimated at zero")
    if perfect:
        what.append(
            f"the group effects of {', '.join(perfect)} are perfectly correlated "
            "(correlation +/-1, or a direction with no variance)"
        )
    return (
        "boundary (singular) fit: "
        + "; ".join(what)
        + ". The data cannot tell this variation apart from none, so the ML estimate sits on "
        "the edge of what is possible (its profile interval reaches 0 or +/-1). What to try: "
        "simplify the random effects (drop the term, or its correlations with (x || g)); or "
        + TRY_BAYES
        + "."
    )


def check_optimum(
    f, x: np.ndarray, names: Sequence[str], lower: Sequence[float | None] | None = None
) -> list[str]:
    """Notes on the optimum ``x`` of the deviance ``f`` (parameters named ``names``): a
    scaled gradient above 0.002 (the optimiser stopped on a slope), or a Hessian that is
    not positive definite or has an eigenvalue ratio above 1e7 (nearly unidentifiable).
    Coordinates on a lower bound are left out (there the slope may point outside)."""
    x = np.asarray(x, float)
    free = [
        i
        for i in range(len(x))
        if lower is None or lower[i] is None or x[i] > (lower[i] or 0) + 1e-6
    ]
    if not free:
        return []
    notes = []
    h = 1e-4 * np.maximum(np.abs(x), 0.1)
    k = len(free)

    def at(delta):
        z = x.copy()
        z[free] += delta
        return f(z)

    f0 = at(np.zeros(k))
    if not np.isfinite(f0):
        return ["the deviance is not finite at the estimates: the fit failed"]
    g = np.empty(k)
    H = np.empty((k, k))
    for a in range(k):
        ea = np.zeros(k)
        ea[a] = h[free[a]]
        fp, fm = at(ea), at(-ea)
        g[a] = (fp - fm) / (2 * ea[a])
        H[a, a] = (fp - 2 * f0 + fm) / ea[a] ** 2
        for b in range(a):
            eb = np.zeros(k)
            eb[b] = h[free[b]]
            H[a, b] = H[b, a] = (at(ea + eb) - at(ea - eb) - at(-ea + eb) + at(-ea - eb)) / (
                4 * ea[a] * eb[b]
            )
    if not np.all(np.isfinite(H)):
        return notes
    w = np.linalg.eigvalsh(H)
    if w[0] <= 0:
        notes.append(
            "the likelihood is flat or curves the wrong way in some direction at the estimates "
            "(the Hessian of the deviance is not positive definite): some parameters are not "
            "identified by these data (collinear covariates, a variance the design cannot "
            "separate from another). What to try: drop or combine collinear terms, simplify the "
            "random effects, or " + TRY_BAYES + "."
        )
        return notes
    ratio = w[-1] / w[0]
    scaled = np.linalg.solve(H, g)
    worst = int(np.argmax(np.abs(scaled)))
    if abs(scaled[worst]) > 2e-3:
        notes.append(
            f"the optimiser stopped where the deviance still slopes (scaled gradient "
            f"{abs(scaled[worst]):.2g} in {names[free[worst]]}; lme4's tolerance is 0.002): the "
            "estimates may not be the maximum. What to try: center and scale the covariates, "
            "simplify the random effects, or compare with the Bayesian fit."
        )
    if ratio > 1e7:
        notes.append(
            f"the likelihood is nearly flat in some direction (Hessian eigenvalue ratio "
            f"{ratio:.2g}): parameters are nearly unidentifiable, often because covariates are "
            "on very different scales or nearly collinear. What to try: center and scale the "
            "covariates, drop nearly collinear terms."
        )
    return notes
