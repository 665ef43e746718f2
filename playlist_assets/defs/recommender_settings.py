"""``recommender_settings``: the playlist split and evaluation settings, set in one place."""

import dagster as dg
from pydantic import Field

from playlist_assets.lib.recommend.names import SPLIT_SALT
from playlist_assets.lib.recommend.settings import SplitSpec

_SPEC = SplitSpec()


class RecommenderSettings(dg.ConfigurableResource):
    """How playlists are split and which of them make evaluation cases: set once, here, for
    both track_cooccurrence (which records it) and recommendation_eval (which checks it)."""

    holdout_fraction: float = Field(
        default=_SPEC.holdout_fraction,
        description="Share of playlists held out for recommendation_eval (never learned from).",
    )
    validation_fraction: float = Field(
        default=_SPEC.validation_fraction,
        description="Share of playlists (inside training) the blends are chosen on.",
    )
    salt: str = Field(default=SPLIT_SALT, description="Key of the playlist split's hash.")
    min_catalogue_tracks: int = Field(
        default=_SPEC.min_catalogue_tracks,
        description="Playlists with fewer distinct catalogue songs are not evaluation cases.",
    )
    strip_fraction: float = Field(
        default=_SPEC.strip_fraction,
        description="Share of the catalogue songs stripped from the training rows: the share of "
        "next songs without evidence the cold-song blend and the merge are tuned for, and the "
        "cold slice recommendation_eval scores.",
    )

    def spec(self) -> SplitSpec:
        return SplitSpec(**self.model_dump())
