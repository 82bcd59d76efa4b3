#!/usr/bin/env python3
"""CSV -> Parquet side by side: fabrik's ingest (validated, deduplicated, into a Delta lake)
against DuckDB (COPY ... read_csv ... TO parquet) and Polars (scan_csv().sink_parquet()),
interleaved in one run, on the same file.

Usage:
    python3 scripts/ingest_peers.py --csv telemetry.csv [--reps 5] [--fabrik PATH]
                                    [--work DIR] [--json OUT.json]
    python3 scripts/ingest_peers.py --from-parquet telemetry.parquet --csv telemetry.csv ...

`--from-parquet` first writes the CSV from a Parquet file of sensor readings (pyarrow;
the columns of fabrik's `sensor_readings`: plant_id, line_id, machine_id, sensor_id,
metric, ts, value, quality). `--fabrik` is the release build of the ingest example
(default target/release/examples/ingest; build it with
`cargo build --release --example ingest`).

Each engine runs as a child process per repetition, in turn; the figures are the child's
wall time, CPU time (user + system) and peak resident memory (from wait4), medians over
the repetitions. The peers' figures include starting Python and importing the engine
(about 0.1-0.2 s). Every run's output row count is checked against the CSV's.

Needs python3 with duckdb, polars and pyarrow (pip install duckdb polars pyarrow).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from child import run  # the sibling module: runs and measures one child

DUCKDB = """
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
print(duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0])
"""

POLARS = """
import polars as pl, sys
src, out = sys.argv[1], sys.argv[2]
pl.scan_csv(src).sink_parquet(out, compression="zstd")
print(pl.scan_parquet(out).select(pl.len()).collect().item())
"""




def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--from-parquet")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--fabrik", default="target/release/examples/ingest")
    ap.add_argument("--work", default=None, help="scratch directory (default: a temp dir)")
    ap.add_argument("--json")
    a = ap.parse_args()

    if a.from_parquet:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        pacsv.write_csv(pq.read_table(a.from_parquet), a.csv)
    with open(a.csv, "rb") as f:
        rows = sum(1 for _ in f) - 1
    size = os.path.getsize(a.csv)
    work = a.work or tempfile.mkdtemp(prefix="fabrik-ingest-peers-")
    os.makedirs(work, exist_ok=True)
    engines = {
        "fabrik": lambda: (
            [a.fabrik, "--quiet", "--lake", os.path.join(work, "lake"), "--table", "sensor_readings", a.csv],
            os.path.join(work, "lake"),
        ),
        "duckdb": lambda: ([sys.executable, "-c", DUCKDB, a.csv, os.path.join(work, "duckdb.parquet")], os.path.join(work, "duckdb.parquet")),
        "polars": lambda: ([sys.executable, "-c", POLARS, a.csv, os.path.join(work, "polars.parquet")], os.path.join(work, "polars.parquet")),
    }
    results = {name: [] for name in engines}
    for rep in range(a.reps):
        for name, make in engines.items():
            cmd, out = make()
            shutil.rmtree(out, ignore_errors=True) if os.path.isdir(out) else (os.path.exists(out) and os.remove(out))
            wall, cpu, rss, stdout = run(cmd)
            got = parse_rows(name, stdout)
            if got != rows:
                sys.exit(f"{name}: wrote {got} rows, the CSV has {rows}")
            results[name].append({"wall": wall, "cpu": cpu, "rss_mib": rss})
            print(f"rep {rep + 1} {name:7} wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak RSS {rss:7.0f} MiB", file=sys.stderr)
    print(f"\nCSV -> Parquet, {rows:,} rows, {size / 1e6:.0f} MB, median of {a.reps} (2 cores here: `nproc` = {os.cpu_count()})\n")
    print("| engine | wall s | rows/s | CPU s | peak RSS MiB | wall vs fabrik |")
    print("|---|---|---|---|---|---|")
    base = statistics.median(r["wall"] for r in results["fabrik"])
    summary = {}
    for name, rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        rss = statistics.median(r["rss_mib"] for r in rs)
        summary[name] = {"wall": wall, "cpu": cpu, "rss_mib": rss, "rows": rows}
        print(f"| {name} | {wall:.2f} | {rows / wall / 1e6:.2f} M | {cpu:.2f} | {rss:.0f} | {wall / base:.2f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "bytes": size, "reps": a.reps, "results": results, "median": summary}, f, indent=1)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


def parse_rows(name, stdout):
    """Rows written, from the child's output."""
    if name != "fabrik":
        return int(stdout.strip().splitlines()[-1])
    # The ingest example's report table: `sensor_readings  files skip read accepted ...`.
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "sensor_readings" and len(parts) > 4 and parts[3].isdigit():
            return int(parts[4])
    sys.exit(f"fabrik: no report line in its output:\n{stdout[-2000:]}")


if __name__ == "__main__":
    main()
