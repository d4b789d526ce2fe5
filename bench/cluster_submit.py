"""sbatch/s on the multi-host cluster with relays in place, vs no plugin.

The cluster of the multi-host suite (tests/e2e/multihost.py: ctl with
slurmctld and the controller bankd, c1 and c2 with slurmd and a relay,
login with a relay, the API simulator on its own host, all network
namespaces on 10.77.0.0/24).  Jobs are submitted from login (as root,
so that no runuser start-up is in every submission) and run on c1 and
c2: every start is reported by spank_bank through the node's relay to
the controller while the next submissions arrive.  Two cases, switched
with `scontrol reconfigure` between batches and alternated round after
round in the same run:

  bank   JobSubmitPlugins=bank and spank_bank on the nodes (relays busy)
  submit JobSubmitPlugins=bank, an empty plugstack: what spank_bank's
         part costs (each job's start asks slurmctld for its record)
  none   no job_submit plugin and an empty plugstack: the limit

(jobcomp/bank stays loaded in both: slurmctld reads JobCompType only at
start; it runs after a job ends, not on the submission path.)

Each batch submits N short jobs one after another, then waits until
slurmctld has none left, so batches do not overlap.  Prints the median
rate of each case, and the median over rounds of each round's ratio
bank / none (target >= 0.95).  At the end every job must have been
charged once (jobcomp/bank stays loaded: a PUT each, no dead letter on
the controller or a relay): otherwise it says so and exits 1.

    python3 bench/cluster_submit.py [--build build] [-n 100] [--rounds 3]
        [--json FILE]
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from multihost import MultiCluster, netns_possible  # noqa: E402
from submit_throughput import fixture  # noqa: E402

JOB = ["-A", "fc_bench", "-p", "normal", "-n", "1", "-t", "1", "-o",
       "/dev/null", "--wrap", "true"]


class BenchCluster(MultiCluster):
    def use(self, case):
        path = self.path("slurm.conf")
        with open(path) as f:
            conf = f.read()
        empty = self.path("plugstack-empty.conf")
        open(empty, "w").close()
        full = self.path("plugstack.conf")
        conf = re.sub(r"(?m)^#?JobSubmitPlugins=.*$", "JobSubmitPlugins="
                      "bank" if case != "none" else "#JobSubmitPlugins=",
                      conf)
        if case == "bank":
            conf = conf.replace("PlugStackConfig=" + empty,
                                "PlugStackConfig=" + full)
        else:
            conf = conf.replace("PlugStackConfig=" + full,
                                "PlugStackConfig=" + empty)
        with open(path, "w") as f:
            f.write(conf)
        self.run(["scontrol", "reconfigure"], check=True)
        time.sleep(1)

    def squeue_empty(self):
        r = self.run(["squeue", "-h", "-o", "%i"])
        return r.returncode == 0 and r.stdout.strip() == ""

    def batch(self, n):
        jobs = []
        t0 = time.time()
        for _ in range(n):
            r = self.run_on("login", ["sbatch", "--parsable"] + JOB)
            if r.returncode != 0:
                raise SystemExit("submission refused: " + r.stderr)
            jobs.append(int(r.stdout.strip().split(";")[0]))
        rate = n / (time.time() - t0)
        self._wait("the batch's jobs to end", self.squeue_empty,
                   timeout=30 + 3 * n)
        return rate, jobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    why = netns_possible()
    if why:
        raise SystemExit("bench/cluster_submit.py: " + why)
    c = BenchCluster(os.path.abspath(a.build), fixture=fixture(),
                     cache_ttl=600, probe_factor=1000).start()
    rates = {"bank": [], "submit": [], "none": []}
    jobs = []
    try:
        c.ctl("POST", "/stats/reset")
        c.use("bank")
        jobs += c.batch(5)[1]           # warms the cache
        for rnd in range(a.rounds):
            for case in ("bank", "submit", "none"):
                c.use(case)
                rate, ids = c.batch(a.n)
                rates[case].append(rate)
                jobs += ids
            print("round %d: %s" % (rnd + 1, ", ".join(
                "%s %.1f/s" % (k, v[-1]) for k, v in rates.items())),
                flush=True)
        # jobcomp/bank charges every job (it stays loaded in both cases):
        # each one PUT once, through whatever the relays carried.
        c._wait("the relays and the controller to drain",
                lambda: all(int(c.status_on(h).get("backlog", "0")) == 0
                            for h in ("c1", "c2")) and
                int(c.status_on("ctl").get("queue", "1")) == 0,
                timeout=180)
        bad = [j for j in jobs if (c.sim_job(j) or {}).get("enddate")
               in (None, "")]
        puts = c.stats().get("jobs_put")
        dead = sum(int(c.status_on(h).get("dead", "0"))
                   for h in ("ctl", "c1", "c2"))
    finally:
        c.stop()
    med = {k: statistics.median(v) for k, v in rates.items()}
    rr = statistics.median(x / y for x, y in zip(rates["bank"],
                                                  rates["none"]))
    rs = statistics.median(x / y for x, y in zip(rates["submit"],
                                                  rates["none"]))
    print("\nbank %.1f/s, submit %.1f/s, none %.1f/s: bank/none ratio of "
          "medians %.2f, median of per-round ratios %.2f (target >= "
          "0.95); submit/none per round %.2f" % (
              med["bank"], med["submit"], med["none"],
              med["bank"] / med["none"], rr, rs))
    print("jobs: %d, not charged: %d, PUTs: %s, dead letters: %d" % (
        len(jobs), len(bad), puts, dead))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "rounds": a.rounds, "median": med,
                       "round_ratio_median": rr,
                       "submit_ratio_median": rs, "rates": rates,
                       "jobs": len(jobs), "not_charged": bad, "puts": puts,
                       "dead": dead}, f, indent=1)
    return 1 if bad or dead or puts != len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
