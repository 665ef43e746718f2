"""The "try it" cell: a playlist reference in, the recommended songs out, as a table.

References are resolved by the resolver the ``playlist-assets recommend`` command uses
(lib/recommend/playlist_refs.py) with files turned off — a Spotify playlist URL/URI, ``mpd:<pid>`` or pasted
track ids — and the songs come from the same recommender, loaded once per kernel: the page and the
CLI always agree.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import pandas as pd

from playlist_assets import settings
from playlist_assets.dashboard import data

FORM_CLASS, OUTPUT_CLASS, TABLE_CLASS, ERROR_CLASS = (
    "tryit-form",
    "tryit-output",
    "tryit-table",
    "tryit-error",
)


class TryItError(ValueError):
    """A reference or request the form cannot answer; the message is shown under the form."""


@lru_cache(maxsize=2)
def _recommender(data_home: str) -> Any:
    import duckdb

    from playlist_assets.lib.classifier.artifacts import ArtifactError
    from playlist_assets.lib.recommend.load import load_recommender

    try:
        return load_recommender(data_home)
    except ArtifactError as exc:
        raise TryItError(str(exc)) from exc
    except duckdb.Error as exc:
        raise TryItError(
            f"The warehouse is busy or unreadable ({exc}); try again in a moment."
        ) from exc


def strategies() -> tuple[str, ...]:
    from playlist_assets.lib.recommend.names import DEFAULT_STRATEGY, STRATEGIES

    return (DEFAULT_STRATEGY, *[s for s in STRATEGIES if s != DEFAULT_STRATEGY])


def resolve(reference: str) -> tuple[list[str], list[str | None] | None, str]:
    """Track ids (and artists when known) of a reference, and a label for it.

    A Spotify playlist URL/URI, ``mpd:<pid>`` or pasted track ids, never a path: the page is
    served to a browser, and a typed path must not make the server open one of its files.
    """
    from playlist_assets.lib.recommend.playlist_refs import PlaylistRefError, resolve_playlist

    if not reference.strip():
        raise TryItError("Enter a playlist: a Spotify playlist URL, mpd:<pid> or track ids.")
    import duckdb

    try:
        resolved = resolve_playlist(reference, allow_files=False)
    except PlaylistRefError as exc:
        raise TryItError(str(exc)) from exc
    except duckdb.Error as exc:
        raise TryItError(f"The warehouse is busy ({exc}); try again in a moment.") from exc
    return resolved.tracks, resolved.artists, resolved.label


def recommend_table(
    reference: str, k: int = 20, strategy: str = "hybrid"
) -> tuple[pd.DataFrame, str]:
    """The recommended songs for ``reference`` (best first) and a one-line note about the input."""
    tracks, artists, label = resolve(reference)
    recommender = _recommender(str(settings.data_home()))
    try:
        result = recommender.recommend(tracks, k, strategy, artists=artists)
    except ValueError as exc:
        raise TryItError(f"{label}: {exc}") from exc
    table = result.recommendations.copy()
    table.insert(0, "rank", range(1, len(table) + 1))
    known = len(tracks) - len(result.unknown)
    note = f"{len(table)} songs for {label} (strategy {strategy}); {known} of {len(tracks)} playlist tracks known"
    if result.missing:
        note += f", {len(result.missing)} not in the songs base"
    if result.cold_start and strategy == "hybrid":
        note += (
            "; cold start: none of them is in the playlists data, so audio, genre and artists lead"
        )
    return table, note


def table_html(table: pd.DataFrame, note: str) -> str:
    return f"<p>{html.escape(note)}</p>" + table.to_html(
        index=False, classes=TABLE_CLASS, border=0, float_format="{:.4f}".format
    )


def error_html(message: str) -> str:
    return f'<p class="{ERROR_CLASS}" style="color:#d62728">{html.escape(message)}</p>'


def form(default_reference: str = "") -> Any:
    """The ipywidgets form: reference, strategy and k, and a Recommend button over an output area."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    reference = widgets.Textarea(
        value=default_reference,
        placeholder="https://open.spotify.com/playlist/…  or  mpd:123  or  track ids",
        description="Playlist",
        layout=widgets.Layout(width="640px", height="64px"),
    )
    names = strategies()
    strategy = widgets.Dropdown(options=list(names), value=names[0], description="Strategy")
    k = widgets.BoundedIntText(value=20, min=1, max=500, description="Songs")
    button = widgets.Button(description="Recommend", button_style="primary", icon="music")
    output = widgets.Output()
    output.add_class(OUTPUT_CLASS)

    def on_click(_: Any) -> None:
        button.disabled = True
        with output:
            output.clear_output()
            try:
                table, note = recommend_table(
                    reference.value, k=int(k.value), strategy=str(strategy.value)
                )
                display(HTML(table_html(table, note)))
            except TryItError as exc:
                display(HTML(error_html(str(exc))))
            except Exception as exc:  # shown, not raised: the page must stay usable
                display(HTML(error_html(f"{type(exc).__name__}: {exc}")))
            finally:
                button.disabled = False

    button.on_click(on_click)
    box = widgets.VBox([reference, widgets.HBox([strategy, k, button]), output])
    box.add_class(FORM_CLASS)
    return box


def section(example_reference: str = "", report: bool = False) -> list[Any]:
    """What the "try it" cell shows: the live form, or in a report an example answer."""
    from IPython.display import HTML

    from playlist_assets.dashboard.view import Note, empty_state

    if "song_index" not in data.table_columns():
        return [empty_state("recommender", ["song_index", "track_cooccurrence"])]
    if not (settings.models_dir() / "track_cooccurrence").exists():
        return [empty_state("recommender", ["track_cooccurrence"])]
    reference = example_reference or data.example_playlist_ref()
    if not report:
        return [form(reference)]
    out: list[Any] = [
        Note(
            "The form is live in `playlist-assets dashboard`; here is its answer for an example playlist."
        )
    ]
    if reference:
        try:
            table, note = recommend_table(reference)
            out.append(HTML(table_html(table, f"{reference}: {note}")))
        except TryItError as exc:
            out.append(HTML(error_html(str(exc))))
    return out
