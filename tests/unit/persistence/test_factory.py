"""Config handling of the factory (duck-typed cfg) and messages that never leak secrets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from persistence.factory import attach, open_instance
from persistence.postgres import describe_dsn
from persistence.store import StoreUnavailable
from system.clock import ManualClock


@pytest.mark.parametrize(("cfg", "message"), [
    (SimpleNamespace(backend="mysql", sqlite_path="/x", postgres_dsn=None), "not one of"),
    (SimpleNamespace(backend="sqlite", sqlite_path="var/x.db", postgres_dsn=None), "absolute"),
    (SimpleNamespace(backend="postgres", sqlite_path="", postgres_dsn=None), "no DSN"),
])
def test_bad_store_config_is_refused_clearly(cfg, message):
    with pytest.raises(StoreUnavailable, match=message):
        open_instance(cfg, ManualClock())
    with pytest.raises(StoreUnavailable, match=message):
        attach(cfg, 1, ManualClock())


def test_dsn_description_never_contains_the_password():
    text = describe_dsn("postgresql://bot:hunter2@db.example:6432/posguard")
    assert text == "host db.example port 6432 dbname posguard user bot"
    assert "hunter2" not in describe_dsn("host=h password='hunter2 x' dbname=d")


def test_an_invalid_dsn_is_refused_without_echoing_it():
    cfg = SimpleNamespace(backend="postgres", sqlite_path="", postgres_dsn="password=hunter2 =")
    with pytest.raises(StoreUnavailable) as err:
        open_instance(cfg, ManualClock())
    assert "hunter2" not in str(err.value) and err.value.__cause__ is None


def test_unwritable_sqlite_folder_is_store_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = SimpleNamespace(backend="sqlite", sqlite_path=str(blocker / "var" / "s.db"),
                          postgres_dsn=None)
    with pytest.raises(StoreUnavailable, match="cannot create the folder"):
        open_instance(cfg, ManualClock())
