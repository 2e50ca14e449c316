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


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data not next to the checkout")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_copy_is_identical_to_shared_reference(name):
    pd.testing.assert_frame_equal(
        hierarch.load_dataset(name), pd.read_csv(SHARED / f"{name}.csv"), check_like=False
    )


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown dataset 'ratz'; available datasets: alcohol"):
        hierarch.load_dataset("ratz")
