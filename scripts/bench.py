"""Benchmark surgad against what gammu deployments do without it.

For each database (SQLite, and PostgreSQL and MariaDB where ``surgad db init``
works) the benchmark creates a database of its own, preloads a year of
history, and measures side by side:

* baseline: a RunOnReceive program, one fresh Python process per SMS;
* naive poller: one process, unindexed ``Processed = 'false'`` polls, one row
  per transaction;
* surgad: the real ``surgad run`` with its worker pool, as configured by the
  shipped ``config/surgad.toml``;
* raw limit: the same writes in plain batched SQL, the database's ceiling.

It prints one markdown table per database and writes every figure to
``var/bench/results-<time>.json`` (and ``var/bench/latest.json``).
Run it through ``scripts/bench``, which sets up the environment first.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench_lib import gammu_locks, procs, profile, report, scan, systems, targets

from surgad import classifier, codec, config, dummyphone, logs

REPO = targets.REPO
SYSTEMS = ("raw", "surgad", "naive", "baseline")
BACKLOG_SIZE = 100_000  # the backlog the drain-time target speaks of


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much each measurement does; --quick shrinks them all."""

    preload: int
    backlog: int
    naive_backlog: int
    baseline_count: int
    baseline_latency_count: int
    latency_seconds: float
    idle_seconds: float
    naive_idle_seconds: float
    gammu_seconds: float
    gammu_backlog: int
    scan_runs: int
    scan_due: int


FULL = Sizes(1_000_000, 100_000, 20_000, 500, 100, 30, 60, 20, 60, 20_000, 20, 1000)
QUICK = Sizes(10_000, 10_000, 2_000, 50, 30, 10, 10, 10, 20, 2_000, 10, 100)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, minutes")
    parser.add_argument("--databases", default="sqlite,postgresql,mysql")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    for field in dataclasses.fields(Sizes):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=float if "seconds" in field.name else int,
            help=f"default {getattr(FULL, field.name)} ({getattr(QUICK, field.name)} "
            "with --quick)",
        )
    parser.add_argument("--latency-rate", type=float, default=100.0)
    parser.add_argument("--naive-poll-interval", type=float, default=0.1)
    parser.add_argument(
        "--surgad-workers", type=int, help="surgad run --workers (default: config)"
    )
    parser.add_argument("--no-gammu", action="store_true", help="skip gammu-smsd")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: profile worker.process_batch on SQLite (10,000 SMS)",
    )
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench")
    parser.add_argument(
        "--csv",
        type=Path,
        default=REPO / "tests" / "data" / "complaints-dev.csv",
        help="labelled SMS texts; the complaints among them are sent",
    )
    return parser.parse_args()


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else FULL
    chosen = {
        field.name: getattr(args, field.name)
        if getattr(args, field.name) is not None
        else getattr(base, field.name)
        for field in dataclasses.fields(Sizes)
    }
    return Sizes(**chosen)


def choose_texts(csv_path: Path) -> list[list[str]]:
    """Return [text, coding, unit] for each labelled text surgad routes to a unit.

    Only texts that fit one SMS: a backlog of single-part SMS keeps every
    system on the same path (the comparison programs do not join parts).
    """
    import csv

    settings = config.load([targets.SHIPPED_CONFIG])
    engine = classifier.Classifier.from_config(settings.lexicon)
    chosen = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = row["text"].strip()
            found = engine.classify(text)
            if found.code is None or len(codec.split(text, 0)) != 1:
                continue
            unit = found.code
            if (
                found.confidence < settings.triage_threshold
                or unit not in settings.units
            ):
                unit = settings.triage_unit
            gsm = dummyphone.is_gsm_text(text)
            coding = "Default_No_Compression" if gsm else "Unicode_No_Compression"
            chosen.append([text, coding, unit])
    if not chosen:
        raise SystemExit(f"bench: no single-SMS complaint texts in {csv_path}")
    return chosen


def say(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


class Run:
    """The benchmark of one database."""

    def __init__(
        self,
        kind: str,
        args: argparse.Namespace,
        sizes: Sizes,
        texts: list[list[str]],
        workdir: Path,
    ) -> None:
        self.kind = kind
        self.args = args
        self.sizes = sizes
        self.texts = texts
        self.urls = {"postgresql": args.pg_url, "mysql": args.mysql_url}
        self.target = targets.make(kind, workdir / kind, self.urls)
        self.texts_file = workdir / "texts.json"
        self.senders = systems.Senders()
        self.wanted = set(args.systems.split(","))
        self.result: dict[str, Any] = {"systems": {name: {} for name in SYSTEMS}}

    @property
    def system(self) -> dict[str, dict[str, Any]]:
        return self.result["systems"]  # type: ignore[no-any-return]

    def go(self) -> dict[str, Any]:
        if not self._init():
            return self.result
        self._preload()
        self._scan()
        steps = [
            ("raw", self._raw),
            ("surgad", self._surgad),
            ("naive", self._naive),
            ("baseline", self._baseline),
        ]
        for name, step in steps:
            if name in self.wanted:
                self._guarded(name, step)
        if self.kind == "sqlite" and "surgad" in self.wanted and not self.args.no_gammu:
            self._guarded("gammu", self._gammu)
        self._extrapolate()
        self.result["status"] = "ok"
        return self.result

    def _guarded(self, name: str, step: Any) -> None:
        """Run one system's measurements; record a failure and go on."""
        try:
            step()
        except Exception as exc:
            say(f"{self.kind}: {name} failed: {exc}")
            self.result.setdefault("errors", {})[name] = traceback.format_exc()

    def _init(self) -> bool:
        say(f"{self.kind}: creating the database and running 'surgad db init'")
        try:
            targets.create(self.target, self.urls)
            targets.surgad_cli(self.target, "db", "init")
        except Exception as exc:
            self.result["status"] = f"skipped: surgad db init failed: {exc}"
            say(f"{self.kind}: {self.result['status']}")
            return False
        return True

    def _preload(self) -> None:
        say(f"{self.kind}: preloading {self.sizes.preload:,} rows of history")
        started = time.monotonic()
        targets.preload(self.target, self.sizes.preload, self.texts)
        self.result["preload"] = {
            "rows": self.sizes.preload,
            "seconds": time.monotonic() - started,
        }

    def _scan(self) -> None:
        say(f"{self.kind}: escalation scan")
        found = scan.measure(self.target, self.sizes.scan_runs, self.sizes.scan_due)
        self.result["scan"] = found
        self.system["surgad"]["scan_ms"] = found["surgad_ms"]
        self.system["naive"]["scan_ms"] = found["naive_ms"]
        self.system["baseline"]["scan_ms"] = found["naive_ms"]

    def _drain(
        self, name: str, argv: list[str], count: int
    ) -> Any:  # subprocess.Popen[bytes]
        say(f"{self.kind}: {name}: draining a backlog of {count:,}")
        log = self.target.workdir / f"{name}.log"
        process, drained = systems.drain_daemon(
            self.target, argv, count, self.texts, self.senders, log, timeout=1800
        )
        self.system[name]["drain"] = drained
        say(f"{self.kind}: {name}: {drained['rate']:,.0f} complaints/s")
        return process

    def _idle_and_latency(self, name: str, process: Any, idle_seconds: float) -> None:
        say(f"{self.kind}: {name}: idle CPU over {idle_seconds:g} s")
        self.system[name]["idle"] = systems.idle(process.pid, idle_seconds)
        count = int(self.args.latency_rate * self.sizes.latency_seconds)
        say(
            f"{self.kind}: {name}: latency, {count} SMS at {self.args.latency_rate:g}/s"
        )
        self.system[name]["latency"] = systems.latency(
            self.target,
            process.pid,
            self.args.latency_rate,
            count,
            self.texts_file,
            self.senders,
            self.target.workdir,
        )

    def _raw(self) -> None:
        process = self._drain(
            "raw", systems.program_argv("raw_limit.py"), self.sizes.backlog
        )
        procs.stop(process)

    def _surgad(self) -> None:
        argv = systems.surgad_argv(self.target)
        if self.args.surgad_workers:
            argv += ["--workers", str(self.args.surgad_workers)]
        process = self._drain("surgad", argv, self.sizes.backlog)
        try:
            self._idle_and_latency("surgad", process, self.sizes.idle_seconds)
        finally:
            self.system["surgad"]["exit_status"] = procs.stop(process)

    def _naive(self) -> None:
        dropped = targets.drop_inbox_indexes(self.target)
        try:
            argv = systems.program_argv(
                "naive_poller.py", "--poll-interval", str(self.args.naive_poll_interval)
            )
            process = self._drain("naive", argv, self.sizes.naive_backlog)
            try:
                self._idle_and_latency("naive", process, self.sizes.naive_idle_seconds)
            finally:
                procs.stop(process)
        finally:
            targets.restore_indexes(self.target, dropped)

    def _baseline(self) -> None:
        count = self.sizes.baseline_count
        say(f"{self.kind}: baseline: one process per SMS for {count} SMS")
        drained = systems.drain_baseline(self.target, count, self.texts, self.senders)
        self.system["baseline"]["drain"] = drained
        self.system["baseline"]["idle"] = {"cpu_share": 0.0}
        say(f"{self.kind}: baseline: {drained['rate']:,.1f} complaints/s")
        latency_count = self.sizes.baseline_latency_count
        say(f"{self.kind}: baseline: latency, {latency_count} SMS at 100/s")
        self.system["baseline"]["latency"] = systems.latency(
            self.target,
            None,
            self.args.latency_rate,
            latency_count,
            self.texts_file,
            self.senders,
            self.target.workdir,
            run_baseline=True,
        )

    def _gammu(self) -> None:
        if shutil.which(dummyphone.GAMMU_SMSD) is None:
            self.result["gammu"] = {"skipped": "gammu-smsd is not installed"}
            return
        say(f"{self.kind}: gammu-smsd beside surgad, 1 SMS/s")
        found = gammu_locks.run(
            self.target,
            self.sizes.gammu_seconds,
            self.sizes.gammu_backlog,
            self.texts,
            self.senders,
        )
        self.result["gammu"] = found
        self.system["surgad"]["locks"] = {
            window: found[window]["locked_lines"]
            for window in ("steady", "backlog")
            if window in found
        }

    def _extrapolate(self) -> None:
        """Give each system a 100,000-SMS drain time, measured or extrapolated."""
        for name, system in self.system.items():
            drained = system.get("drain")
            if not drained or not drained.get("rate"):
                continue
            if drained["count"] == BACKLOG_SIZE and drained.get("drain_seconds"):
                drained["drain_100k"] = drained["drain_seconds"]
                continue
            startup = (drained.get("drain_seconds") or 0) - drained["count"] / drained[
                "rate"
            ]
            drained["drain_100k"] = max(0.0, startup) + BACKLOG_SIZE / drained["rate"]
            system.setdefault("marks", {}).update(
                {key: "†" for key in ("rate", "drain100k", "cpu")}
                if name == "baseline"
                else {"drain100k": "†"}
            )


def main() -> int:
    args = arguments()
    sizes = sizes_from(args)
    # The in-process escalation scans log each escalation; keep stdout for the table.
    logs.setup("error")
    workdir = args.out / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    texts = choose_texts(args.csv)
    (workdir / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    if args.profile:
        backlog = args.backlog or 10_000  # cProfile makes each SMS cost ~2.5 times more
        found = profile.run(workdir, sizes.preload, backlog, texts)
        text = "\n".join(profile.lines(found))
        (args.out / "profile.md").write_text(text + "\n", encoding="utf-8")
        print(text)
        return 0
    started = time.monotonic()
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "sizes": dataclasses.asdict(sizes),
        "machine": report.machine({"postgresql": args.pg_url, "mysql": args.mysql_url}),
        "texts": len(texts),
        "databases": {},
    }
    for kind in args.databases.split(","):
        results["databases"][kind] = Run(kind, args, sizes, texts, workdir).go()
    results["seconds"] = time.monotonic() - started
    write_json(args.out, results)
    print("\n".join(report.document(results)))
    return 0


def write_json(out: Path, results: dict[str, Any]) -> None:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=2, default=str)
    (out / f"results-{stamp}.json").write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
