"""Leaving a false stop on the boundary of the variance parameters.

The (restricted or Laplace) deviance of a mixed model depends on each random-effect SD
through ``T T'``, so it is an even function of a scalar block's ``theta``: its derivative at
``theta = 0`` is zero whatever the data say.  A gradient-based optimiser that reaches the
bound (L-BFGS-B's first projected step often lands there when the start is far too large)
therefore stops at ``theta = 0`` even when the deviance falls as the SD moves away from
zero -- a boundary point that is not a minimum (issue 12: a Bernoulli fit stopped at SD 0,
log-likelihood -226.172, where glmer finds SD 0.241 and -225.995).  lme4 is not caught
because bobyqa uses no derivatives.

:func:`escape_boundary` checks every diagonal element of ``theta`` that sits on its bound:
it minimises the deviance along that coordinate alone (a bounded one-dimensional search)
and reports a better point when there is one, from which the caller restarts its optimiser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize

__all__ = ["escape_boundary"]


def escape_boundary(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    diagonal: Sequence[int],
    *,
    upper: float | None = None,
    tol: float = 1e-8,
) -> np.ndarray | None:
    """A point better than ``x`` reached by moving one bound diagonal ``theta`` off zero.

    Parameters
    ----------
    f
        The objective (deviance) to minimise.
    x
        The optimiser's end point.
    diagonal
        Positions in ``x`` of the ``theta`` elements bounded below by zero.
    upper
        The end of the search interval for each coordinate (default: ``max(2, 4 max|x|)``).
    tol
        The improvement of ``f`` that counts.

    Returns
    -------
    numpy.ndarray or None
        The improved point, or ``None`` when no bound coordinate improves ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: (x[0] ** 2 - 0.25) ** 2  # even in x, minimum at 0.5, stationary at 0
    >>> escape_boundary(f, np.array([0.0]), [0]).round(4)
    array([0.5])
    """
    x = np.asarray(x, float)
    f0 = f(x)
    hi = upper if upper is not None else max(2.0, 4.0 * float(np.max(np.abs(x))))
    best, best_f = None, f0
    for i in diagonal:
        if x[i] > 1e-6 * max(1.0, hi):
            continue

        def along(t, i=i):
            z = x.copy()
            z[i] = t
            return f(z)

        # a coarse scan first (the deviance can be flat near zero and have its minimum far
        # out), then a bounded Brent search around the best grid point
        grid = hi * np.array([1e-3, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0])
        vals = np.array([along(t) for t in grid])
        k = int(np.argmin(vals))
        if not vals[k] < f0 - tol:
            continue
        lo_t = grid[k - 1] if k > 0 else 0.0
        hi_t = grid[k + 1] if k + 1 < len(grid) else hi
        r = optimize.minimize_scalar(along, bounds=(lo_t, hi_t), method="bounded")
        t, ft = (r.x, r.fun) if r.fun < vals[k] else (grid[k], vals[k])
        if ft < best_f - tol:
            best = x.copy()
            best[i] = t
            best_f = ft
    return best
