"""Runs one benchmark child process and measures it; shared by the peer scripts beside it.

`run(cmd)` returns (wall s, CPU s, peak RSS MiB, stdout) and exits with the child's stderr
when it fails. The child's output goes to temporary files, so that wait4 (which reaps it
and gives its CPU time, its waited-for descendants included) is the only wait.

The peak RSS comes from GNU time wrapped around the command when /usr/bin/time exists
(NaN otherwise), not from wait4: wait4's `ru_maxrss` of a child is at least the RSS of the
Python process that started it, because Linux carries the parent's high-water mark across
fork and exec.
"""

import os
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def run(cmd):
    timed = os.access(GNU_TIME, os.X_OK)
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as fr:
        full = [GNU_TIME, "-f", "%M", "-o", fr.name, *cmd] if timed else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=fo, stderr=fe, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
        rss = float("nan")
        if timed:
            # On failure GNU time writes "Command exited with non-zero status N" first.
            kib = [w for w in fr.read().split() if w.isdigit()]
            if kib:
                rss = int(kib[-1]) / 1024
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{err[-3000:]}")
    return wall, ru.ru_utime + ru.ru_stime, rss, out
