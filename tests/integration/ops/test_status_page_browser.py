"""The status page in a real headless browser: Debian's Chromium driven by Selenium.

One browser for the module (started once, quit at the end, no chromium process left). The
first test runs a real `posguard run` with a protected position and compares the page with
`posguard status --json` and `posguard journal --json`, moves the price and watches the same
page (no reload) follow it. The second feeds a page hand-made values that carry markup, as an
exchange could send, and checks they are shown as text.
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ops.page.journal import JournalReader
from ops.page.service import StatusPage
from persistence.factory import attach, open_instance
from system.clock import ManualClock, SystemClock
from system.launched import free_port, pid_alive
from tests.unit.ops.test_page_status import NOW, entry, status, view

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_SECS = 20
SYM = "BTCUSDT"
SHOWN = ("state", "protection", "side", "qty", "entry_price", "mark_price", "stop_price")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium that reaches nothing but what a test opens; quit afterwards."""
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: ./dev.sh test installs it " \
                                         "(apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path: Selenium Manager stays idle
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(profile / "d.log")),
                              options=options)
    driver.set_page_load_timeout(WAIT_SECS)
    driver.set_script_timeout(WAIT_SECS)
    root = psutil.Process(driver.service.process.pid)
    pids = [root.pid, *(c.pid for c in root.children(recursive=True))]
    try:
        yield driver
    finally:
        driver.quit()
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [p for p in pids if pid_alive(p)]
        for pid in left:
            psutil.Process(pid).kill()
        assert not left, f"chromium processes left after quit: {left}"


def wait(driver, what: str, pred, secs: float = WAIT_SECS):
    """WebDriverWait with a message saying what did not happen."""
    try:
        return WebDriverWait(driver, secs, poll_frequency=0.2).until(lambda d: pred())
    except TimeoutException:
        raise AssertionError(f"timed out after {secs} s waiting for {what}") from None


def cells(driver, symbol: str) -> dict[str, str] | None:
    """The page's row for `symbol`: data-key -> shown text (None: no such row)."""
    return driver.execute_script(
        "const tr = [...document.querySelectorAll('#symbols tbody tr')]"
        "  .find((r) => r.getAttribute('data-symbol') === arguments[0]);"
        "if (!tr) return null; const out = {};"
        "for (const td of tr.children) out[td.getAttribute('data-key')] = td.textContent;"
        "return out;", symbol)


def journal_rows(driver) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#journal tbody tr')]"
        "  .map((tr) => [...tr.children].map((td) => td.textContent));")


def shown_row(driver) -> dict[str, str] | None:
    """The page's row for SYM, the columns status --json also has."""
    c = cells(driver, SYM)
    return None if c is None else {k: c[k] for k in SHOWN}


def as_shown(row: dict) -> dict[str, str]:
    """A status --json row as the page shows it ('-' for null)."""
    return {k: "-" if row[k] is None else str(row[k]) for k in SHOWN}


def shown_journal(driver) -> list[tuple[int, str]]:
    return [(int(seq), kind) for seq, _, kind, _ in journal_rows(driver)]


def wait_agree(driver, what: str, page, cli, ready, same=lambda shown, truth: shown == truth):
    """Wait until the page is `ready`, then until it shows what the CLI says: the CLI is asked
    again only when the page stayed different for 2 s (the system may have moved on)."""
    deadline = time.monotonic() + WAIT_SECS
    wait(driver, f"{what} (page ready)", lambda: ready(page()))
    while True:
        truth = cli()
        try:
            WebDriverWait(driver, 2, poll_frequency=0.2).until(
                lambda d, truth=truth: same(page(), truth))
            return truth
        except TimeoutException:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: page {page()}, "
                                     f"CLI {truth}") from None


def distance_text(row: dict) -> str:
    d = Decimal(row["mark_price"]) - Decimal(row["stop_price"])  # a long
    pct = (d * 100 / Decimal(row["mark_price"])).quantize(Decimal("0.01"))
    return f"+{d} (+{pct}%)"


def chart_now(driver) -> dict | None:
    """The chart as drawn at one instant: its point count, the mark line's points and how
    many stop segments it has (None: not drawn yet)."""
    return driver.execute_script(
        "const c = document.getElementById('chart'), m = document.getElementById('chart-mark');"
        "if (!c || !m) return null;"
        "return {points: parseInt(c.getAttribute('data-points') || '0', 10),"
        "        mark_line: (m.getAttribute('points') || '').split(/\\s+/).filter(Boolean),"
        "        stop_lines: document.querySelectorAll('[id^=chart-stop-]').length};")


def requested_urls(driver) -> list[str]:
    """Every URL the browser asked for since the last call (Chromium's performance log;
    chrome:// and data: ones are its own, never on the network)."""
    out = []
    for e in driver.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m["method"] == "Network.requestWillBeSent":
            out.append(m["params"]["request"]["url"])
    return out


def test_the_page_follows_a_protected_position_live_and_refuses_a_post(systems, browser):
    port = free_port()
    system = systems(f"status_page.port={port}")
    url = f"http://127.0.0.1:{port}/"
    system.control.set_price(SYM, "60000", mark="60000")
    r = system.cli("open", SYM, "--side", "long", "--qty", "0.010")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"status page: {url}" in system.tail(20_000), "the launcher's log names the URL"

    browser.get(url)
    browser.execute_script("window.__samePage = 'not reloaded';")
    before = wait_agree(browser, "the row to show status --json's values",
                        lambda: shown_row(browser), lambda: system.symbols()[SYM],
                        # the stop rests once the fill is in; the first mark comes with the
                        # stream's next push (up to its interval later): wait for both
                        lambda row: row and row["stop_price"] != "-" and row["mark_price"] != "-",
                        lambda shown, truth: shown == as_shown(truth))
    shown = cells(browser, SYM)
    assert shown["distance"] == distance_text(before)
    assert shown["trailing"] == "not yet active"

    browser.find_element(By.CSS_SELECTOR, f"tr[data-symbol='{SYM}'] button.sym").click()
    wait_agree(browser, "the journal of the clicked symbol, as `posguard journal` prints it",
               lambda: shown_journal(browser),
               lambda: [(j["seq"], j["kind"]) for j in reversed(system.json("journal", SYM))
                        ][:50], lambda rows: rows and rows[0][0] >= before["seq"])
    assert browser.find_element(By.ID, "detail-title").text == SYM

    system.control.set_price(SYM, "61000", mark="61000")  # activates trailing: the stop moves
    wait(browser, "the stop to move on the page",
         lambda: (c := cells(browser, SYM))["stop_price"] != before["stop_price"]
         and c["trailing"].startswith("active"))
    after = wait_agree(browser, "the row to show status --json's values after the move",
                       lambda: shown_row(browser), lambda: system.symbols()[SYM],
                       lambda row: True, lambda shown, truth: shown == as_shown(truth))
    assert Decimal(after["stop_price"]) > Decimal(before["stop_price"])
    assert cells(browser, SYM)["distance"] == distance_text(after)
    wait(browser, "the journal to show the stop move",
         lambda: int(journal_rows(browser)[0][0]) >= after["seq"])
    # The page redraws the chart every poll, replacing its elements: each read is one script
    # call, so a redraw between finding an element and reading it cannot make it stale.
    chart = wait(browser, "a chart of mark and stop with two points",
                 lambda: (c := chart_now(browser)) and c["points"] >= 2 and c)
    assert len(chart["mark_line"]) >= 2 and chart["stop_lines"] > 0, chart
    # The mark alone moves (below the peak: no stop move, no state change); the page follows
    # within metrics.refresh_secs, as the actor reports a changed mark at most that often.
    system.control.set_price(SYM, "60900", mark="60900")
    wait(browser, "the mark alone to move on the page",
         lambda: Decimal(cells(browser, SYM)["mark_price"]) == Decimal("60900"))
    assert cells(browser, SYM)["stop_price"] == after["stop_price"]
    assert browser.execute_script("return window.__samePage") == "not reloaded"

    refused = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/status', {method: 'POST', body: 'close BTCUSDT'})"
        "  .then(async (r) => done([r.status, (await r.json()).error]));")
    assert refused[0] == 405 and "read-only" in refused[1]
    truth = system.control.state()  # the exchange: the position and its stop untouched
    assert [Decimal(p["positionAmt"]) for p in truth["positions"] if p["symbol"] == SYM] == [
        Decimal("0.010")]
    assert [str(o["algoId"]) for o in truth["open_algo_orders"] if o["symbol"] == SYM] == [
        after["stop_order_id"]]
    elsewhere = [u for u in requested_urls(browser) if not u.startswith(url)
                 and u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
    assert elsewhere == [], "the page asked for something beyond its own origin"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "405" not in e["message"]]
    assert errors == [], "console errors (a CSP violation would be one)"


@pytest.fixture
def hostile_page(tmp_path: Path):
    """A page fed values with markup in them, as an exchange or an error could carry."""
    target = SimpleNamespace(backend="sqlite", sqlite_path=str(tmp_path / "s.sqlite3"),
                             postgres_dsn=None)
    lock, holder = open_instance(target, ManualClock())
    store = attach(target, holder.epoch, ManualClock(NOW))
    store.append(SYM, expected_seq=0, kind="<b>opened</b>", live=True, correlation_id="c1",
                 payload={"reason": "<img src=x onerror=\"window.__pwned = 1\">"}, state={})
    store.close()
    lock.release()
    page = StatusPage(0, JournalReader(lambda: attach(target, 0, SystemClock())))
    evil = "<img src=x onerror=\"window.__pwned = 2\">"
    page.observe(status(entry(view(seq=1, last_error=evil)),
                        entry(view("<i>X</i>", seq=0), "<i>X</i>")), NOW)
    yield page, evil
    page.close()


def test_values_carrying_markup_are_shown_as_text(browser, hostile_page):
    page, evil = hostile_page

    browser.get(page.url + "#" + SYM)

    wait(browser, "the journal of the symbol in the address", lambda: journal_rows(browser))
    assert cells(browser, SYM)["last_error"] == evil
    assert cells(browser, "<i>X</i>") is not None
    _, _, kind, payload = journal_rows(browser)[0]
    assert kind == "<b>opened</b>"
    assert json.loads(payload) == {"reason": "<img src=x onerror=\"window.__pwned = 1\">"}
    assert browser.find_elements(By.CSS_SELECTOR, "img, i, b, #symbols script") == []
    assert browser.execute_script("return window.__pwned === undefined")
