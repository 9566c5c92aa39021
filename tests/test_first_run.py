"""The first hour: `newsmon init` writes the shipped configuration, a missing config directory
is named with a way out, `--config` goes before or after the command, an empty hits list says
what to do next, and a crawl with no network is a short summary, not pages of logs.
The CLI in process (click's CliRunner), but for one subprocess crawl: its log lines are what
a user sees."""

from __future__ import annotations

import os
import pty
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crawler.cli.main import cli
from crawler.config.files import CONFIG_FILES
from crawler.schedule.live_view import CLEAR_LINE
from crawler.store.database import engine_for
from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, corpus_page, rss2
from tests.test_cli_inputs import database_of, store_with


@pytest.fixture(autouse=True)
def _no_newsmon_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSMON_DATABASE", "NEWSMON_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def newsmon(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


# --- init --------------------------------------------------------------------------------------


def test_init_writes_the_shipped_configuration(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "conf"
    result = newsmon("init", str(target))
    assert result.exit_code == 0, result.output
    for name in CONFIG_FILES:
        assert (target / name).read_bytes() == (REPO / "config" / name).read_bytes()
    assert f"Next: newsmon --config {target} config check" in result.output
    # What init wrote is a working configuration.
    assert newsmon("config", "check", "--config", str(target)).exit_code == 0


def test_init_defaults_to_the_config_directory_of_the_environment(tmp_path: Path) -> None:
    target = tmp_path / "from-env"
    result = newsmon("init", env={"NEWSMON_CONFIG": str(target)})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == sorted(CONFIG_FILES)


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "conf"
    target.mkdir()
    (target / "topics.yaml").write_text("topics: []\n")
    refused = newsmon("init", str(target))
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        f"Error: {target} already has topics.yaml: nothing written (--force overwrites them)"
    )
    assert (target / "topics.yaml").read_text() == "topics: []\n"
    assert not (target / "settings.yaml").exists()
    forced = newsmon("init", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert (target / "topics.yaml").read_bytes() == (REPO / "config" / "topics.yaml").read_bytes()


def test_init_into_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = newsmon("init", str(blocker / "conf"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write {blocker / 'conf'}")


# --- a missing config directory ------------------------------------------------------------------


def test_missing_default_config_names_the_directory_and_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = newsmon("hits")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: config: config directory not found: {tmp_path / 'config'} (the default; "
        "choose another with --config DIR or $NEWSMON_CONFIG); "
        "`newsmon init config` writes the shipped one there"
    )


@pytest.mark.parametrize("how", ["option", "environment"])
def test_missing_chosen_config_says_who_chose_it(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nowhere"
    if how == "option":
        result = newsmon("hits", "--config", str(missing))
        chosen = "given by --config"
    else:
        result = newsmon("hits", env={"NEWSMON_CONFIG": str(missing)})
        chosen = "given by $NEWSMON_CONFIG"
    assert result.exit_code == 2
    assert f"config directory not found: {missing} ({chosen})" in result.stderr
    assert f"`newsmon init {missing}`" in result.stderr


# --- --config before or after the command ------------------------------------------------------


def test_config_before_and_after_the_command(make_config: Callable[..., Path]) -> None:
    config = make_config(
        [{"name": "wire", "url": "https://example.org/feed.xml"}],
        [{"name": "nato", "any": ["NATO"]}],
    )
    store_with(config, ["NATO opens an AI office"])
    after = newsmon("sources", "list", "--config", str(config))
    before = newsmon("--config", str(config), "sources", "list")
    assert after.exit_code == before.exit_code == 0, (after.output, before.output)
    assert "wire" in before.output and before.output == after.output
    # The command's own --config wins over the one before the command name.
    other = make_config([{"name": "other-wire", "url": "https://example.com/feed.xml"}], name="b")
    both = newsmon("--config", str(config), "sources", "list", "--config", str(other))
    assert "other-wire" in both.output and "wire " not in both.output.replace("other-wire", "")


# --- empty states -----------------------------------------------------------------------------


def test_hits_on_an_empty_store_says_to_crawl(make_config: Callable[..., Path]) -> None:
    config = make_config([{"name": "wire", "url": "https://example.org/feed.xml"}])
    engine_for(database_of(config))  # creates the store, empty
    result = newsmon("hits", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "No hits: no article stored yet. Run `newsmon crawl` to fetch the sources."
    )


def test_hits_with_articles_but_none_tagged_points_at_status_and_topics(
    make_config: Callable[..., Path],
) -> None:
    config = make_config(
        [{"name": "wire", "url": "https://example.org/feed.xml"}],
        [{"name": "nato", "any": ["NATO"]}],
    )
    store_with(config, ["Weather", "Sport"])  # stored untagged
    result = newsmon("hits", "--config", str(config), "--topic", "nato", "--since", "7d")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("No hits for topic nato since 7d: 2 article(s) stored")
    assert "`newsmon sources status`" in text and "`newsmon topics test --url URL`" in text


# --- a crawl without network ---------------------------------------------------------------------


def test_crawl_without_network_is_a_short_summary(make_config: Callable[..., Path]) -> None:
    """Hosts that never resolve (RFC 2606 `.invalid`) and a port where nothing listens: the
    summary names each failure in one line; standard error stays empty at the default level
    and has one line per failed source at INFO; no traceback at any level but DEBUG."""
    with socket.socket() as probe:  # a free port, closed again: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sources = [{"name": f"outlet-{n}", "url": f"https://outlet-{n}.invalid/feed"} for n in range(4)]
    sources.append({"name": "local", "url": f"http://127.0.0.1:{port}/feed"})
    config = make_config(sources, [{"name": "nato", "any": ["NATO"]}], retry_times=2)

    quiet = run_cli("crawl", "--config", str(config))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    summary = quiet.stdout.splitlines()
    assert summary[0] == "Sources: 0 ok, 0 degraded, 5 failed"
    for n in range(4):
        assert f"  outlet-{n}: failed: DNS lookup failed for outlet-{n}.invalid" in summary
    assert [line for line in summary if line.startswith("  local: failed: ")], summary
    assert "refused" in next(line for line in summary if "local:" in line).lower()
    assert len(summary) <= 12, summary

    told = run_cli("crawl", "--config", str(config), "--log-level", "INFO")
    assert "Traceback" not in told.stderr
    failures = [line for line in told.stderr.splitlines() if " failed: " in line]
    assert len(failures) == 5, told.stderr
    for name in [f"outlet-{n}" for n in range(4)] + ["local"]:
        assert len([line for line in failures if f"Source {name}:" in line]) == 1, failures


def test_crawl_shows_progress_on_a_terminal(site, make_config: Callable[..., Path]) -> None:
    """With standard error on a terminal (a pty here), a status line counts the sources done,
    the pages and the new articles while the crawl runs, and is cleared before the summary;
    standard output, a pipe, gets the summary only."""
    items = []
    for n in range(3):
        _, body = corpus_page("en", n)
        items.append((f"Story {n}", site.add(f"/story/{n}", body, delay=1.0)))
    site.add("/feed.xml", rss2(items), content_type="application/rss+xml")
    config = make_config(
        [{"name": "wire", "url": site.url("/feed.xml")}], TOPICS, concurrent_requests_per_host=1
    )
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        text=True,
    )
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the crawl closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    out, _ = process.communicate(timeout=120)
    os.close(leader)
    assert process.returncode == 0, terminal.decode(errors="replace")
    screen = terminal.decode()
    assert "crawl: 0/1 sources done" in screen, screen
    assert re.search(r"crawl: [01]/1 sources done, [1-4] pages \(\d+\.\d/s\), [0-3] new", screen)
    assert screen.endswith(CLEAR_LINE), screen[-200:]  # nothing left under the summary
    assert out.startswith("Sources: 1 ok") and "crawl:" not in out


# --- sources add and import ----------------------------------------------------------------------


def test_sources_add_of_a_configured_feed_says_so_first(site, make_config) -> None:
    feed = site.add("/feed.xml", rss2([("Story", site.url("/story"))]))
    config = make_config([{"name": "wire", "url": feed}])
    result = newsmon("sources", "add", "--config", str(config), feed + "#top", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output == f"{feed}#top is already source 'wire'; nothing added.\n"
    assert site.hits == {}  # said before any discovery or preview


def test_sources_add_of_an_unreachable_site_does_not_suggest_a_listing(make_config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config([])
    result = newsmon("sources", "add", "--config", str(config), f"http://127.0.0.1:{port}/")
    assert result.exit_code == 2
    assert f"nothing found at http://127.0.0.1:{port}/: it could not be read (tried 1 URL," in (
        result.stderr
    )
    assert "--kind listing" not in result.output + result.stderr


def test_sources_import_names_from_titles_and_lists_what_it_skipped(
    make_config, tmp_path: Path
) -> None:
    config = make_config([{"name": "wire", "url": "https://wire.example/feed.xml"}])
    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><body>
        <outline text="Le Monde – Pixels" xmlUrl="https://www.lemonde.fr/pixels/rss_full.xml"/>
        <outline text="Wire" xmlUrl="https://wire.example/feed.xml"/>
        <outline text="Broken" xmlUrl="feed:nothing"/>
        </body></opml>""",
        encoding="utf-8",
    )
    result = newsmon("sources", "import", "--config", str(config), str(opml))
    assert result.exit_code == 0, result.output
    assert "  skipped 'Broken': xmlUrl is not an http(s) URL: 'feed:nothing'" in result.output
    assert "  skipped 'Wire': already source 'wire'" in result.output
    assert result.output.endswith(f"Imported 1 feeds from {opml}; skipped 2.\n")
    assert "name: le-monde-pixels" in (config / "sources.yaml").read_text()
