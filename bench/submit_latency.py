"""Submission latency through job_submit/bank on a real slurmctld.

Alternates, in one run, sbatch to a free partition (bankd answers without
the API), to a priced partition (bankd asks the simulator), and to the
priced partition with bankd stopped (the plugin's connect fails at once).
Prints the median and p90 of each, and their ratios to the free case.

    python3 bench/submit_latency.py BUILD_DIR [ROUNDS]
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from harness import Cluster  # noqa: E402


def one(c, args):
    job, r, took = c.sbatch("bankalice", args + ["--hold"], "true")
    if job is None:
        raise RuntimeError(r.stderr)
    c.run(["scancel", str(job)])
    return took


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    fixture = None
    c = Cluster(build, fixture).start()
    cases = {"free partition (no API)": ["-p", "debug"],
             "priced (API asked)": ["-A", "fc_alpha", "-p", "normal", "-t",
                                    "1"]}
    res = {k: [] for k in cases}
    res["bankd down (fail-open)"] = []
    try:
        for _ in range(rounds):
            for k, a in cases.items():
                res[k].append(one(c, a))
        c.stop_bankd()
        for _ in range(rounds):
            res["bankd down (fail-open)"].append(
                one(c, cases["priced (API asked)"]))
    finally:
        c.stop()
    base = statistics.median(res["free partition (no API)"])
    print("%-26s %10s %10s %8s" % ("sbatch round trip", "median ms",
                                   "p90 ms", "ratio"))
    for k, v in res.items():
        v = sorted(v)
        p90 = v[int(len(v) * 0.9) - 1]
        print("%-26s %10.1f %10.1f %8.2f" % (k, statistics.median(v) * 1e3,
                                             p90 * 1e3,
                                             statistics.median(v) / base))
    print("(%d submissions each; sbatch start-up included)" % rounds)


if __name__ == "__main__":
    main()
