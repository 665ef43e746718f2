"""The songs base's public names, where other modules have always imported them.

Typing lives with the judgment (``judge.to_typed``: rows are typed once, when their batch is
judged); combining stored judgments into the songs base lives with the tables (``store.combine``).
"""

from playlist_assets.lib.quality.judge import to_typed
from playlist_assets.lib.quality.store import SongsBase, combine

__all__ = ["SongsBase", "combine", "to_typed"]
