#!/usr/bin/env python3
"""Time several commands interleaved: each round runs every command once (after two warm-up
rounds), so that a machine whose speed drifts affects them all alike. Prints mean, median and
minimum wall time per command, and the load average before and after.

    scripts/interleave.py ROUNDS LABEL COMMAND [LABEL COMMAND ...]

Commands run through the shell (prefix them with `exec` to spare a fork); each run also counts
the ~2 ms of starting it from Python.
"""
import os
import statistics
import subprocess
import sys
import time


def run(command):
    subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    rounds = int(sys.argv[1])
    rest = sys.argv[2:]
    commands = list(zip(rest[0::2], rest[1::2]))
    times = {label: [] for label, _ in commands}
    for _, command in commands:
        run(command)
        run(command)
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        for label, command in commands:
            start = time.perf_counter()
            run(command)
            times[label].append((time.perf_counter() - start) * 1000)
    load_after = os.getloadavg()[0]
    for label, _ in commands:
        t = sorted(times[label])
        print(f"{label:20s} mean {statistics.mean(t):6.1f} ms  median {statistics.median(t):6.1f} ms"
              f"  min {t[0]:6.1f} ms")
    print(f"load average {load_before:.2f} -> {load_after:.2f}")


if __name__ == "__main__":
    main()
