import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.classifier.split import hash_unit, is_test


def _ids(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    chars = alphabet[rng.integers(0, len(alphabet), size=(n, 22))]
    return pd.Series(["".join(row) for row in chars], dtype="string")


def test_a_track_keeps_its_side_when_rows_are_added_removed_and_reordered():
    ids = _ids(2_000)
    before = pd.Series(is_test(ids).to_numpy(), index=ids.to_numpy())

    grown = pd.concat([ids.iloc[500:], _ids(1_000, seed=1)]).sample(frac=1.0, random_state=3)
    after = pd.Series(is_test(grown).to_numpy(), index=grown.to_numpy())

    shared = before.index.intersection(after.index)
    assert len(shared) == 1_500
    pd.testing.assert_series_equal(before[shared], after[shared])


def test_fraction_is_close_to_target():
    ids = _ids(20_000)
    assert is_test(ids, test_fraction=0.2).mean() == pytest.approx(0.2, abs=0.01)
    assert is_test(ids, test_fraction=0.5).mean() == pytest.approx(0.5, abs=0.015)
    assert not is_test(ids, test_fraction=0.0).any()
    assert is_test(ids, test_fraction=1.0).all()


def test_deterministic_and_salted():
    ids = _ids(1_000)
    pd.testing.assert_series_equal(is_test(ids), is_test(ids.copy()))
    assert (is_test(ids, salt="other") != is_test(ids)).any()


def test_same_id_same_side_whatever_the_dtype():
    ids = _ids(500)
    assert (is_test(ids).to_numpy() == is_test(ids.astype(object)).to_numpy()).all()


def test_growing_the_test_fraction_only_moves_tracks_from_train_to_test():
    ids = _ids(5_000)
    small, large = is_test(ids, test_fraction=0.1), is_test(ids, test_fraction=0.3)
    assert (small & ~large).sum() == 0
    assert large.sum() > small.sum()


def test_hash_is_pinned_across_versions():
    # A change here would silently move tracks between train and test on the next retrain.
    units = hash_unit(pd.Series(["4Kh6cq3XgOGUK9yXQu7RTq", "6Oq3A4IxlvSU2PQVWb7D3G"]))
    assert units.tolist() == [0.8823105894274352, 0.016681190469381213]


def test_keeps_the_input_index():
    ids = pd.Series(["a", "b", "c"], index=[10, 20, 30])
    assert list(is_test(ids).index) == [10, 20, 30]
    assert is_test(ids).dtype == bool


def test_missing_id_is_a_clear_error():
    ids = pd.Series(["a", None, "c"], index=[7, 8, 9], dtype="string")
    with pytest.raises(ValueError, match="track_id is missing at row 8"):
        is_test(ids)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_fraction_out_of_range_is_refused(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        is_test(pd.Series(["a"]), test_fraction=fraction)


def test_capped_sample_is_bounded_stratified_and_stable_as_the_base_grows() -> None:
    from playlist_assets.lib.classifier.split import capped_sample

    def base(n: int) -> pd.DataFrame:
        genres = ["jazz"] * (n // 4) + ["rock"] * (n - n // 4)
        return pd.DataFrame({"track_id": [f"t{i}" for i in range(n)], "track_genre": genres})

    small = base(1_000)
    assert capped_sample(small, 2_000) is small  # under the cap: untouched
    first = capped_sample(base(20_000), 4_000)
    assert len(first) <= 4_000 and len(first) >= 3_990
    assert first["track_genre"].value_counts(normalize=True)["jazz"] == pytest.approx(
        0.25, abs=0.01
    )
    # The base doubles: the cap holds, and most of the sample stays the same tracks.
    grown = capped_sample(base(40_000), 4_000)
    assert len(grown) <= 4_000
    kept = set(first["track_id"]) & set(grown["track_id"])
    assert len(kept) > 0.4 * len(first)
    assert capped_sample(base(40_000), 4_000).equals(grown)  # deterministic


def test_split_fingerprint_names_the_set_of_tracks() -> None:
    from playlist_assets.lib.classifier.split import split_fingerprint

    ids = pd.Series(["a", "b", "c"])
    assert split_fingerprint(ids) == split_fingerprint(ids[::-1])
    assert split_fingerprint(ids) != split_fingerprint(pd.Series(["a", "b", "d"]))
