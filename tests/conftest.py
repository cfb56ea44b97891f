"""Shared fixtures live in tests/fixtures/ (one plugin module per real part)."""

pytest_plugins = [
    "tests.fixtures.pg",
    "tests.fixtures.sim",
    "tests.fixtures.engine",
    "tests.fixtures.launcher",
    "tests.fixtures.venues",
]
