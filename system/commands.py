"""The `posguard` subcommands: name -> (help, argument builder, handler).

Handlers get the parsed arguments and the validated Config and return an exit code.
Heavy imports stay inside the handlers so `posguard --help` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ops.alerts import command as alerts_command
from system.admin import AmbiguousSymbol, SymbolRef
from system.admin_commands import COMMANDS as ADMIN_COMMANDS
from system.admin_commands import account_arg, ref_of, symbol_arg
from system.config import Config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


# --------------------------------------------------------------------------- run


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration-secs", type=float, default=None,
                   help="stop by itself after this many seconds (smoke runs)")


def _run(args: argparse.Namespace, config: Config) -> int:
    from system.run import run_kernel
    return run_kernel(config, duration_secs=args.duration_secs)


# --------------------------------------------------------------------------- sim


def _sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="bind address (default from config: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (0 = pick a free one)")
    p.add_argument("--seed", type=int, help="random-walk seed")
    p.add_argument("--api-key", help="API key the simulator accepts")
    p.add_argument("--api-secret", help="API secret the simulator checks")
    p.add_argument("--account", type=account_arg, default=None,
                   help="serve this account's simulator settings (its venue's front; default: "
                        "the first account's)")


def _sim(args: argparse.Namespace, config: Config) -> int:
    import dataclasses

    from system.config_schema import convert
    from system.sim.server import serve_forever
    from system.sim.settings import SimSettings
    settings = (config.account(args.account) if args.account else config.exchange).simulator
    meta = {f.name: f.metadata for f in dataclasses.fields(SimSettings)}
    changes: dict[str, Any] = {}
    for name in ("host", "port", "seed", "api_key", "api_secret"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = convert(type(getattr(settings, name)), value, f"--{name}",
                                    meta[name])
    return serve_forever(dataclasses.replace(settings, **changes))


# --------------------------------------------------------------------------- journal


def _journal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("symbol", type=symbol_arg, help="symbol, e.g. BTCUSDT or by:BTCUSDT")
    p.add_argument("--account", type=account_arg, default=None,
                   help="the account (may be left out with one account configured, or when "
                        "one account only has journal rows for the symbol)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--after-seq", type=int, default=0, help="only rows after this seq")
    p.add_argument("--limit", type=_positive_int, default=None, help="at most this many rows")


def _journal(args: argparse.Namespace, config: Config) -> int:
    import os

    from persistence.factory import attach
    from persistence.store import StoreError, StoreNotInitialised, iso_ms
    from system.clock import SystemClock
    target = config.store_target()
    # Checked first: SQLite would create the file (and attach then refuses it), a side effect
    # a read must not have.
    if target.backend == "sqlite" and not os.path.exists(target.sqlite_path):
        return _never_started(args, f"the SQLite store {target.sqlite_path} does not exist yet")
    ref = ref_of(args)
    try:
        store = attach(target, 0, SystemClock())
        try:
            account = _journal_account(ref, config, store)
            if account is None:
                print(f"{ref.symbol}: no journal rows in {config.store.backend} store")
                return EXIT_OK
            if account != store.account:
                store.close()
                store = attach(target, 0, SystemClock(), account=account)
            rows = store.journal(ref.symbol, after_seq=args.after_seq, limit=args.limit)
        finally:
            store.close()
    except StoreNotInitialised:
        where = f"the SQLite store {target.sqlite_path}" if target.backend == "sqlite" else \
            f"the PostgreSQL database at {_pg_where(target.postgres_dsn)}"
        return _never_started(args, f"{where} has no posguard tables yet")
    except StoreError as e:
        print(f"posguard journal: store error: {e}", file=sys.stderr)
        return EXIT_STORE
    if args.json:
        print(json.dumps([{
            "account": r.account, "symbol": r.symbol, "seq": r.seq, "epoch": r.epoch,
            "kind": r.kind,
            "payload": r.payload, "correlation_id": r.correlation_id,
            "created_at_ms": r.created_at_ms, "recorded_at_ms": r.recorded_at_ms,
            "created_at": iso_ms(r.created_at_ms), "recorded_at": iso_ms(r.recorded_at_ms),
        } for r in rows], indent=1, default=str))
        return EXIT_OK
    name = ref.symbol if len(config.accounts) == 1 else f"{account}:{ref.symbol}"
    if not rows:
        print(f"{name}: no journal rows in {config.store.backend} store")
        return EXIT_OK
    if len(config.accounts) > 1:
        print(f"account {account}")
    print(f"{'seq':>5}  {'epoch':>5}  {'created_at (event)':<24}  {'recorded_at (commit)':<24}  "
          f"{'kind':<26}  payload")
    for r in rows:
        body = json.dumps(r.payload, default=str, separators=(",", ":"))
        print(f"{r.seq:>5}  {r.epoch:>5}  {iso_ms(r.created_at_ms):<24}  "
              f"{iso_ms(r.recorded_at_ms):<24}  {r.kind:<26}  {body}")
    return EXIT_OK


def _journal_account(ref: SymbolRef, config: Config, store: Any) -> str | None:
    """Whose journal to read: the named account, the only configured one, or the one account
    with rows for the symbol (None: no account has any). Several: AmbiguousSymbol."""
    if ref.account is not None:
        return ref.account
    if len(config.accounts) == 1:
        return config.accounts[0].account
    having = store.symbol_accounts(ref.symbol)
    if len(having) > 1:
        raise AmbiguousSymbol(f"{ref.symbol} has journal rows on several accounts "
                              f"({', '.join(having)}): name one, e.g. {having[0]}:{ref.symbol} "
                              f"or --account {having[0]}")
    return having[0] if having else None


def _never_started(args: argparse.Namespace, why: str) -> int:
    """An empty journal, said plainly: posguard never ran on this store; nothing created."""
    hint = (f"{args.symbol}: no journal: posguard has never run on this store ({why}); "
            "`posguard run` creates it")
    if args.json:
        print("[]")
        print(hint, file=sys.stderr)
    else:
        print(hint)
    return EXIT_OK


def _pg_where(dsn: str | None) -> str:
    from persistence.postgres import describe_dsn
    return describe_dsn(dsn or "")


# --------------------------------------------------------------------------- bench


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give symbol counts like 1,10,100") from None
    if not levels or levels[0] < 1 or levels[-1] > MAX_BENCH_SYMBOLS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: each count must be between 1 and {MAX_BENCH_SYMBOLS}")
    return levels


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


MAX_BENCH_SYMBOLS = 1000


def _rtts(text: str) -> tuple[float, ...]:
    from system.bench.rtt import parse_rtts
    try:
        return parse_rtts(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _rtt(text: str) -> float:
    values = _rtts(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give one round trip in ms, like 60")
    return values[0]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_BENCH_SYMBOLS:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and {MAX_BENCH_SYMBOLS}")
    return value


def _venues(text: str) -> tuple[str, ...]:
    from system.bench.run import VENUES
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in VENUES]
    if not names or bad or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give venues like {','.join(VENUES)} (each once; known: "
            f"{', '.join(VENUES)})")
    return tuple(names)


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=["system", "store", "sim"], default="system",
                   help="system (default): the whole engine in paper mode; store: append "
                        "latency only; sim: the simulator's loopback floor only")
    p.add_argument("--symbols", type=_levels, default=None, metavar="N,N,...",
                   help="symbol counts to measure at (default 1,10,100,300,500)")
    p.add_argument("--duration-secs", type=_positive_float, default=None,
                   help="measuring window per symbol count (default 20)")
    p.add_argument("--store", choices=["sqlite", "postgres", "both"], default=None,
                   help="system: the engine's store (default sqlite; durability and append "
                        "latency always cover both); store: backend(s) (default both)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run, not figures (1 and 10 symbols, 4 s windows, few trials)")
    p.add_argument("--recovery-trials", type=_positive_int, default=None,
                   help="SIGKILLs of single symbol actors (default 20)")
    p.add_argument("--durability-trials", type=_positive_int, default=None,
                   help="whole-system SIGKILL trials per store backend (default 6)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="draw the latency distributions (needs matplotlib: pip install "
                        "-e '.[plot]')")
    p.add_argument("--appends", type=_positive_int, default=None,
                   help="durable appends per backend (default 500)")
    p.add_argument("--writers", type=_count, default=None, metavar="N",
                   help="writer processes appending to one store at the same instants, 10 "
                        "rounds (`bench store` and the system bench's store section; default "
                        "100, --quick 20; 0: none)")
    p.add_argument("--requests", type=_positive_int, default=200,
                   help="REST round trips for `bench sim`")
    p.add_argument("--events", type=_positive_int, default=100,
                   help="user-stream events for `bench sim`")
    p.add_argument("--rtt-ms", type=_rtts, default=None, metavar="MS,MS,...",
                   help="network round trips to run the reaction, open-to-protected and "
                        "routing sections at, each on its own simulator (default 0: loopback)")
    p.add_argument("--real-budget", action="store_true",
                   help="keep Binance's order budget in those sections too (default: lifted; "
                        "the stop-lag section always keeps it)")
    p.add_argument("--open-burst", type=_count, default=None, metavar="N",
                   help="positions opened in the same second per RTT (default 100; 0: none)")
    p.add_argument("--stop-lag-symbols", type=_levels, default=None, metavar="N,N,...",
                   help="symbol counts of the stop-lag section (default 100,300)")
    p.add_argument("--stop-lag-rtt-ms", type=_rtt, default=None, metavar="MS",
                   help="RTT of the stop-lag section (default 60; --quick: the largest "
                        "--rtt-ms)")
    p.add_argument("--no-stop-lag", action="store_true", help="skip the stop-lag section")
    p.add_argument("--venues", type=_venues, default=None, metavar="NAME,NAME",
                   help="venues to run every per-venue section on, one column each in the "
                        "report (default binanceusdm,bybit; each on its own simulator front)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _bench(args: argparse.Namespace, config: Config) -> int:
    if args.what == "store":
        from system.bench.store import bench_store, format_bench_store
        backends = ["sqlite", "postgres"] if args.store in (None, "both") else [args.store]
        from system.bench.store import bench_contended, format_contended
        results = []
        writers = 100 if args.writers is None else args.writers
        for backend in backends:
            appends = args.appends or 500
            print(f"bench store: {backend}, {appends} durable appends ...", file=sys.stderr)
            row = bench_store(backend, appends=appends)
            if writers:
                print(f"bench store: {backend}, {writers} writers appending at once, 10 rounds "
                      "...", file=sys.stderr)
            row["contended"] = bench_contended(backend, writers=writers) if writers else None
            row["contended_writer"] = bench_contended(backend, writers=writers,
                                                      group_writer=True) \
                if writers and backend == "sqlite" else None
            results.append(row)
        contended = [c for r in results for c in (r["contended"], r["contended_writer"]) if c]
        print(json.dumps(results, indent=1) if args.json else format_bench_store(results)
              + ("\n\n" + format_contended(contended) if contended else ""))
        return EXIT_OK
    if args.what == "sim":
        from system.sim.bench import bench_sim, format_bench_sim
        print(f"bench sim: {args.requests} REST round trips, {args.events} stream events ...",
              file=sys.stderr)
        from system.bench.rtt import with_rtt
        results = []
        for rtt in args.rtt_ms or (0.0,):
            result = bench_sim(with_rtt(config.exchange.simulator, rtt), requests=args.requests,
                               events=args.events)
            results.append({"rtt_ms": rtt, **result})
            if not args.json:
                print(f"RTT {rtt:g} ms: " + format_bench_sim(result))
        if args.json:
            print(json.dumps(results[0] if args.rtt_ms is None else results, indent=1))
        return EXIT_OK
    return _bench_system(args, config)


def _bench_options(args: argparse.Namespace) -> Any:
    import dataclasses

    from system.bench.run import Options
    store = args.store or "sqlite"
    opts = Options.quick_run(store, args.seed) if args.quick else Options(store=store,
                                                                          seed=args.seed)
    changes = {k: v for k, v in (("levels", args.symbols), ("duration_secs", args.duration_secs),
                                 ("recovery_trials", args.recovery_trials),
                                 ("durability_trials", args.durability_trials),
                                 ("appends", args.appends), ("rtt_ms", args.rtt_ms),
                                 ("writers", args.writers),
                                 ("open_burst", args.open_burst),
                                 ("stop_lag_levels", args.stop_lag_symbols),
                                 ("stop_lag_rtt_ms", args.stop_lag_rtt_ms)) if v is not None}
    if args.quick and args.stop_lag_rtt_ms is None and args.rtt_ms:
        changes["stop_lag_rtt_ms"] = max(args.rtt_ms)  # reuse a floor the run measures
    if args.real_budget:
        changes["real_budget"] = True
    if args.no_stop_lag:
        changes["stop_lag_levels"] = ()
    from system.bench.run import VENUES
    changes["venues"] = args.venues or VENUES
    return dataclasses.replace(opts, **changes)


def _bench_system(args: argparse.Namespace, config: Config) -> int:
    from system.bench import report
    from system.bench.run import run
    from system.bench.target import BenchError
    from system.kernel import KernelError
    if args.store == "both":
        print("posguard bench: --store both applies to `bench store`; the system bench runs "
              "the engine on one store (durability and append latency cover both)",
              file=sys.stderr)
        return EXIT_USAGE
    opts = _bench_options(args)
    if args.plot:
        try:
            import matplotlib  # noqa: F401 - fail before a long run, not after it
        except ImportError:
            print("posguard bench: --plot needs matplotlib: .venv/bin/pip install -e '.[plot]'",
                  file=sys.stderr)
            return EXIT_USAGE
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] bench: {line}", file=sys.stderr, flush=True)
    try:
        result = run(opts, config.source, list(getattr(args, "overrides", [])), say)
    except (BenchError, KernelError) as e:
        print(f"posguard bench: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(result, indent=1, default=str))
    else:
        print(report.format_table(result))
    if args.plot:
        report.plot(result, args.plot)
        say(f"plot written to {args.plot}")
    return EXIT_OK


# --------------------------------------------------------------------------- check


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--account", type=account_arg, default=None,
                   help="check only this account (default: every configured account)")


def _check(args: argparse.Namespace, config: Config) -> int:
    """Every account (or the one named), each on its own venue; exit 1 if any failed."""
    accounts = [config.account(args.account)] if args.account else list(config.accounts)
    ok = True
    for ex in accounts:
        if len(config.accounts) > 1 and not args.json:
            print(f"account {ex.account} ({ex.name}):")
        ok = _check_account(args, config, ex) and ok
    return EXIT_OK if ok else EXIT_FAILED


def _check_account(args: argparse.Namespace, config: Config, ex: Any) -> bool:
    import contextlib

    from system.check import UncheckedVenue, make_target, report, run_checks
    with contextlib.ExitStack() as stack:
        sim_url = None
        if config.mode == "paper":
            sim = ex.simulator
            if sim.embedded:
                from system.sim.server import SimServer
                server = stack.enter_context(SimServer(sim))
                sim_url = server.url
            else:
                sim_url = f"http://{sim.host}:{sim.port}"
        try:
            target = make_target(config, sim_url, ex)
        except UncheckedVenue as e:  # a venue check does not cover yet: said, never passed
            print(f"posguard check: {e}", file=sys.stderr)
            return False
        findings = run_checks(target)
        print(report(target, findings, args.json))
    return all(f.status == "ok" for f in findings)


Handler = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "run": ("run the engine (paper mode: with the embedded simulator)", _run_args, _run),
    "sim": ("run the exchange simulator alone", _sim_args, _sim),
    "check": ("check the key, permissions, position mode, clock and streams on the venue "
              "(places no order)", _check_args, _check),
    **ADMIN_COMMANDS,
    "journal": ("print a symbol's journal from the store", _journal_args, _journal),
    "bench": ("measure the system in paper mode (reaction, routing, recovery, scale)",
              _bench_args, _bench),
    "alerts": ("`alerts test`: send one test alert to every configured channel",
               alerts_command.add_args, alerts_command.run),
}
