"""The frames of the shrinkage animation: every group's estimate on its way to the mixed model's.

:func:`shrinkage_frames` is pure (fit in, :class:`xarray.Dataset` out);
:func:`hierarch.plots.animate_shrinkage` only draws what it returned.  The path of each group
goes in a straight line from its separate fit (no pooling) to its partially pooled estimate,
with an ease in and out and a pause at both ends, as the gganimate demonstration of seed 001.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hierarch.report.mixed import _factor_blocks, coefficient_draws

__all__ = ["shrinkage_frames"]

#: the share of frames held still at the start and at the end
_HOLD = 0.2


def _ease(n_frames: int) -> np.ndarray:
    """Progress 0 -> 1 over the frames: held, smoothstep, held; exactly 0 first and 1 last."""
    f = np.arange(n_frames) / (n_frames - 1)
    u = np.clip((f - _HOLD) / (1 - 2 * _HOLD), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _columns(table, coefs):
    names = [c[len("unpooled_") :] for c in table.columns if c.startswith("unpooled_")]
    names = [c for c in names if c not in ("lower", "upper")]
    if "unpooled" in table.columns:  # one coefficient per group: unsuffixed columns
        return ["estimate"], ["unpooled"], ["partial"], ["complete"]
    if coefs is not None:
        missing = [c for c in coefs if c not in names]
        if missing:
            raise ValueError(
                f"shrinkage_frames: no coefficient {missing[0]!r} varies by the factor; "
                f"the coefficients are {names}"
            )
        names = list(coefs)
    names = names[:2]
    return (
        names,
        [f"unpooled_{c}" for c in names],
        [f"partial_{c}" for c in names],
        [f"complete_{c}" for c in names],
    )


def shrinkage_frames(
    fit,
    factor: str | None = None,
    *,
    n_frames: int = 40,
    n_draws: int = 30,
    coefs: tuple[str, str] | None = None,
    scale: str | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """Each group's estimate moving from its separate fit to the mixed model's, frame by frame.

    Parameters
    ----------
    fit : any fit with a shrinkage table
        A formula fit (ML or Bayesian; two coefficients per group give a 2-D animation, one
        coefficient a 1-D one) or a binomial hierarchy (:func:`hierarch.binomial_model`).
    factor : str, optional
        Grouping factor (default: the first).
    n_frames : int
        Frames, at least 2; the first is the separate fits, the last the mixed model's
        estimates, with ``20 %`` of the frames held still at each end.
    n_draws : int
        For a Bayesian fit, posterior draws per group kept for the faint cloud around each
        estimate (0 for none).
    coefs : (str, str), optional
        The two coefficients of a 2-D animation (default: the first two that vary by group).
    scale : {"link", "response"}, optional
        The scale of the estimates (default: ``"response"`` for the binomial hierarchy,
        ``"link"`` otherwise).
    seed : int
        Seed for the choice of the kept draws.

    Returns
    -------
    xarray.Dataset
        Dimensions ``frame``, ``group``, ``coef`` (and ``draw``): ``progress`` (frame; 0 to 1),
        ``position`` (frame, group, coef), ``unpooled`` and ``partial`` (group, coef),
        ``complete`` (coef), ``n`` (group size), ``moves`` (False for a group whose separate fit
        has no finite estimate: it stays at its mixed-model estimate) and, for Bayesian fits,
        ``draws`` (group, draw, coef).

    Examples
    --------
    >>> import hierarch
    >>> from hierarch.report.frames import shrinkage_frames
    >>> fit = hierarch.binomial_model("m", "n", "batch", hierarch.load_dataset("rats"),
    ...                               multilevel=True)
    >>> frames = shrinkage_frames(fit, n_frames=10)
    >>> bool((frames.position[0] == frames.unpooled).all())
    True
    """
    if int(n_frames) != n_frames or n_frames < 2:
        raise ValueError(f"n_frames must be a whole number of at least 2, got {n_frames}")
    if int(n_draws) != n_draws or n_draws < 0:
        raise ValueError(f"n_draws must be a whole number of at least 0, got {n_draws}")
    # each fit's own default scale: the binomial hierarchy reports proportions
    table = fit.shrinkage(factor) if scale is None else fit.shrinkage(factor, scale=scale)
    scale = table.attrs.get("scale", scale or "response")
    names, un_cols, part_cols, comp_cols = _columns(table, coefs)
    unpooled = table[un_cols].to_numpy(float)
    partial = table[part_cols].to_numpy(float)
    moves = np.isfinite(unpooled).all(axis=1)
    start = np.where(moves[:, None], unpooled, partial)
    progress = _ease(int(n_frames))
    position = start[None] + progress[:, None, None] * (partial - start)[None]
    position[-1] = partial  # exactly, whatever the rounding of the last step
    coords = {"frame": np.arange(int(n_frames)), "group": table["group"].to_numpy(), "coef": names}
    ds = xr.Dataset(
        {
            "progress": ("frame", progress),
            "position": (("frame", "group", "coef"), position),
            "unpooled": (("group", "coef"), unpooled),
            "partial": (("group", "coef"), partial),
            "complete": ("coef", table[comp_cols].iloc[0].to_numpy(float)),
            "n": ("group", table["n"].to_numpy()),
            "moves": ("group", moves),
        },
        coords=coords,
        attrs={"scale": scale, "method": getattr(fit, "method", "")},
    )
    if getattr(fit, "method", None) == "bayes" and n_draws:
        draws = coefficient_draws(fit, factor, scale)
        x_names = fit.model.parsed.coef_names(_factor_blocks(fit.model, factor)[0])
        wanted = ["Intercept"] if names == ["estimate"] else names
        draws = draws[:, :, [x_names.index(c) for c in wanted]]
        keep = np.random.default_rng(seed).choice(draws.shape[0], size=int(n_draws), replace=False)
        ds["draws"] = (("group", "draw", "coef"), draws[keep].transpose(1, 0, 2))
    return ds
