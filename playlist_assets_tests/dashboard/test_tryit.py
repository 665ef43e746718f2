"""The "try it" form's logic: references in, a ranked table (or one clear message) out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from playlist_assets.dashboard import tryit

JAZZ = "4Kh6cq3XgOGUK9yXQu7RTq"
ROCK = "6Oq3A4IxlvSU2PQVWb7D3G"


@dataclass
class FakeResult:
    recommendations: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    cold_start: bool = False


class FakeRecommender:
    """Stands in for lib.recommend.recommender.Recommender (its own tests cover the ranking)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def recommend(self, tracks, k, strategy, *, artists=None) -> FakeResult:
        self.calls.append((list(tracks), k, strategy, artists))
        if not tracks:
            raise ValueError("no usable track")
        songs = pd.DataFrame(
            {
                "track_id": [f"id{i}" for i in range(k)],
                "track_name": [f"song {i}" for i in range(k)],
                "artists": ["someone"] * k,
                "track_genre": ["jazz"] * k,
                "cluster": [0] * k,
                "score": [1.0 - i / 100 for i in range(k)],
            }
        )
        return FakeResult(songs, missing=[ROCK], unknown=[ROCK], cold_start=True)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRecommender:
    recommender = FakeRecommender()
    monkeypatch.setattr(tryit, "_recommender", lambda home: recommender)
    return recommender


def test_pasted_ids_uris_and_urls_are_read_as_a_playlist() -> None:
    text = f"{JAZZ}, spotify:track:{ROCK}\nhttps://open.spotify.com/track/{JAZZ}?si=x"
    tracks, artists, label = tryit.resolve(text)
    assert tracks == [JAZZ, ROCK, JAZZ]
    assert artists is None and label == "3 pasted track(s)"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("   ", "Enter a playlist"),
        ("mpd:abc", "not a playlist id"),
        ("https://open.spotify.com/album/" + JAZZ, "not a Spotify playlist URL"),
        ("no such thing", "neither a Spotify playlist URL"),
    ],
)
def test_bad_references_give_one_clear_message(
    empty_home: Path, reference: str, message: str
) -> None:
    with pytest.raises(tryit.TryItError, match=message):
        tryit.resolve(reference)


def test_stored_mpd_playlists_resolve_through_the_cli_resolver(filled_home: Path) -> None:
    from playlist_assets.dashboard import data

    reference = data.example_playlist_ref()
    tracks, artists, label = tryit.resolve(reference)
    assert len(tracks) >= 5 and label == reference
    assert artists is not None and len(artists) == len(tracks)


def test_recommend_table_ranks_and_explains(fake: FakeRecommender, empty_home: Path) -> None:
    table, note = tryit.recommend_table(f"{JAZZ} {ROCK}", k=12, strategy="hybrid")
    assert list(table["rank"]) == list(range(1, 13))
    assert list(table.columns[:3]) == ["rank", "track_id", "track_name"]
    assert fake.calls == [([JAZZ, ROCK], 12, "hybrid", None)]
    assert "12 songs for 2 pasted track(s) (strategy hybrid)" in note
    assert "1 of 2 playlist tracks known, 1 not in the songs base" in note
    assert "cold start" in note
    html = tryit.table_html(table, note)
    assert html.count("</tr>") == 13 and tryit.TABLE_CLASS in html


def test_the_recommenders_refusal_becomes_a_message(
    fake: FakeRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tryit, "resolve", lambda ref: ([], None, "mpd:1"))
    with pytest.raises(tryit.TryItError, match="mpd:1: no usable track"):
        tryit.recommend_table("mpd:1")


def test_missing_models_are_named(empty_home: Path) -> None:
    tryit._recommender.cache_clear()
    with pytest.raises(tryit.TryItError, match="materialize"):
        tryit._recommender(str(empty_home))


def test_section_without_a_recommender_says_what_to_materialize(filled_home: Path) -> None:
    # The stand-in has song_index but no track_cooccurrence model.
    items = tryit.section()
    assert len(items) == 1 and "`track_cooccurrence`" in items[0]


def test_live_section_is_a_form(
    filled_home: Path, fake: FakeRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "exists", lambda self: True)  # pretend track_cooccurrence exists
    (form,) = tryit.section(f"{JAZZ} {ROCK}")
    assert tryit.FORM_CLASS in form._dom_classes
    textarea, controls, output = form.children
    assert textarea.value == f"{JAZZ} {ROCK}"
    strategy, k, button = controls.children
    assert strategy.value == "hybrid" and k.value == 20
    assert tryit.OUTPUT_CLASS in output._dom_classes


def test_report_section_shows_an_example_answer(
    filled_home: Path, fake: FakeRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "exists", lambda self: True)
    note, answer = tryit.section(f"{JAZZ} {ROCK}", report=True)
    assert "playlist-assets dashboard" in note
    assert answer.data.count("</tr>") == 21


@pytest.mark.parametrize("as_typed", ["{path}", "~/{name}", "file://{path}"])
def test_a_path_is_refused_without_opening_it(
    empty_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_typed: str
) -> None:
    # A file of valid track ids: were the form to read it, it would resolve.
    secret = tmp_path / "ids.txt"
    secret.write_text(f"{JAZZ}\n{ROCK}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    opened: list[str] = []
    real_open = open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(Path, "is_file", lambda self: opened.append(str(self)) or True)
    reference = as_typed.format(path=secret, name=secret.name)
    with pytest.raises(tryit.TryItError) as refused:
        tryit.resolve(reference)
    assert "command line only" in str(refused.value)
    assert JAZZ not in str(refused.value)
    assert not [p for p in opened if secret.name in p]


def test_etc_passwd_is_not_quoted(empty_home: Path) -> None:
    with pytest.raises(tryit.TryItError) as refused:
        tryit.resolve("/etc/passwd")
    assert "root" not in str(refused.value) and "files of ids" in str(refused.value)
