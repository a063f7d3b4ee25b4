"""Step 11 changes and copies only the app's own files, whatever links the app leaves: its outage
check overwrites the header of data/notes.db and puts it back (never a file of the host that a
link, or a data folder that is a link, names, even one changed meanwhile), and a fresh folder
gets the database the start command made, never a file of the host."""

from __future__ import annotations

import contextlib
import importlib
import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from grader.engine.limits import Limits
from grader.engine.scratch import Scratch
from grader.feedback import CheckFailure

KEPT = b"SQLite format 3\x00 of the host: the instructor's, never the grader's to change" * 3


class LinkingServer:
    """An app as the check sees it, which answers /health 200 every time, and leaves at
    data/notes.db (`how`: "file") or at data (`how`: "folder") a link to the host's `first`,
    then, once the check has had its first answer, to `second`."""

    def __init__(self, folder: Path, *args: Any, how: str, first: Path, second: Path, **kwargs: Any) -> None:
        self.folder, self.how, self.targets = folder, how, [first, second]
        self.process = SimpleNamespace(returncode=lambda: None)

    def start(self) -> LinkingServer:
        self._link(self.targets[0])
        return self

    def _link(self, target: Path) -> None:
        data = self.folder / "data"
        place = data / "notes.db" if self.how == "file" else data
        if place.is_symlink() or place.is_file():
            place.unlink()
        elif place.exists():
            place.rmdir()
        place.symlink_to(target if self.how == "file" else target.parent)

    def request(self, method: str, path: str) -> httpx.Response:
        self.asked = getattr(self, "asked", 0) + 1
        if self.asked == 2:  # while the grader holds the header it took: to another file
            self._link(self.targets[1])
        return httpx.Response(200, json={"status": "ok"})

    def expect(self, response: httpx.Response, codes: tuple[int, ...]) -> Any:
        return response.json()


@pytest.fixture(autouse=True)
def check_marker(pytestconfig: pytest.Config) -> None:
    pytestconfig.addinivalue_line("markers", "persistlab(points, task): a check of the course")


@pytest.mark.parametrize("how", ["file", "folder"])
def test_the_outage_changes_no_file_of_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                how: str) -> None:
    step11 = importlib.import_module("grader.checks.step11_ship_it")
    host = [tmp_path / "host-a" / "notes.db", tmp_path / "host-b" / "notes.db"]
    for path in host:
        path.parent.mkdir()
        path.write_bytes(KEPT)
    app = tmp_path / "submission"
    app.mkdir()
    monkeypatch.setattr(step11, "RealServer", lambda *args, **kwargs: LinkingServer(
        *args, how=how, first=host[0], second=host[1]))
    scratch = Scratch(app)
    try:
        with pytest.raises(CheckFailure, match="did not create that file"):
            step11.test_health_needs_the_database(SimpleNamespace(folder=app), scratch, Limits(),
                                                  tmp_path, [], ())
    finally:
        scratch.cleanup()
    assert [path.read_bytes() for path in host] == [KEPT, KEPT]


@pytest.mark.parametrize("name", ["steal.db", "data/steal.db"])
def test_a_fresh_folder_copies_no_file_of_the_host(tmp_path: Path, name: str) -> None:
    """What the start command left that a fresh copy leaves out (its database) is carried to the
    next folder, but never a link's target: the next app would read a file of the host."""
    step11 = importlib.import_module("grader.checks.step11_ship_it")
    secret = tmp_path / "host" / "shadow"
    secret.parent.mkdir()
    secret.write_text("the host's, readable by root alone")
    ran, fresh = tmp_path / "ran", tmp_path / "fresh"
    (ran / "data").mkdir(parents=True)
    (ran / "data" / "notes.db").write_bytes(KEPT)
    (ran / name).symlink_to(secret)
    (fresh / "data").mkdir(parents=True)
    step11.copy_left_out(ran, fresh)
    assert (fresh / "data" / "notes.db").read_bytes() == KEPT
    assert not (fresh / name).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a grader running as root shuts its checkpoint in the folder")
def test_the_wal_checkpoint_reaches_no_database_of_the_host(tmp_path: Path) -> None:
    """The app's WAL database, once the check has opened it, replaced by a link to a database of
    the host in WAL mode: SQLite, opening it by name, would checkpoint the host's log into it."""
    step11 = importlib.import_module("grader.checks.step11_ship_it")
    folder, host = tmp_path / "app", tmp_path / "quiz.db"
    (folder / "data").mkdir(parents=True)
    own = folder / "data" / "notes.db"
    for path in (own, host):
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY)")
            conn.commit()
    kept = sqlite3.connect(host)  # the host's server, running: its log holds what it wrote
    kept.execute("PRAGMA wal_autocheckpoint = 0")
    kept.execute("INSERT INTO answers DEFAULT VALUES")
    kept.commit()
    log = host.with_name("quiz.db-wal").stat().st_size
    db = os.open(own, os.O_RDWR | os.O_NOFOLLOW)
    try:
        own.unlink()
        own.symlink_to(host)
        step11._checkpoint(folder, db)
        assert log > 0 and host.with_name("quiz.db-wal").stat().st_size == log
    finally:
        os.close(db)
        kept.close()
