"""The recommender: ranking invariants, every strategy, cold start, bad input, loading."""

import pickle
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.classifier.artifacts import ArtifactMissing
from playlist_assets.lib.recommend.blend import choose_blend_weights, fit_blend_weights, prepare
from playlist_assets.lib.recommend.cooccurrence import (
    learn_cooccurrence,
)
from playlist_assets.lib.recommend.evaluation import evaluate, summarize
from playlist_assets.lib.recommend.load import load_recommender
from playlist_assets.lib.recommend.merge import Curve, Merge
from playlist_assets.lib.recommend.names import COOC_FEATURES, FEATURES, STRATEGIES
from playlist_assets.lib.recommend.playlist_refs import normalize_track_id
from playlist_assets.lib.recommend.recommender import NoUsableTracks, Recommender
from playlist_assets.lib.recommend.settings import Blends
from playlist_assets.lib.recommend.song_codes import song_identity
from playlist_assets.lib.schema import AUDIO_FEATURES

# -- a hand-made catalogue -----------------------------------------------------------------------


def tid(i: int) -> str:
    return f"{i:022d}"


def tiny_songs(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        rows.append(
            {
                "track_id": tid(i),
                "track_name": f"Song {i}",
                "artists": f"Artist {i % 4}",
                "album_name": f"Album {i % 3}",
                "track_genre": "pop" if i % 2 else "rock",
                "popularity": [50, 50, 70, 10, 90, 30, 20, 60, 40, 80, 5, 15][i % 12],
                "cluster": i % 3,
                **{f: float(rng.random()) for f in AUDIO_FEATURES},
            }
        )
    return pd.DataFrame(rows)


def tiny_playlists(lists: dict[int, list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "pid": pid,
                "pos": pos,
                "track_id": t if isinstance(t, str) else tid(t),
                "artist_name": "someone",
                "name": "",
                "track_uri": "",
                "track_name": "",
            }
            for pid, tracks in lists.items()
            for pos, t in enumerate(tracks)
        ]
    )


@pytest.fixture
def songs() -> pd.DataFrame:
    return tiny_songs()


@pytest.fixture
def tiny(songs: pd.DataFrame) -> Recommender:
    lists = {
        1: [0, 1, 2],
        2: [0, 1, 3],
        3: [0, 1, 5],
        4: [0, 5, "outsider" + "x" * 14],
        5: [7, 8],
    }
    cooc = learn_cooccurrence(tiny_playlists(lists), list(lists), songs["track_id"])
    return Recommender(songs, cooc)


def test_popular_ranks_by_popularity_then_catalogue_order(tiny):
    ids = tiny.recommend([tid(4)], k=5, strategy="popular").track_ids
    # popularity 90 (4) is the seed; then 80 (9), 70 (2), 60 (7), then the 50s in catalogue order
    assert ids == [tid(9), tid(2), tid(7), tid(0), tid(1)]


def test_frequent_ranks_by_playlist_count_with_popularity_fill(tiny):
    ids = tiny.recommend([tid(11)], k=5, strategy="frequent").track_ids
    assert ids[:2] == [tid(0), tid(1)]  # in 4 and 3 training playlists
    assert ids[2] == tid(5)  # 2 playlists
    # then the songs in one playlist, by popularity: 2 (70), 7 (60), 8 (40), 3 (10)
    assert ids[3:5] == [tid(2), tid(7)]


def test_cooccurrence_ranks_songs_played_with_the_seeds_first(tiny):
    result = tiny.recommend([tid(0)], k=6, strategy="cooccurrence")
    assert result.track_ids[:4] == [tid(1), tid(5), tid(2), tid(3)]  # 3, 2, 1, 1 playlists
    assert result.recommendations["score"].tolist()[:4] == [3.0, 2.0, 1.0, 1.0]
    assert result.track_ids[4:] == [tid(4), tid(9)]  # popularity fill


def test_seeds_outside_the_catalogue_still_vote_through_cooccurrence(tiny):
    outsider = "outsider" + "x" * 14
    result = tiny.recommend([outsider], k=3, strategy="cooccurrence")
    assert result.track_ids[:2] == [tid(0), tid(5)]
    assert result.missing == [outsider] and result.unknown == []
    assert not result.cold_start


def test_hybrid_puts_songs_with_cooccurrence_evidence_first(tiny):
    # untuned blends rank every song without evidence after those with it
    result = tiny.recommend([tid(0), tid(1)], k=8)
    evidence = {tid(2), tid(3), tid(5)}
    assert set(result.track_ids[:3]) == evidence
    scores = result.recommendations["score"]
    assert scores.iloc[:3].min() > scores.iloc[3:].max()
    assert list(result.recommendations.columns) == [
        "track_id",
        "track_name",
        "artists",
        "track_genre",
        "cluster",
        "new",
        "score",
    ]


# A cold-song blend that trusts artist and album affinity (the tuned ones depend on the data).
TRUST = {"bias": -3.0, "artist_share": 4.0, "album": 2.0, "audio": 1.0, "popularity": 1.0}


def test_a_song_no_playlist_holds_outranks_weak_evidence_when_it_fits(songs):
    # Seeds by Artist 0 on Album 0; song 12 (same artist and album, no playlist holds it) must
    # come before song 7, which a single playlist puts with one seed (below the head of the
    # list kept for evidence: none here).
    fresh = songs.iloc[[0]].assign(track_id=tid(12), track_name="New one", popularity=60)
    base = pd.concat([songs, fresh], ignore_index=True)
    lists = {1: [0, 4, 8], 2: [0, 4, 8], 3: [4, 7]}
    cooc = learn_cooccurrence(tiny_playlists(lists), list(lists), base["track_id"])
    even = Blends(cold_song=TRUST, merge=Merge(Curve(), Curve()))
    rec = Recommender(base, cooc, blends=even)
    ids = rec.recommend([tid(0), tid(4), tid(8)], k=11).track_ids
    assert ids.index(tid(12)) < ids.index(tid(7))
    distrusted = even.with_(merge=Merge(Curve(), Curve(bias=-50.0)))
    late = rec.with_blends(distrusted).recommend([tid(0), tid(4), tid(8)], k=11)
    assert late.track_ids.index(tid(12)) > late.track_ids.index(tid(7))


def test_a_track_without_audio_features_is_still_ranked(songs, tiny):
    lacking = songs.iloc[[4]].assign(track_id=tid(20), track_name="No audio", cluster=-1)
    lacking[list(AUDIO_FEATURES)] = np.nan
    base = pd.concat([songs, lacking], ignore_index=True)
    rec = Recommender(base, tiny.cooccurrence, blends=Blends(cold_song=TRUST))
    assert not rec.table.has_audio[-1] and rec.table.has_audio[:-1].all()
    for strategy in ("hybrid", "popular", "random"):
        result = rec.recommend([tid(0)], k=len(base) - 1, strategy=strategy)
        assert tid(20) in result.track_ids
        assert np.isfinite(result.recommendations["score"]).all()
    # Seeds by Artist 0 (0, 8): after the five songs with evidence (1, 2, 3, 5, 7), the two other
    # songs of the artist lead the songs without evidence, the one without audio among them.
    ids = rec.recommend([tid(0), tid(8)], k=7).track_ids
    assert set(ids[:5]) == {tid(1), tid(2), tid(3), tid(5), tid(7)}
    assert set(ids[5:]) == {tid(4), tid(20)}


def test_songs_that_landed_recently_are_marked_new(songs, tiny):
    now = pd.Timestamp("2026-11-29 12:00")
    landed = [pd.NaT] * len(songs)
    landed[2], landed[3] = now - pd.Timedelta(hours=2), now - pd.Timedelta(days=3)
    rec = Recommender(songs.assign(landed_at=landed), tiny.cooccurrence, now=now)
    table = rec.recommend([tid(0)], k=len(songs) - 1).recommendations.set_index("track_id")
    assert table.loc[tid(2), "new"] and not table.loc[tid(3), "new"]
    assert table["new"].sum() == 1


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "cluster"])
@pytest.mark.parametrize("k", [1, 5, 9])
def test_k_is_honoured_and_never_a_playlist_track(tiny, strategy, k):
    seeds = [tid(0), tid(1), tid(6)]
    result = tiny.recommend(seeds, k=k, strategy=strategy)
    assert len(result.recommendations) == k
    assert not set(result.track_ids) & set(seeds)
    assert len(set(result.track_ids)) == k


def test_more_than_the_catalogue_returns_every_other_song(tiny):
    result = tiny.recommend([tid(0)], k=500, strategy="hybrid")
    assert sorted(result.track_ids) == sorted(tid(i) for i in range(1, 12))


def test_same_song_under_two_ids_is_recommended_once_and_never_if_in_the_playlist(songs):
    twin = songs.iloc[[9]].assign(track_id="twin" + "0" * 18, track_name="  song 9 ", popularity=1)
    songs = pd.concat([songs, twin], ignore_index=True)
    rec = Recommender(songs)
    ids = rec.recommend([tid(0)], k=20, strategy="popular").track_ids
    assert tid(9) in ids and twin["track_id"].iloc[0] not in ids
    assert len(ids) == 11
    assert (
        tid(9) not in rec.recommend([twin["track_id"].iloc[0]], k=20, strategy="popular").track_ids
    )


def test_song_identity_ignores_case_spacing_and_artist_order():
    codes = song_identity(["Hello", " hello ", "Hello"], ["A;B", "b; a", "A"])
    assert codes[0] == codes[1] != codes[2]


def test_recommendations_are_deterministic(tiny):
    first = tiny.recommend([tid(0), tid(3)], k=10)
    second = tiny.recommend([tid(0), tid(3)], k=10)
    pd.testing.assert_frame_equal(first.recommendations, second.recommendations)


def test_input_accepts_uris_and_urls_and_reports_missing_tracks(tiny):
    unknown = "Z" * 22
    result = tiny.recommend(
        [f"spotify:track:{tid(0)}", f"https://open.spotify.com/track/{tid(1)}?si=abc", unknown],
        k=4,
    )
    assert not {tid(0), tid(1)} & set(result.track_ids)
    assert result.missing == [unknown] and result.unknown == [unknown]


def test_normalize_track_id():
    assert normalize_track_id(" spotify:track:" + tid(3)) == tid(3)
    assert normalize_track_id("https://open.spotify.com/intl-de/track/" + tid(3) + "?si=x") == tid(
        3
    )
    assert normalize_track_id(tid(3)) == tid(3)


def test_a_playlist_with_no_usable_track_is_a_clear_error(tiny):
    with pytest.raises(NoUsableTracks, match="none of the playlist's 2 track"):
        tiny.recommend(["Z" * 22, "Y" * 22])
    with pytest.raises(NoUsableTracks, match="no tracks"):
        tiny.recommend([])
    # batch mode asks for a fallback instead
    assert len(tiny.recommend(["Z" * 22], k=3, allow_unknown=True).track_ids) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "magic"}, "unknown strategy 'magic'"),
        ({"k": 0}, "k must be a positive"),
        ({"artists": ["only one"]}, "one artist per track"),
    ],
)
def test_bad_arguments_are_rejected(tiny, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny.recommend([tid(0), tid(1)], **kwargs)


def test_songs_base_without_required_columns_is_rejected(songs):
    with pytest.raises(ValueError, match="lacks column"):
        Recommender(songs.drop(columns=["cluster"]))
    with pytest.raises(ValueError, match="empty"):
        Recommender(songs.iloc[0:0])


def test_cooccurrence_follows_songs_when_the_catalogue_changes(songs, tiny):
    shuffled = songs.sample(frac=1.0, random_state=1).reset_index(drop=True)
    moved = Recommender(shuffled, tiny.cooccurrence)
    for strategy in ("cooccurrence", "frequent"):
        assert (
            moved.recommend([tid(0)], 5, strategy).track_ids
            == tiny.recommend([tid(0)], 5, strategy).track_ids
        )


def test_without_playlists_data_the_hybrid_still_answers(songs):
    rec = Recommender(songs)
    result = rec.recommend([tid(0), tid(2)], k=5)
    assert result.cold_start and len(result.track_ids) == 5


def test_cluster_strategy_needs_the_models(tiny):
    with pytest.raises(ValueError, match="needs the genre classifier"):
        tiny.recommend([tid(0)], strategy="cluster")


def test_weights_must_name_known_features():
    with pytest.raises(ValueError, match="unknown blend weight"):
        Blends(warm={"cooc": 1.0, "vibes": 2.0})


# -- the sample world: generated catalogue and playlists, the project's models ----------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_invariants_hold_for_every_strategy_on_real_looking_playlists(world, strategy):
    rec: Recommender = world["recommender"]
    identity = dict(zip(rec.ids, rec.table.identity, strict=True))
    for case in world["cases"][:15]:
        result = rec.recommend(case.seeds, k=50, strategy=strategy)
        ids = result.track_ids
        assert len(ids) == 50
        assert not set(ids) & set(case.seeds)
        keys = [identity[t] for t in ids]
        assert len(set(keys)) == len(keys)
        seed_keys = {identity[t] for t in case.seeds if t in identity}
        assert not seed_keys & set(keys)
        assert rec.recommend(case.seeds, k=50, strategy=strategy).track_ids == ids


def test_at_least_ten_songs_by_default(world):
    case = world["cases"][0]
    assert len(world["recommender"].recommend(case.seeds).track_ids) == 20


def test_hybrid_beats_the_baselines_on_held_out_playlists(world):
    table = summarize(evaluate(world["recommender"], world["cases"], k=500)).set_index("strategy")
    assert len(world["cases"]) >= 30
    for other in ("popular", "frequent", "cluster"):
        assert table.loc["hybrid", "ndcg"] > table.loc[other, "ndcg"]
        assert table.loc["hybrid", "r_precision"] > table.loc[other, "r_precision"]
    assert table.loc["hybrid", "ndcg"] >= 0.9 * table.loc["cooccurrence", "ndcg"]
    assert set(table.columns) >= {"playlists", "clicks", "hit_at_10", "hit_at_100", "cosine"}


def test_cold_start_playlist_gets_songs_of_its_genre(world):
    index, playlists = world["index"], world["playlists"]
    seeds = index.loc[index["track_genre"] == "jazz", "track_id"].head(3).tolist()
    # co-occurrence learned from playlists that never hold the seeds: they are new to it
    unseen = playlists[~playlists["track_id"].isin(seeds)]
    cooc = learn_cooccurrence(unseen, unseen["pid"].unique(), index["track_id"])
    rec = Recommender(index, cooc, world["bundle"], world["clusters"])
    result = rec.recommend(seeds, k=20)
    assert result.cold_start and result.missing == []
    assert result.note.startswith("cold start")
    share = (result.recommendations["track_genre"] == "jazz").mean()
    assert share >= 0.5  # ten genres: chance is 0.1


def test_cold_start_hybrid_is_no_worse_than_the_old_method(world):
    per_case = evaluate(
        world["recommender"], world["cases"], ["hybrid", "cluster"], hide_cooccurrence=True
    )
    table = summarize(per_case).set_index("strategy")
    assert per_case["cold_start"].all()
    assert table.loc["hybrid", "ndcg"] >= table.loc["cluster", "ndcg"]


def test_cluster_strategy_is_the_old_rule(world):
    rec: Recommender = world["recommender"]
    case = world["cases"][0]
    seeds = rec.seeds(case.seeds)
    summary = rec.baseline.summaries([seeds])
    rows = rec.table.songs.iloc[seeds.songs]  # the old summary: means, and most frequent categories
    assert summary["danceability"].iloc[0] == pytest.approx(rows["danceability"].mean())
    assert summary["duration_ms"].iloc[0] == round(rows["duration_ms"].mean())
    for column in ("key", "track_genre", "artists"):
        assert summary[column].iloc[0] == rows[column].mode().iloc[0]
    genre = str(world["bundle"].predict(summary)[0])
    cluster = int(world["clusters"][genre].predict(summary)[0])
    index = world["index"]
    members = index[(index["track_genre"] == genre) & (index["cluster"] == cluster)]
    expected = sorted(set(members["track_id"]) - set(case.seeds))
    result = rec.recommend(case.seeds, k=min(10, len(expected)), strategy="cluster")
    assert result.track_ids == expected[: len(result.track_ids)]
    assert result.note == f"cluster: genre {genre}, cluster {cluster}"
    # beyond the cluster: the rest of the genre, so k is still honoured
    longer = rec.recommend(case.seeds, k=len(expected) + 5, strategy="cluster")
    assert (longer.recommendations["track_genre"] == genre).all()


def test_cluster_choices_of_many_playlists_are_each_playlists_own(world):
    """The evaluation asks for every playlist's (genre, cluster) at once: the same as asking one
    by one, in order, and None for a playlist with no song in the base."""
    rec: Recommender = world["recommender"]
    many = [rec.seeds(case.seeds) for case in world["cases"][:12]] + [rec.seeds(["Z" * 22])]
    batched = rec.baseline.choices(many)
    assert batched[-1] is None
    assert batched[:-1] == [rec.baseline.choices([seeds])[0] for seeds in many[:-1]]
    assert len({choice[0] for choice in batched[:-1]}) > 1  # several genres in one call
    genre, cluster = batched[0]
    assert rec.score("cluster", many[0], 10).note == f"cluster: genre {genre}, cluster {cluster}"


def test_a_recommender_with_other_cooccurrence_ranks_as_one_built_with_it(world):
    rec: Recommender = world["recommender"]
    blends = Blends(merge=Merge(Curve(), Curve(bias=-2.0)))
    other = rec.with_cooccurrence(world["fit_recommender"].cooccurrence, blends)
    built = Recommender(
        world["index"],
        world["fit_recommender"].cooccurrence,
        world["bundle"],
        world["clusters"],
        blends=blends,
    )
    for case in world["cases"][:10]:
        for strategy in ("hybrid", "cooccurrence"):
            assert (
                other.recommend(case.seeds, k=30, strategy=strategy).track_ids
                == built.recommend(case.seeds, k=30, strategy=strategy).track_ids
            )
    # the original keeps its own co-occurrence and blend
    assert rec.cooccurrence is world["cooc"] and rec.blends != blends
    assert (rec.frequency != other.frequency).any()


def test_a_large_base_predicts_a_songs_posteriors_only_when_it_seeds_a_playlist(world, monkeypatch):
    """A year of fresh songs made building the recommender predict 353,405 songs; above
    EAGER_POSTERIOR_SONGS it predicts a playlist's own songs when asked, with the same ranking."""
    import playlist_assets.lib.recommend.songs as songs_module

    bundle, asked = world["bundle"], []

    class Counting:
        classes = bundle.classes

        def predict_proba(self, songs):
            asked.append(len(songs))
            return bundle.predict_proba(songs)

        def predict(self, songs):
            return bundle.predict(songs)

    monkeypatch.setattr(songs_module, "EAGER_POSTERIOR_SONGS", 0)
    lazy = Recommender(world["index"], world["cooc"], Counting(), world["clusters"])
    assert asked == []
    for case in world["cases"][:8]:
        for strategy in ("hybrid", "cluster"):
            assert (
                lazy.recommend(case.seeds, k=30, strategy=strategy).track_ids
                == world["recommender"].recommend(case.seeds, k=30, strategy=strategy).track_ids
            )
    assert 0 < sum(asked) < lazy.n


def test_old_similarity_is_a_cosine(world):
    rec: Recommender = world["recommender"]
    case = world["cases"][0]
    chosen, *_ = rec.rank(case.seeds, 20)
    value = rec.old_similarity(case.seeds, chosen)
    assert 0.5 < value <= 1.0
    assert np.isnan(rec.old_similarity(["Z" * 22], chosen))


def test_blend_weights_are_fitted_on_validation_playlists(world):
    fold = world["fit_recommender"]
    warm = fit_blend_weights(prepare(fold, world["validation"]), "warm")
    cold = fit_blend_weights(prepare(fold, world["validation"], cold=True), "cold")
    assert set(warm) == {"bias", *FEATURES}
    assert set(cold) == {"bias", *FEATURES} - set(COOC_FEATURES)
    assert fit_blend_weights(prepare(fold, world["validation"][:1]), "warm") is None


def test_blend_choice_keeps_the_best_candidate_on_validation(world):
    fold = world["fit_recommender"]
    choice = choose_blend_weights(fold, prepare(fold, world["validation"]), "warm")
    assert {"default", "co-occurrence only"} <= set(choice.validation_ndcg)
    best = max(choice.validation_ndcg, key=choice.validation_ndcg.get)
    assert choice.source == best
    assert choice.cases == len(prepare(fold, world["validation"]))


def write_materialization(home: Path, world: dict) -> None:
    models = home / "models"
    (models / "genre_cluster_models").mkdir(parents=True)
    index = world["index"]  # noqa: F841 (read by duckdb)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create table main.song_index as select * from index")
    (models / "genre_classifier").write_bytes(pickle.dumps(world["bundle"]))
    for genre, model in world["clusters"].items():
        (models / "genre_cluster_models" / genre).write_bytes(pickle.dumps(model))
    (models / "track_cooccurrence").write_bytes(pickle.dumps(world["cooc"]))


def test_load_recommender_reads_the_materialization(world, tmp_path):
    write_materialization(tmp_path, world)
    loaded = load_recommender(tmp_path)
    for case in world["cases"][:3]:
        for strategy in ("hybrid", "cooccurrence", "cluster", "popular"):
            pd.testing.assert_frame_equal(  # the same songs, names and scores as from pandas
                loaded.recommend(case.seeds, 30, strategy).recommendations,
                world["recommender"].recommend(case.seeds, 30, strategy).recommendations,
            )


def test_fresh_songs_in_the_warehouse_rank_as_the_same_rows_in_memory(world, tmp_path):
    write_materialization(tmp_path, world)
    index = world["index"]
    base, fresh = index.iloc[: len(index) // 2], index.iloc[len(index) // 2 :]  # noqa: F841
    landed = pd.Timestamp("2026-01-01")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create or replace table main.song_index as select * from base")
        con.execute(
            "create table main.fresh_songs as select *, "
            "TIMESTAMP '2026-01-01' + to_hours(cast(row_number() over () as bigint)) as landed_at "
            "from fresh"
        )
    loaded = load_recommender(tmp_path, now=landed)
    same = pd.concat(
        [base, fresh.assign(landed_at=landed + pd.to_timedelta(np.arange(1, len(fresh) + 1), "h"))],
        ignore_index=True,
    )
    in_memory = Recommender(same, world["cooc"], world["bundle"], world["clusters"], now=landed)
    assert loaded.ids.tolist() == index["track_id"].tolist()
    for case in world["cases"][:3]:
        pd.testing.assert_frame_equal(
            loaded.recommend(case.seeds, 30).recommendations,
            in_memory.recommend(case.seeds, 30).recommendations,
        )


def test_load_recommender_says_what_to_materialize(world, tmp_path):
    with pytest.raises(ArtifactMissing, match="no warehouse"):
        load_recommender(tmp_path)
    write_materialization(tmp_path, world)
    (tmp_path / "models" / "track_cooccurrence").unlink()
    with pytest.raises(ArtifactMissing, match="track_cooccurrence"):
        load_recommender(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("drop table main.song_index")
    with pytest.raises(ArtifactMissing, match="song_index"):
        load_recommender(tmp_path)


def test_a_request_scores_a_bounded_set_of_candidates(songs):
    """A year of fresh songs gives an artist thousands of songs: a playlist by that artist scores
    the artist's most popular ones, not all of them, and the list is the same as scoring all."""
    from playlist_assets.lib.recommend.candidates import PER_ARTIST

    many = pd.concat(
        [
            songs.iloc[[0]].assign(
                track_id=tid(100 + i), track_name=f"Fresh {i}", popularity=i % 100
            )
            for i in range(400)
        ],
        ignore_index=True,
    )
    rec = Recommender(pd.concat([songs, many], ignore_index=True))
    seeds = rec.seeds([tid(0), tid(4)])
    candidates = rec.candidates(seeds, k=10)
    by_artist = candidates[rec.table.songs["artists"].to_numpy()[candidates] == "Artist 0"]
    assert PER_ARTIST <= len(by_artist) < 150  # the artist's best 50, plus popular songs overall
    chosen = set(rec.table.popularity[by_artist])
    assert min(chosen) >= 40  # the least popular are not even scored
    assert len(rec.recommend([tid(0), tid(4)], k=10).track_ids) == 10


def test_take_reads_rows_as_flat_arrays():
    import scipy.sparse as sp

    from playlist_assets.lib.recommend.features import take

    matrix = sp.csr_matrix(np.array([[0, 2, 0, 3], [0, 0, 0, 0], [5, 0, 7, 0]], dtype=float))
    rows = take(matrix, np.array([2, 0, 1]))
    assert rows.row_of.tolist() == [0, 0, 1, 1]
    assert rows.indices.tolist() == [0, 2, 1, 3] and rows.data.tolist() == [5, 7, 2, 3]
    assert take(matrix, np.array([2, 0]), limit=1).indices.tolist() == [0, 1]
    assert take(matrix.tocsc(), np.array([3])).indices.tolist() == [0]  # a CSC matrix's column
