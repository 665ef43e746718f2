"""What a request reads of each song: the pre-encoded JSON of its id, name, artists and genre,
and the song's own page, for names JSON must escape and for songs missing a field."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd

from playlist_assets.api.answers import song
from playlist_assets.api.state import SongColumns
from playlist_assets.lib.recommend.recommender import Recommender
from playlist_assets.lib.schema import AUDIO_FEATURES

NAMES = [
    'Say "Hello"',
    "back\\slash",
    "two\nlines\tand a tab",
    "bell \x07 and \x1f",
    "Café — 東京 🎵",
    None,
    "",
    "plain",
]


def songs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        [
            {
                "track_id": f"{i:022d}",
                "track_name": name,
                "artists": f'Artist "{i}"' if i % 2 else "A;B",
                "album_name": None if i == 3 else f"Album {i % 2}",
                "track_genre": "pop" if i % 2 else "rock",
                "popularity": 10 * i,
                "cluster": i % 2,
                **{f: float(rng.random()) for f in AUDIO_FEATURES},
            }
            for i, name in enumerate(NAMES)
        ]
    )


def test_each_song_is_encoded_as_json_writes_it() -> None:
    base = songs()
    recommender = Recommender(base)
    columns = SongColumns.of(recommender)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for i, row in base.iterrows():
        expected = (
            f'"id":{dumps(row.track_id)},"name":{dumps(row.track_name)},'
            f'"artist":{dumps(row.artists)},"genre":{dumps(row.track_genre)}'
        )
        assert columns.fragment(i) == expected.encode()
        assert json.loads(b"{" + columns.fragment(i) + b"}")["name"] == NAMES[i]
    assert columns.ids.tolist() == base["track_id"].tolist()


def test_a_songs_page_says_null_for_what_the_base_lacks() -> None:
    recommender = Recommender(songs())
    state = SimpleNamespace(
        recommender=recommender, columns=SongColumns.of(recommender), model_version="v1"
    )
    page = json.loads(song(state, f"{5:022d}"))
    assert page["name"] is None
    assert page["album"] == "Album 1"
    page = json.loads(song(state, f"{3:022d}"))
    assert (page["name"], page["album"], page["artist"]) == (NAMES[3], None, 'Artist "3"')
    assert song(state, "nope") is None
