"""Config handling of the factory (duck-typed cfg) and messages that never leak secrets."""

from __future__ import annotations

from dataclasses import dataclass
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


def test_a_store_factory_is_scoped_to_main_unless_told_and_survives_pickling():
    import pickle

    from persistence.factory import StoreFactory
    cfg = SimpleNamespace(backend="sqlite", sqlite_path="/x/s.db", postgres_dsn=None)

    legacy, by = StoreFactory(cfg), StoreFactory(cfg, account="by")

    assert (legacy.account, by.account, legacy.for_account("by")) == ("main", "by", by)
    assert pickle.loads(pickle.dumps(StoreFactory(_Target(), "by"))) == StoreFactory(
        _Target(), "by")


@pytest.mark.parametrize("bad", ["", "Main", "9a", "a_b", "abcdefghijklm"])
def test_a_store_factory_for_a_bad_account_name_is_refused_where_it_is_built(bad):
    from persistence.factory import StoreFactory
    cfg = SimpleNamespace(backend="sqlite", sqlite_path="/x/s.db", postgres_dsn=None)
    with pytest.raises(ValueError, match=f"account {bad!r} is not a valid account name"):
        StoreFactory(cfg, account=bad)
    with pytest.raises(ValueError, match="not a valid account name"):
        StoreFactory(cfg).for_account(bad)
    with pytest.raises(ValueError, match="not a valid account name"):
        attach(cfg, 1, ManualClock(), account=bad)


@dataclass(frozen=True)
class _Target:
    """A picklable stand-in for system.config.StoreTarget."""

    backend: str = "sqlite"
    sqlite_path: str = "/x/s.db"
    postgres_dsn: str | None = None
