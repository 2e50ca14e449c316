"""Shared fixtures.  Fits that sample are session-scoped so PyTensor/numba compile once."""

from __future__ import annotations

import os
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")

import hierarch  # noqa: E402

#: The seed of every sampled fit in the suite (stated so failures can be reproduced).
SEED = 20261124


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def rats():
    return hierarch.load_dataset("rats")


@pytest.fixture(scope="session")
def rats_ml(rats):
    return hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)


@pytest.fixture(scope="session")
def rats_bayes(rats):
    """The rats multilevel model with hierarch's default sampler settings."""
    return hierarch.binomial_model(
        "m",
        "n",
        group="batch",
        data=rats,
        multilevel=True,
        method="bayes",
        random_seed=SEED,
        progressbar=False,
    )


@pytest.fixture(scope="session")
def pigs():
    return hierarch.load_dataset("pigs")


@pytest.fixture(scope="session")
def pigs_model(pigs):
    return hierarch.model("weight ~ week + (week | id)", pigs)


@pytest.fixture(scope="session")
def pigs_reml(pigs_model):
    return pigs_model.fit(method="reml")


@pytest.fixture(scope="session")
def pigs_bayes(pigs_model):
    """The pigs random-slopes model with hierarch's default sampler settings."""
    return pigs_model.fit(method="bayes", random_seed=SEED, progressbar=False)
