"""The generated sample: real formats, deterministic bytes, and the signals the models learn."""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.sample_data import generate as sd
from playlist_assets.lib.schema import (
    AUDIO_FEATURES,
    CONTINUOUS_FEATURES,
    KAGGLE_COLUMNS,
    TRACK_URI_PREFIX,
)
from playlist_assets.settings import DEFAULT_GENRES

SMALL = {"seed": 3, "n_per_genre": 60, "n_playlists": 60, "replay_per_genre": 20}
MPD_PLAYLIST_KEYS = [
    "name",
    "collaborative",
    "pid",
    "modified_at",
    "num_tracks",
    "num_albums",
    "num_followers",
    "tracks",
    "num_edits",
    "duration_ms",
    "num_artists",
]
MPD_TRACK_KEYS = [
    "pos",
    "artist_name",
    "track_uri",
    "artist_uri",
    "track_name",
    "album_uri",
    "duration_ms",
    "album_name",
]
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> sd.SamplePaths:
    return sd.write_sample(tmp_path_factory.mktemp("sample"), **SMALL)


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    """The default sample's catalogue (what the graph trains on out of the box)."""
    return sd.generate_tracks(300, sd.SAMPLE_GENRES, seed=42)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(
    small_sample: sd.SamplePaths, tmp_path: Path
) -> None:
    again = sd.write_sample(tmp_path / "again", **SMALL)
    other = sd.write_sample(tmp_path / "other", **{**SMALL, "seed": 4})

    first = _bytes(small_sample.tracks_csv.parent)
    assert _bytes(again.tracks_csv.parent) == first
    other_bytes = _bytes(other.tracks_csv.parent)
    for name in (sd.TRACKS_FILE, sd.REPLAY_FILE, sd.PLAYLISTS_FILE):
        assert other_bytes[name] != first[name], name


def test_catalogue_is_written_exactly_like_the_kaggle_file(small_sample: sd.SamplePaths) -> None:
    text = small_sample.tracks_csv.read_text(encoding="utf-8")
    header, first_row = text.splitlines()[:2]
    assert header == "," + ",".join(KAGGLE_COLUMNS)
    assert first_row.startswith("0,")
    assert "\r" not in text
    assert ",False," in text and ",True," in text

    tracks = pd.read_csv(small_sample.tracks_csv, index_col=0)
    assert list(tracks.columns) == list(KAGGLE_COLUMNS)
    assert tracks.index.tolist() == list(range(len(tracks)))
    assert tracks["track_genre"].value_counts().to_dict() == {
        g: SMALL["n_per_genre"] for g in sd.SAMPLE_GENRES
    }
    assert tracks["explicit"].dtype == bool


def test_values_stay_in_the_ranges_the_real_data_uses(catalogue: pd.DataFrame) -> None:
    for name in (
        "danceability",
        "energy",
        "speechiness",
        "acousticness",
        "instrumentalness",
        "liveness",
        "valence",
    ):
        assert catalogue[name].between(0, 1).all(), name
    assert catalogue["popularity"].between(0, 100).all()
    assert catalogue["key"].between(-1, 11).all()
    assert catalogue["key"].between(0, 11).mean() > 0.99
    assert set(catalogue["mode"]) == {0, 1}
    assert catalogue["time_signature"].between(0, 5).all()
    assert (catalogue["time_signature"] == 4).mean() > 0.7
    assert catalogue["loudness"].between(-60, 0).all()
    assert catalogue["tempo"].between(40, 230).all()
    assert catalogue["duration_ms"].between(10_000, 2_000_000).all()
    assert catalogue["artists"].str.contains(";").any()
    assert catalogue[["artists", "album_name", "track_name"]].notna().all().all()


def test_genres_differ_the_way_real_genres_do(catalogue: pd.DataFrame) -> None:
    means = catalogue.groupby("track_genre")[list(CONTINUOUS_FEATURES)].mean()
    ten = means.loc[list(DEFAULT_GENRES)]
    assert ten["acousticness"].idxmax() == "classical"
    assert ten["instrumentalness"].idxmax() == "classical"
    assert ten["energy"].idxmin() == "classical"
    assert ten["speechiness"].idxmax() == "hip-hop"
    assert means.at["edm", "energy"] > 0.7
    assert means.at["ambient", "instrumentalness"] > 0.5


def test_track_ids_look_like_spotify_ids_and_some_tracks_have_two_genres(
    small_sample: sd.SamplePaths,
) -> None:
    tracks = pd.read_csv(small_sample.tracks_csv, index_col=0)
    replay = pd.read_csv(small_sample.replay_csv, index_col=0)

    assert tracks["track_id"].str.match(SPOTIFY_ID).all()
    assert not tracks.duplicated(["track_id", "track_genre"]).any()
    shared = tracks[tracks["track_id"].duplicated(keep=False)]
    assert 0 < len(shared) / len(tracks) < 0.1
    features = [c for c in KAGGLE_COLUMNS if c != "track_genre"]
    for _, rows in shared.groupby("track_id"):
        assert rows["track_genre"].nunique() == len(rows)
        assert (rows[features].nunique() == 1).all()  # the same song, listed twice

    assert list(replay.columns) == list(KAGGLE_COLUMNS)
    assert set(replay["track_genre"]) == set(sd.SAMPLE_GENRES)
    assert not set(replay["track_id"]) & set(tracks["track_id"])


def test_playlists_are_in_the_million_playlist_dataset_format(
    small_sample: sd.SamplePaths,
) -> None:
    data = json.loads(small_sample.playlists_json.read_text())
    tracks = pd.read_csv(small_sample.tracks_csv, index_col=0)
    replay = pd.read_csv(small_sample.replay_csv, index_col=0)

    assert data["info"]["slice"] == "sample"
    playlists = data["playlists"]
    assert [p["pid"] for p in playlists] == list(range(SMALL["n_playlists"]))
    for p in playlists:
        assert list(p) == MPD_PLAYLIST_KEYS
        assert p["collaborative"] == "false"
        assert p["num_tracks"] == len(p["tracks"])
        assert 10 <= p["num_tracks"] <= 60
        assert p["modified_at"] % 86_400 == 0
        assert p["duration_ms"] == sum(t["duration_ms"] for t in p["tracks"])
        assert p["num_albums"] == len({t["album_uri"] for t in p["tracks"]})
        assert p["num_artists"] == len({t["artist_uri"] for t in p["tracks"]})
        assert [t["pos"] for t in p["tracks"]] == list(range(p["num_tracks"]))
        assert len({t["track_uri"] for t in p["tracks"]}) == p["num_tracks"]
        for t in p["tracks"]:
            assert list(t) == MPD_TRACK_KEYS
            assert t["track_uri"].startswith(TRACK_URI_PREFIX)
            assert SPOTIFY_ID.match(t["artist_uri"].removeprefix("spotify:artist:"))
            assert SPOTIFY_ID.match(t["album_uri"].removeprefix("spotify:album:"))

    uris = [t["track_uri"].removeprefix(TRACK_URI_PREFIX) for p in playlists for t in p["tracks"]]
    in_catalogue = np.isin(uris, tracks["track_id"]).mean()
    in_replay = np.isin(uris, replay["track_id"]).mean()
    assert 0.6 < in_catalogue < 0.85  # like real playlists, many songs are not in the file
    assert in_replay > 0.02  # tracks that arrive later through the feed already have history


def test_a_classifier_learns_the_genres_but_not_perfectly(catalogue: pd.DataFrame) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    ten = catalogue[catalogue["track_genre"].isin(DEFAULT_GENRES)]
    test = ten["track_id"].map(lambda t: zlib.crc32(t.encode()) % 5 == 0).to_numpy()
    x, y = ten[list(AUDIO_FEATURES)].astype(float), ten["track_genre"]

    # One thread: OpenMP threads fighting over busy cores make this ten times slower.
    with threadpool_limits(1):
        clf = HistGradientBoostingClassifier(max_iter=30, random_state=0)
        accuracy = clf.fit(x[~test], y[~test]).score(x[test], y[test])

    assert 2 * (1 / len(DEFAULT_GENRES)) < accuracy < 0.95


def test_each_genre_holds_mood_clusters(catalogue: pd.DataFrame) -> None:
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    for genre in DEFAULT_GENRES:
        z = StandardScaler().fit_transform(
            catalogue.loc[catalogue["track_genre"] == genre, list(CONTINUOUS_FEATURES)]
        )
        with threadpool_limits(1):
            labels = GaussianMixture(3, random_state=0).fit_predict(z)
        assert silhouette_score(z, labels) > 0, genre


@pytest.fixture(scope="module")
def playlist_songs(catalogue: pd.DataFrame) -> list[list[str]]:
    """The default sample's playlists as lists of catalogue track ids (other songs left out)."""
    known = set(catalogue["track_id"])
    playlists = sd.generate_playlists(catalogue, 800, seed=42)["playlists"]
    ids = [[t["track_uri"].removeprefix(TRACK_URI_PREFIX) for t in p["tracks"]] for p in playlists]
    return [[i for i in pl if i in known] for pl in ids]


def test_songs_that_go_together_recur_together_across_playlists(
    playlist_songs: list[list[str]],
) -> None:
    def pairs_in_five_or_more(pls: list[list[str]]) -> int:
        counts = Counter(pair for pl in pls for pair in combinations(sorted(pl), 2))
        return sum(1 for c in counts.values() if c >= 5)

    # The same playlist sizes and song frequencies, songs shuffled between playlists.
    flat = np.random.default_rng(0).permutation([i for pl in playlist_songs for i in pl])
    ends = np.cumsum([len(pl) for pl in playlist_songs])
    shuffled = [list(set(part)) for part in np.split(flat, ends[:-1])]

    assert pairs_in_five_or_more(playlist_songs) > 5 * pairs_in_five_or_more(shuffled)


def test_cooccurrence_predicts_the_rest_of_a_playlist_better_than_popularity(
    playlist_songs: list[list[str]],
) -> None:
    cut = len(playlist_songs) * 4 // 5
    train, held_out = playlist_songs[:cut], playlist_songs[cut:]
    popular = [i for i, _ in Counter(i for pl in train for i in pl).most_common()]
    together: dict[str, Counter] = {}
    for pl in train:
        for a in pl:
            together.setdefault(a, Counter()).update(b for b in pl if b != a)

    hits = Counter()
    for pl in (pl for pl in held_out if len(pl) >= 6):
        seed, hidden = pl[: len(pl) // 2], set(pl[len(pl) // 2 :])
        score: Counter = Counter()
        for a in seed:
            score.update(together.get(a, {}))
        by_cooccurrence = [i for i, _ in score.most_common(len(seed) + 10) if i not in seed]
        by_popularity = [i for i in popular[: len(seed) + 10] if i not in seed]
        hits["cooccurrence"] += len(hidden.intersection(by_cooccurrence[:10]))
        hits["popularity"] += len(hidden.intersection(by_popularity[:10]))

    assert hits["cooccurrence"] > 2 * hits["popularity"] > 0


def test_popular_songs_turn_up_in_more_playlists(
    catalogue: pd.DataFrame, playlist_songs: list[list[str]]
) -> None:
    plays = Counter(i for pl in playlist_songs for i in pl)
    songs = catalogue.drop_duplicates("track_id").set_index("track_id")
    songs["plays"] = [plays.get(i, 0) for i in songs.index]

    popular = songs["popularity"] >= 60
    unpopular = songs["popularity"] == 0
    assert songs.loc[popular, "plays"].mean() > 2 * songs.loc[unpopular, "plays"].mean()


def test_playlists_keep_to_one_or_two_genres(
    catalogue: pd.DataFrame, playlist_songs: list[list[str]]
) -> None:
    genre_of = catalogue.drop_duplicates("track_id").set_index("track_id")["track_genre"]

    top_two_shares = []
    for pl in playlist_songs:
        genres = Counter(genre_of[i] for i in pl)
        top_two_shares.append(sum(c for _, c in genres.most_common(2)) / len(pl))
    # Playlists drawn at random from twelve genres would give about 0.3.
    assert np.median(top_two_shares) > 0.75


def test_moods_are_recovered_from_features(catalogue: pd.DataFrame) -> None:
    moods = sd.assign_moods(catalogue)

    per_genre = pd.Series(moods).groupby(catalogue["track_genre"].to_numpy()).nunique()
    assert (per_genre >= 2).all()
    other = catalogue.head(5).assign(track_genre="k-pop")
    assert set(sd.assign_moods(other)) == {"mix"}


def test_ensure_sample_writes_only_when_missing_or_different(tmp_path: Path) -> None:
    def stamp(paths: sd.SamplePaths) -> list[tuple[int, int]]:
        files = (paths.tracks_csv, paths.replay_csv, paths.playlists_json)
        return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in files]

    paths = sd.ensure_sample(tmp_path, **SMALL)
    before = stamp(paths)
    assert stamp(sd.ensure_sample(tmp_path, **SMALL)) == before

    assert stamp(sd.ensure_sample(tmp_path, **{**SMALL, "seed": 9})) != before
    changed = stamp(paths)
    paths.playlists_json.unlink()
    sd.ensure_sample(tmp_path, **{**SMALL, "seed": 9})
    assert paths.playlists_json.is_file() and stamp(paths) != changed

    (tmp_path / sd.MANIFEST_FILE).write_text("not json")
    again = stamp(paths)
    sd.ensure_sample(tmp_path, **{**SMALL, "seed": 9})
    assert stamp(paths) != again
    assert not list(tmp_path.glob("*.tmp"))  # written through temporary files, none left


def test_unknown_genre_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"no sample profile for genre\(s\) \['k-pop'\]"):
        sd.generate_tracks(10, ["pop", "k-pop"])
