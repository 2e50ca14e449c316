"""Bundled reference datasets with their provenance.

The CSV files live in the repository's top-level ``data/`` folder and are shipped inside the
wheel as ``hierarch/_data``.  Each dataset carries the provenance recorded in ``data/DATA.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["DatasetInfo", "describe_dataset", "list_datasets", "load_dataset"]


@dataclass(frozen=True)
class DatasetInfo:
    """Description and provenance of a bundled dataset."""

    name: str
    columns: tuple[str, ...]
    rows: int
    description: str
    source: str

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.description}\n"
            f"  {self.rows} rows; columns: {', '.join(self.columns)}\n"
            f"  source: {self.source}"
        )


_REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "rats",
            ("batch", "m", "n"),
            71,
            "tumour counts m out of n rats in 71 historical control batches",
            "Tarone (1982), Biometrics 38, 215-220; Gelman et al., Bayesian Data Analysis "
            "3rd ed., Table 5.1",
        ),
        DatasetInfo(
            "pigs",
            ("id", "week", "weight"),
            432,
            "body weight (kg) of 48 pigs over 9 weeks",
            "Diggle, Liang & Zeger (1994), Analysis of Longitudinal Data, Table 3.2",
        ),
        DatasetInfo(
            "alcohol",
            ("country", "year", "alcohol"),
            411,
            "recorded per-capita alcohol consumption (litres), 189 countries, 22 years between "
            "1985 and 2008, unbalanced",
            "WHO Global Information System on Alcohol and Health",
        ),
        DatasetInfo(
            "cbpp",
            ("herd", "incidence", "size", "period"),
            56,
            "contagious bovine pleuropneumonia: new cases among `size` cattle in 15 herds over "
            "4 periods",
            "Lesnoff et al. (2004), Preventive Veterinary Medicine 64, 27-40",
        ),
        DatasetInfo(
            "sleepstudy",
            ("Reaction", "Days", "Subject"),
            180,
            "mean reaction time (ms) of 18 subjects over 10 days of sleep restriction",
            "Belenky et al. (2003), Journal of Sleep Research 12, 1-12",
        ),
        DatasetInfo(
            "penicillin",
            ("diameter", "plate", "sample"),
            144,
            "inhibition-zone diameter; plate and sample are crossed factors (24 x 6)",
            "Davies & Goldsmith (1972), Statistical Methods in Research and Production",
        ),
        DatasetInfo(
            "pastes",
            ("strength", "batch", "cask", "sample"),
            60,
            "paste strength; cask nested in batch (10 batches x 3 casks, 2 tests each)",
            "Davies & Goldsmith (1972), Statistical Methods in Research and Production",
        ),
        DatasetInfo(
            "grouseticks",
            ("INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION", "cHEIGHT"),
            403,
            "tick counts on red grouse chicks; one row per chick (INDEX), brood within "
            "location; a classic case for an observation-level random effect",
            "Elston et al. (2001), Parasitology 122, 563-569",
        ),
        DatasetInfo(
            "wine",
            ("rating", "temp", "contact", "judge", "bottle"),
            72,
            "bitterness of white wine rated 1-5 by 9 judges, by temperature (cold / warm) and "
            "skin contact (no / yes); an ordinal response",
            "Randall (1989), The analysis of sensory data by generalised linear model, "
            "Biometrical Journal 31, 781-793; as distributed with R's ordinal package "
            "(written by tests/reference/make_families_reference.R)",
        ),
        DatasetInfo(
            "seed004_slopes",
            ("Group", "X", "Y"),
            140,
            "simulated random slopes: 7 groups of 20, intercept 50, slopes sort(rnorm(7, 2.5, "
            "1)), residual SD 16 (R, set.seed(757), the lecture's code verbatim)",
            "seed document 004 (lecture 'Random Effects, Mixed Effects, & Hierarchical/"
            "Multilevel Models'); made by tests/reference/make_lmertest_reference.R",
        ),
    ]
}


def _data_dir() -> Path:
    """Folder holding the CSV files: inside the installed package, else the repository's."""
    package = Path(__file__).resolve().parents[1]  # hierarch/
    for candidate in (package / "_data", package.parent / "data"):
        if (candidate / "rats.csv").is_file():
            return candidate
    raise FileNotFoundError(
        "hierarch's bundled data files were not found (looked in hierarch/_data and the "
        "repository's data/ folder); reinstall the package."
    )


def list_datasets() -> pd.DataFrame:
    """List the bundled datasets with their size, description and source.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, indexed by name, with columns ``rows``, ``columns``,
        ``description`` and ``source``.

    Examples
    --------
    >>> import hierarch
    >>> "rats" in hierarch.list_datasets().index
    True
    """
    return pd.DataFrame(
        [
            {
                "name": i.name,
                "rows": i.rows,
                "columns": ", ".join(i.columns),
                "description": i.description,
                "source": i.source,
            }
            for i in _REGISTRY.values()
        ]
    ).set_index("name")


def describe_dataset(name: str) -> DatasetInfo:
    """Return the description and provenance of dataset ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown dataset {name!r}; available datasets: {known}") from None


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a pandas DataFrame.

    Parameters
    ----------
    name : str
        One of the names in :func:`list_datasets` (``"rats"``, ``"pigs"``, ``"cbpp"``, ...).

    Returns
    -------
    pandas.DataFrame
        The data; ``df.attrs["description"]`` and ``df.attrs["source"]`` hold its provenance.

    Examples
    --------
    >>> import hierarch
    >>> rats = hierarch.load_dataset("rats")
    >>> rats.shape
    (71, 3)
    >>> rats.attrs["source"].startswith("Tarone (1982)")
    True
    """
    info = describe_dataset(name)
    df = pd.read_csv(_data_dir() / f"{name}.csv")
    df.attrs["name"] = info.name
    df.attrs["description"] = info.description
    df.attrs["source"] = info.source
    return df
