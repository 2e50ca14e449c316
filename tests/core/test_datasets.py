from pathlib import Path

import pandas as pd
import pytest

import hierarch

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
EXPECTED = {
    "rats": (71, ["batch", "m", "n"]),
    "pigs": (432, ["id", "week", "weight"]),
    "alcohol": (411, ["country", "year", "alcohol"]),
    "cbpp": (56, ["herd", "incidence", "size", "period"]),
    "sleepstudy": (180, ["Reaction", "Days", "Subject"]),
    "penicillin": (144, ["diameter", "plate", "sample"]),
    "pastes": (60, ["strength", "batch", "cask", "sample"]),
    "grouseticks": (403, ["INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION", "cHEIGHT"]),
    "seed004_slopes": (140, ["Group", "X", "Y"]),
    "wine": (72, ["rating", "temp", "contact", "judge", "bottle"]),
}
#: made by the R reference script, not in shared/data: the reference CSV is its source
MADE_HERE = {
    "seed004_slopes": Path(__file__).parents[1] / "reference" / "lmertest_sim_seed004.csv",
    "wine": Path(__file__).parents[1] / "reference" / "families_wine.csv",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset_shape_columns_and_provenance(name):
    df = hierarch.load_dataset(name)
    rows, cols = EXPECTED[name]
    assert df.shape == (rows, len(cols))
    assert list(df.columns) == cols
    assert df.attrs["source"] and df.attrs["description"]


def test_list_datasets_covers_all_bundled_files_but_insteval():
    listed = hierarch.list_datasets()
    assert sorted(listed.index) == sorted(EXPECTED)
    assert "insteval" not in listed.index
    assert listed.loc["rats", "source"].startswith("Tarone (1982)")


def test_simulated_dataset_is_the_reference_scripts_output():
    for name, path in MADE_HERE.items():
        pd.testing.assert_frame_equal(
            hierarch.load_dataset(name), pd.read_csv(path), check_like=False, check_exact=True
        )


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data not next to the checkout")
@pytest.mark.parametrize("name", sorted(set(EXPECTED) - set(MADE_HERE)))
def test_bundled_copy_is_identical_to_shared_reference(name):
    pd.testing.assert_frame_equal(
        hierarch.load_dataset(name), pd.read_csv(SHARED / f"{name}.csv"), check_like=False
    )


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown dataset 'ratz'; available datasets: alcohol"):
        hierarch.load_dataset("ratz")
