#!/usr/bin/env bash
# Ingests a CSV file several times larger than a memory limit, inside a cgroup (v1 or v2)
# whose memory is capped, and prints the peak RSS. Needs root (to make the cgroup) and the
# release build of the ingest example (`cargo build --release --example ingest`).
#
#   scripts/bounded_memory.sh FILE.csv [LIMIT_MIB=1024] [PART_ROWS]
#
# The ingest holds two parts (one being written, the next being read) plus the chunks in
# flight, whatever the file's size; the limit covers the process and its page cache.
set -euo pipefail
csv=${1:?usage: scripts/bounded_memory.sh FILE.csv [LIMIT_MIB] [PART_ROWS]}
limit_mib=${2:-1024}
part_rows=${3:-}
bin=${FABRIK_INGEST:-target/release/examples/ingest}
lake=$(mktemp -d /tmp/fabrik-bounded-XXXXXX)
trap 'rm -rf "$lake"; [ -n "${cg:-}" ] && rmdir "$cg" 2>/dev/null || true' EXIT
if [ -d /sys/fs/cgroup/memory ]; then                     # cgroup v1
  cg=/sys/fs/cgroup/memory/fabrik-bounded-$$
  mkdir "$cg"
  echo $((limit_mib * 1024 * 1024)) > "$cg/memory.limit_in_bytes"
  echo $((limit_mib * 1024 * 1024)) > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
else                                                      # cgroup v2
  cg=/sys/fs/cgroup/fabrik-bounded-$$
  mkdir "$cg"
  echo $((limit_mib * 1024 * 1024)) > "$cg/memory.max"
  echo 0 > "$cg/memory.swap.max" 2>/dev/null || true
fi
echo "file: $csv ($(du -h "$csv" | cut -f1)), memory limit: ${limit_mib} MiB"
args=(--lake "$lake" --table sensor_readings "$csv")
[ -n "$part_rows" ] && args=(--part-rows "$part_rows" "${args[@]}")
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" \
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$bin" "${args[@]}"
