"""The headline: sbatch submissions per second through a real slurmctld.

One local cluster (tests/e2e/harness.py: munged, slurmctld, slurmd, the
myBRC simulator, bankd), and five ways of running job_submit, switched with
`scontrol reconfigure` between batches and measured alternating, round
after round, in the same run:

  none     no job_submit plugin at all: the limit
  warm     job_submit/bank, bankd deciding from its warm cache
  api50    job_submit/bank, the API answering in 50 ms
  down     job_submit/bank, the API refusing connections
  inline   the original design: a plugin asking the API inline with a
           fresh connection per submission (bench/job_submit_inline.c),
           the API answering in 50 ms as in api50

Each batch submits N held jobs one after another (as root, to keep a
runuser start-up out of every submission; sbatch's own start-up is
included), then cancels them.  Prints the median rate of each
case and the ratios to `none` (targets: warm >= 0.95, api50 >= 0.9,
down >= 0.9) and of warm and api50 to inline, both as ratios of the
medians and as the median over rounds of each round's ratio (steadier
when the machine's load changes between rounds).

    python3 bench/submit_throughput.py [--build build] [-n 100] [--rounds 5]
        [--json FILE]

--json FILE also writes the rates as JSON (for bench/run).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from harness import Cluster, default_fixture, TOKEN  # noqa: E402

JOB = ["-A", "fc_bench", "-p", "normal", "-n", "1", "-t", "1", "--hold"]


def fixture():
    f = default_fixture()
    f["accounts"].append({"name": "fc_bench", "allocation": "99999999.00",
                          "usage": "0.00", "active": True})
    f["memberships"].append({"uid": 47001, "account": "fc_bench",
                             "allocation": "99999999.00", "usage": "0.00"})
    # Submitting as root spares each sbatch a runuser (PAM) start-up,
    # which would otherwise dominate the figures.
    f["users"].append({"uid": 0, "username": "rootbench",
                       "email": "root@example.org"})
    f["memberships"].append({"uid": 0, "account": "fc_bench",
                             "allocation": "99999999.00", "usage": "0.00"})
    return f


class BenchCluster(Cluster):
    def _start_slurm(self):
        # The inline baseline reads where the API is from slurmctld's env.
        self.env["BANK_INLINE_URL"] = self.api_url
        self.env["BANK_INLINE_TOKEN"] = TOKEN
        self.env["BANK_INLINE_PRICE"] = "360"
        super()._start_slurm()

    def use_plugin(self, name):
        path = self.path("slurm.conf")
        with open(path) as f:
            conf = f.read()
        conf = re.sub(r"(?m)^JobSubmitPlugins=.*$",
                      "JobSubmitPlugins=%s" % name if name else
                      "#JobSubmitPlugins=", conf)
        conf = re.sub(r"(?m)^#JobSubmitPlugins=.*$",
                      "JobSubmitPlugins=%s" % name if name else
                      "#JobSubmitPlugins=", conf)
        with open(path, "w") as f:
            f.write(conf)
        self.run(["scontrol", "reconfigure"], check=True)
        time.sleep(0.5)


CASES = {
    "none": (None, None),
    "warm": ("bank", None),
    "api50": ("bank", {"latency_ms": 50}),
    "down": ("bank", {"refuse": True}),
    "inline": ("inline", {"latency_ms": 50}),
}


def batch(c, n):
    t0 = time.time()
    for _ in range(n):
        job, r, _ = c.sbatch(None, JOB, "true")
        if job is None:
            raise SystemExit("submission refused: " + r.stderr)
    rate = n / (time.time() - t0)
    c.run(["scancel", "-u", "root"])
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    c = BenchCluster(os.path.abspath(a.build), fixture=fixture(),
                     cache_ttl=600, probe_factor=1000).start()
    rates = {k: [] for k in CASES}
    try:
        for rnd in range(a.rounds):
            for name, (plugin, fault) in CASES.items():
                c.ctl("POST", "/faults/clear")
                c.use_plugin(plugin)
                if name == "warm":
                    batch(c, 5)         # warms the cache
                if fault:
                    c.ctl("POST", "/faults", fault)
                rates[name].append(batch(c, a.n))
                c.ctl("POST", "/faults/clear")
            print("round %d: %s" % (rnd + 1, ", ".join(
                "%s %.0f/s" % (k, v[-1]) for k, v in rates.items())),
                flush=True)
    finally:
        c.stop()
    med = {k: statistics.median(v) for k, v in rates.items()}
    # The cases of one round ran within a minute of each other: the median
    # of per-round ratios is steadier than a ratio of medians when the
    # shared machine's load changes between rounds.
    rmed = {b: {k: statistics.median(x / y for x, y in zip(v, rates[b]))
                for k, v in rates.items()} for b in ("none", "inline")}
    print("\n%-8s %12s %10s %10s %14s %14s" % (
        "case", "median /s", "vs none", "vs inline", "vs none/round",
        "vs inline/rnd"))
    for k, v in med.items():
        print("%-8s %12.1f %10.2f %10.2f %14.2f %14.2f" % (
            k, v, v / med["none"], v / med["inline"], rmed["none"][k],
            rmed["inline"][k]))
    print("(vs .../round: the median over rounds of the ratio within "
          "each round)")
    print("\ntargets: warm/none >= 0.95 (%.2f), api50/none >= 0.9 (%.2f), "
          "down/none >= 0.9 (%.2f)  [ratios of medians; per round: %.2f, "
          "%.2f, %.2f]" % (med["warm"] / med["none"],
                          med["api50"] / med["none"],
                          med["down"] / med["none"], rmed["none"]["warm"],
                          rmed["none"]["api50"], rmed["none"]["down"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "rounds": a.rounds, "median": med,
                       "round_ratio_median": rmed, "rates": rates}, f,
                      indent=1)


if __name__ == "__main__":
    main()
