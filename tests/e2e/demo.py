"""The demo: a local Slurm with slurm-bank and the API simulator.  Submits
a few jobs as real users and prints, for each, what it was estimated,
what was decided and what it was charged.

    python3 tests/e2e/demo.py BUILD_DIR
"""

import os
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES  # noqa: E402

JOBS = [
    # user, account, sbatch options, script, what it shows
    ("bankalice", "fc_alpha", ["-p", "normal", "-n", "2", "-t", "10"],
     "sleep 4", "affordable: charged actual use, not the estimate"),
    ("bankbob", "fc_alpha", ["-p", "normal", "-t", "5"], "sleep 2",
     "no --ntasks: still priced (1 CPU)"),
    ("bankalice", "fc_poor", ["-p", "normal", "-n", "1", "-t", "60"],
     "true", "cannot afford: refused at sbatch"),
    ("bankbob", None, ["-p", "debug"], "sleep 1",
     "free partition: no account, no API call"),
    ("bankalice", "fc_alpha", ["-p", "normal", "-n", "1", "-t", "10"],
     "sleep 60", "cancelled after ~3 s: charged for that"),
]


def estimate(c, acct, opts):
    args = ["estimate"]
    it = iter(opts)
    for o in it:
        v = next(it)
        args += [{"-p": "-p", "-n": "-n", "-t": "-t"}[o], v]
    r = c.bankctl(*args)
    # "key  value" lines; a value may be empty ("qos").
    fields = dict((line.split(None, 1) + [""])[:2]
                  for line in r.stdout.splitlines() if line.strip())
    return fields.get("estimate", "?").strip()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    print("starting munged, the myBRC simulator, bankd, slurmctld, slurmd...")
    c = Cluster(build).start()
    try:
        print("cluster up in %s; prices (SU/CPU-hour): %s\n" %
              (c.dir, ", ".join("%s=%s" % kv for kv in PRICES.items())))
        rows = []
        for user, acct, opts, script, what in JOBS:
            args = (["-A", acct] if acct else []) + opts
            est = estimate(c, acct, opts)
            job, r, _ = c.sbatch(user, args, script)
            if job is None:
                msg = r.stderr.strip().splitlines()[0]
                rows.append((what, "-", user, acct or "-", est,
                             "refused", "-", msg))
                continue
            if script == "sleep 60":
                c.wait_state(job, ("RUNNING",))
                time.sleep(3)
                c.run(["scancel", str(job)], check=True)
            j = c.wait_state(job, ("COMPLETED", "CANCELLED", "FAILED"))
            charged = "-"
            if acct:
                charged = c.wait_charged(job)["amount"]
            rows.append((what, str(job), user, acct or "-", est,
                         "accepted", charged, "%s, %s CPUs, %s s" % (
                             j["JobState"], j["NumCPUs"], c.elapsed(j))))
        hdr = ("job", "user", "account", "estimate", "decision", "charged")
        print("%-5s %-10s %-9s %9s %-9s %8s  %s" % (hdr + ("",)))
        for what, job, user, acct, est, dec, ch, info in rows:
            print("%-5s %-10s %-9s %9s %-9s %8s  %s" % (job, user, acct,
                                                        est, dec, ch, what))
            print("      %s" % info)
        print("\nbalances in the API simulator:")
        for name, b in c.ctl("GET", "/balances")["accounts"].items():
            print("  %-9s used %8s of %8s SU" % (name, b["usage"],
                                                  b["allocation"]))
        total = sum(Decimal(r[6]) for r in rows if r[6] != "-")
        used = sum(Decimal(b["usage"]) for b in
                   c.ctl("GET", "/balances")["accounts"].values())
        print("  (sum of the charges above: %s)" % total)
        print("\nbankctl status:")
        print(c.bankctl("status").stdout)
        # The demo is CI's too: what it shows must be what was charged.
        if total != used or not any(r[6] != "-" for r in rows):
            print("demo: the charges shown (%s) are not the portal's usage "
                  "(%s)" % (total, used), file=sys.stderr)
            return 1
        return 0
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
