"""``shoprec users forget`` / ``unforget`` through the Typer app, on a temporary home (#18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoprec.cli.data_import  # noqa: F401  (registers the commands)
import shoprec.cli.users  # noqa: F401
from shoprec.cli.app import app
from shoprec.events import REJECTS_FOLDER, SQLiteEventStore

EVENTS = "user_id,item_id,event_type,timestamp\ngone,a,view,1\nkept,b,view,2\ngone,c,view,3\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOPREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def users(home: Path) -> list[str]:
    with SQLiteEventStore(home / "shoprec.db") as store:
        return store.users()


def test_forget_keeps_a_shopper_out_of_reimports_until_unforget(home: Path, tmp_path: Path) -> None:
    """#18: a forgotten shopper came back with the next import of the same file."""
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,event_type\ngone,x,teleport\n")
    run("data", "import", str(events))
    run("data", "import", str(bad), "--skip-invalid")  # rejects under HOME/rejects by default
    elsewhere = tmp_path / "mine.rejects.csv"
    run("data", "import", str(bad), "--skip-invalid", "--rejects", str(elsewhere))
    assert users(home) == ["gone", "kept"]
    assert "gone" in (home / REJECTS_FOLDER / "bad.rejects.csv").read_text()

    output = run("users", "forget", "gone")

    assert "2 events and 1 rejected rows deleted" in output
    assert users(home) == ["kept"]
    assert "gone" not in (home / REJECTS_FOLDER / "bad.rejects.csv").read_text()
    assert "gone" in elsewhere.read_text()  # the operator's own file is theirs to handle
    run("data", "import", str(events))
    assert users(home) == ["kept"]  # their rows were not stored again

    assert "accepted again" in run("users", "unforget", "gone")
    assert "not forgotten" in run("users", "unforget", "gone")
    run("data", "import", str(events))
    assert users(home) == ["kept", "gone"]
