"""The simulator's listeners and in-process ranker, from a materialized data folder.

Listeners are the held-out playlists of the serving co-occurrence (never learned from), as
continuation cases over the serving songs. The offline ranker serves the champion, and the
challenger when ``recommendation_eval`` kept one, as the API would.
"""

from __future__ import annotations

from pathlib import Path

from playlist_assets.lib.constants import DataFolder
from playlist_assets.lib.feedback.contract import CHALLENGER
from playlist_assets.lib.feedback.simulate import Listener, Ranker, listeners_from


def held_out_listeners(
    data_home: Path, limit: int | None = None, per_playlist: int = 1
) -> list[Listener]:
    """Listeners from the held-out playlists of the materialized ``playlists`` table
    (``per_playlist`` of them per playlist: ``simulate.listeners_from``)."""
    import duckdb
    import numpy as np

    from playlist_assets.lib.recommend import champion
    from playlist_assets.lib.recommend.cooccurrence import continuation_cases, split_playlists
    from playlist_assets.lib.recommend.load import serving_songs
    from playlist_assets.lib.recommend.settings import SplitSpec

    folder = DataFolder.at(Path(data_home))
    with duckdb.connect(str(folder.warehouse), read_only=True) as con:
        playlists = con.execute("select * from main.playlists").df()
        catalogue = serving_songs(con)["track_id"].astype(str).tolist()
    try:
        cooccurrence, _ = champion.serving(folder.models)
        holdout = np.asarray(cooccurrence.split["holdout_pids"])
    except Exception:  # noqa: BLE001 - no model yet: the default split names the same pids
        spec = SplitSpec()
        split = split_playlists(
            playlists["pid"].unique(), spec.holdout_fraction, spec.validation_fraction, spec.salt
        )
        holdout = split.index[split == "holdout"].to_numpy()
    cases = continuation_cases(playlists, holdout, catalogue)
    listeners = listeners_from(cases, per_playlist)
    return listeners[:limit] if limit else listeners


def offline_ranker(data_home: Path, strategy: str = "hybrid", k: int = 10) -> tuple[Ranker, bool]:
    """(arm, seeds) -> (ranked ids, model version), champion and challenger loaded once; and
    whether there is a challenger (without one, every listener gets the champion)."""
    from playlist_assets.lib.recommend import champion
    from playlist_assets.lib.recommend.load import load_recommender

    folder = DataFolder.at(Path(data_home))
    served = {"champion": load_recommender(data_home)}
    versions = {"champion": str(served["champion"].version)}
    other = champion.challenger(folder.models)
    if other is not None:
        served[CHALLENGER] = served["champion"].with_cooccurrence(other[0])
        versions[CHALLENGER] = other[1].version

    def rank(arm: str, seeds: tuple[str, ...]) -> tuple[list[str], str]:
        arm = arm if arm in served else "champion"
        result = served[arm].recommend(list(seeds), k, strategy, allow_unknown=True)
        return [str(t) for t in result.track_ids], versions[arm]

    return rank, CHALLENGER in served
