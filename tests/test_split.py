import pandas as pd
import pytest

from tact.data.split import check_split_possible, make_split, read_split, write_split
from tact.errors import ConfigError

SLICES = {v: list(range(10 + v, 20 + 2 * v)) for v in range(10)}


def test_split_by_volume_keeps_patients_apart():
    table = make_split(SLICES, by="volume", test_fraction=0.2, seed=1)
    train = set(table.loc[table["split"] == "train", "volume"])
    test = set(table.loc[table["split"] == "test", "volume"])
    assert train.isdisjoint(test)
    assert len(test) == 2 and len(train) == 8
    assert len(table) == sum(len(s) for s in SLICES.values())


def test_split_is_deterministic_and_seeded():
    a = make_split(SLICES, by="volume", seed=3)
    b = make_split(SLICES, by="volume", seed=3)
    pd.testing.assert_frame_equal(a, b)
    tests = {
        frozenset(make_split(SLICES, by="volume", seed=s).query("split == 'test'")["volume"])
        for s in range(10)
    }
    assert len(tests) > 1, "another seed must be able to change the split"


def test_split_by_slice():
    table = make_split(SLICES, by="slice", test_fraction=0.2, seed=0)
    n = len(table)
    assert (table["split"] == "test").sum() == round(0.2 * n)
    # slice-level splitting puts some volumes on both sides (the leak it is offered to show)
    sides = table.groupby("volume")["split"].nunique()
    assert (sides == 2).any()


def test_tiny_runs_keep_both_sides():
    table = make_split({0: [1, 2], 1: [3]}, by="volume", test_fraction=0.01, seed=0)
    assert set(table["split"]) == {"train", "test"}
    with pytest.raises(ConfigError, match="at least 2 volumes"):
        make_split({0: [1, 2]}, by="volume")


def test_file_round_trip(tmp_path):
    table = make_split(SLICES, seed=0)
    write_split(table, tmp_path / "split.csv")
    back = read_split(tmp_path / "split.csv")
    assert back["volume"].tolist() == table["volume"].tolist()
    assert back["split"].tolist() == table["split"].tolist()


def test_a_split_the_data_cannot_give_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match=r"data.split.by: volume needs at least 2 volumes, /d"):
        check_split_possible(1, "volume", "/d")
    with pytest.raises(ConfigError, match=r"data.split.by: slice needs at least 2 slices"):
        check_split_possible(1, "slice", "/d", most_slices=1)
    check_split_possible(2, "volume", "/d")
    check_split_possible(1, "slice", "/d")  # slices unknown before extraction: the split step
    check_split_possible(1, "slice", "/d", most_slices=2)
    with pytest.raises(ConfigError, match=r"data.split.by: slice needs at least 2 slices"):
        make_split({0: [3]}, by="slice")
