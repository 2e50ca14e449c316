"""Frequentist estimates for binomial counts without a hierarchy: Wilson score intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

__all__ = ["wilson_table"]


def wilson_table(groups: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    """Per-group m/n with Wilson score intervals clipped to [0, 1] (the unpooled estimates)."""
    m, n = groups["successes"].to_numpy(), groups["trials"].to_numpy()
    lo, hi = proportion_confint(m, n, alpha=1 - conf_level, method="wilson")
    return pd.DataFrame(
        {
            "group": groups["group"].to_numpy(),
            "estimate": m / n,
            "lower": np.clip(lo, 0.0, 1.0),
            "upper": np.clip(hi, 0.0, 1.0),
        }
    )
