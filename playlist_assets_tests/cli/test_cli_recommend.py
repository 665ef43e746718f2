"""``playlist-assets recommend``: every kind of playlist reference, batch mode, and bad input."""

import gzip
import json
from pathlib import Path

import pytest
from fake_spotify import FakeSpotify, Fault  # noqa: E402
from materialized_sample import materialize_sample

from playlist_assets import cli

SPOTIFY_PLAYLIST = "37i9dQZF1DXcBWIGoYBM5M"


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("playlist_assets.cli.recommend",))
    return cli.main


@pytest.fixture(scope="module")
def materialized(tmp_path_factory) -> dict:
    """A data folder as a Dagster run leaves it: song_index and playlists in DuckDB, pickles."""
    home = tmp_path_factory.mktemp("home")
    return materialize_sample(home, home / "sample.json")


@pytest.fixture
def home(materialized, monkeypatch) -> dict:
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(materialized["home"]))
    return materialized


def tracks_of(home: dict, pid: int) -> list[str]:
    frame = home["playlists"]
    return frame[frame["pid"] == pid].sort_values("pos")["track_id"].tolist()


def test_mpd_reference_prints_a_ranked_table(home, run_cli, capsys):
    assert run_cli(["recommend", "--playlist", "mpd:3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("20 songs for mpd:3 (strategy hybrid)")
    lines = out.strip().splitlines()
    assert lines[2].split()[:3] == ["rank", "track_id", "track_name"]
    assert len(lines) == 3 + 20
    recommended = [line.split()[1] for line in lines[3:]]
    assert not set(recommended) & set(tracks_of(home, 3))


def test_track_file_with_json_output_honours_k_and_strategy(home, run_cli, capsys, tmp_path):
    seeds = tracks_of(home, 5)[:6]
    ids = tmp_path / "tracks.txt"
    ids.write_text(
        "# my playlist\n"
        + f"spotify:track:{seeds[0]}\n{seeds[1]}, {seeds[2]}\n\n"
        + f"https://open.spotify.com/track/{seeds[3]}?si=abc\n"
        + "\n".join(seeds[4:])
    )
    assert (
        run_cli(
            [
                "recommend",
                "--playlist",
                str(ids),
                "--k",
                "12",
                "--strategy",
                "cluster",
                "--format",
                "json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["strategy"] == "cluster" and document["k"] == 12
    recommended = [r["track_id"] for r in document["recommendations"]]
    assert len(recommended) == 12 and len(set(recommended)) == 12
    assert not set(recommended) & set(seeds)
    assert set(document["recommendations"][0]) == {
        "track_id",
        "track_name",
        "artists",
        "track_genre",
        "cluster",
        "new",
        "score",
    }


@pytest.mark.parametrize("gz", [False, True])
def test_batch_writes_one_json_line_per_playlist(home, run_cli, capsys, tmp_path, gz):
    document = json.loads(Path(home["source"]).read_text())
    document["playlists"] = document["playlists"][:25]
    document["playlists"].append({"pid": 999, "name": "empty", "tracks": []})  # title only
    source = tmp_path / ("in.json.gz" if gz else "in.json")
    if gz:
        with gzip.open(source, "wt") as fh:
            json.dump(document, fh)
    else:
        source.write_text(json.dumps(document))
    out = tmp_path / "out.jsonl"
    assert run_cli(["recommend", "--input", str(source), "--k", "30", "--output", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["pid"] for line in lines] == [p["pid"] for p in document["playlists"]]
    for line, playlist in zip(lines, document["playlists"], strict=True):
        assert len(line["recommendations"]) == 30
        given = {t["track_uri"].split(":")[-1] for t in playlist["tracks"]}
        assert not given & set(line["recommendations"])
    assert "26 playlists" in capsys.readouterr().err


def test_batch_to_stdout(home, run_cli, capsys, tmp_path):
    document = json.loads(Path(home["source"]).read_text())
    document["playlists"] = document["playlists"][:3]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(document))
    assert run_cli(["recommend", "--input", str(source), "--k", "5", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [len(json.loads(line)["recommendations"]) for line in lines] == [5, 5, 5]


def test_spotify_playlist_is_read_through_the_web_api(home, run_cli, capsys, monkeypatch):
    seeds = tracks_of(home, 2)[:8]
    page = {
        "items": [
            {"track": {"id": t, "type": "track", "artists": [{"name": "Someone"}]}} for t in seeds
        ]
        + [{"track": None}, {"track": {"id": "ep1", "type": "episode"}}],
        "next": None,
    }
    with FakeSpotify() as api:
        api.fail(f"playlists/{SPOTIFY_PLAYLIST}/items", Fault(status=200, body=page))
        monkeypatch.setenv("SPOTIPY_CLIENT_ID", api.client_id)
        monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", api.client_secret)
        monkeypatch.setenv("SPOTIFY_API_URL", api.api_url)
        monkeypatch.setenv("SPOTIFY_TOKEN_URL", api.token_url)
        url = f"https://open.spotify.com/playlist/{SPOTIFY_PLAYLIST}?si=xyz"
        assert run_cli(["recommend", "--playlist", url, "--k", "10", "--format", "json"]) == 0
        assert len(api.calls(f"playlists/{SPOTIFY_PLAYLIST}/items")) == 1
    document = json.loads(capsys.readouterr().out)
    recommended = [r["track_id"] for r in document["recommendations"]]
    assert len(recommended) == 10 and not set(recommended) & set(seeds)


def test_spotify_errors_are_one_clear_line(home, run_cli, capsys, monkeypatch):
    with FakeSpotify() as api:
        api.fail(f"playlists/{SPOTIFY_PLAYLIST}/items", Fault(status=404))
        monkeypatch.setenv("SPOTIPY_CLIENT_ID", api.client_id)
        monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", api.client_secret)
        monkeypatch.setenv("SPOTIFY_API_URL", api.api_url)
        monkeypatch.setenv("SPOTIFY_TOKEN_URL", api.token_url)
        code = run_cli(["recommend", "--playlist", f"spotify:playlist:{SPOTIFY_PLAYLIST}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"playlist-assets recommend: error: Spotify playlist {SPOTIFY_PLAYLIST}")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--playlist", f"https://open.spotify.com/playlist/{SPOTIFY_PLAYLIST}"],
            "needs SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET",
        ),
        (["--playlist", "https://open.spotify.com/album/abc"], "is not a Spotify playlist URL"),
        (["--playlist", "mpd:abc"], "mpd:abc is not a playlist id"),
        (["--playlist", "mpd:123456"], "no playlist with pid 123456"),
        (
            ["--playlist", "no/such/file.txt"],
            "neither a Spotify playlist URL, mpd:<pid>, nor an existing file",
        ),
        (["--playlist", "mpd:1", "--k", "0"], "--k must be a positive number"),
        (["--playlist", "mpd:1", "--format", "jsonl"], "jsonl is for batch mode"),
        (["--input", "x.json", "--format", "table"], "use --format jsonl"),
        (["--input", "missing.json"], "missing.json: no such MPD file"),
    ],
)
def test_bad_references_exit_2_with_one_message(home, run_cli, capsys, args, message):
    assert run_cli(["recommend", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_track_files_name_the_line(home, run_cli, capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("4uLU6hMCjMI75M1A2tKUQC\nnot-a-track\n")
    assert run_cli(["recommend", "--playlist", str(bad)]) == 2
    assert f"{bad}, line 2: 'not-a-track' is not a Spotify track id" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert run_cli(["recommend", "--playlist", str(empty)]) == 2
    assert "holds no track ids" in capsys.readouterr().err


def test_unknown_tracks_only_is_a_clear_error(home, run_cli, capsys, tmp_path):
    ids = tmp_path / "unknown.txt"
    ids.write_text("0000000000000000000000\n1111111111111111111111\n")
    assert run_cli(["recommend", "--playlist", str(ids)]) == 2
    assert "none of the playlist's 2 track(s) is in the songs base" in capsys.readouterr().err


def test_malformed_batch_file_names_the_file(home, run_cli, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"playlists": [{"pid": 1, "tracks": [{"track_uri": "spotify:track:x"}]}, {"pid": '
    )
    assert run_cli(["recommend", "--input", str(bad), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "malformed JSON" in err
    no_uri = tmp_path / "no_uri.json"
    no_uri.write_text(json.dumps({"playlists": [{"pid": 4, "tracks": [{"track_name": "x"}]}]}))
    assert run_cli(["recommend", "--input", str(no_uri)]) == 2
    assert "playlist #0 (pid 4): track 0 has no 'track_uri'" in capsys.readouterr().err


def test_unknown_strategy_is_refused_by_the_parser(home, run_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(["recommend", "--playlist", "mpd:1", "--strategy", "magic"])
    assert exit_.value.code == 2
    assert "invalid choice: 'magic'" in capsys.readouterr().err


def test_without_a_materialization_the_cli_says_what_to_do(data_home, run_cli, capsys, tmp_path):
    ids = tmp_path / "t.txt"
    ids.write_text("4uLU6hMCjMI75M1A2tKUQC\n")
    assert run_cli(["recommend", "--playlist", str(ids)]) == 2
    assert "materialize" in capsys.readouterr().err
    assert run_cli(["recommend", "--playlist", "mpd:1"]) == 2
    assert "materialize" in capsys.readouterr().err
