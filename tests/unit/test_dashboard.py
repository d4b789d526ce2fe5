#!/usr/bin/env python3
"""The Grafana dashboard (contrib/grafana/bankd.json) against bankd's
metrics: the JSON parses, it takes its Prometheus datasource from a
variable, every metric a panel's PromQL names is one bankd serves (the
names come from a scrape that check_metrics --sample renders with
bankd's own formatting code), every family has a panel, and the scrape
itself is valid text exposition 0.0.4 (HELP then TYPE, then samples of
that family only).

    test_dashboard.py CHECK_METRICS_BINARY DASHBOARD_JSON
"""
import json
import re
import subprocess
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*")*)\})?'
                    r' (-?[0-9]+(\.[0-9]+)?|\+Inf)$')
SUFFIXES = ("_bucket", "_sum", "_count")


def families(text):
    """{name: type} of a scrape, checking its form line by line."""
    types, helped, current = {}, set(), None
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in helped, "HELP twice, " + where
            helped.add(name)
            current = None
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert name in helped and name not in types, where
            assert typ in ("counter", "gauge", "histogram"), where
            if typ == "counter":
                assert name.endswith("_total"), "counter without _total, " \
                    + where
            types[name] = typ
            current = name
        else:
            m = SAMPLE.match(line)
            assert m, "not a sample, " + where
            name = m.group(1)
            base = name
            if types.get(current) == "histogram":
                for s in SUFFIXES:
                    if name == current + s:
                        base = current
            assert base == current, "sample outside its family, " + where
    return types


def promql_names(expr):
    return {t for t in re.findall(r'\bbankd_[a-z_]+', expr)}


def main():
    binary, path = sys.argv[1], sys.argv[2]
    text = subprocess.run([binary, "--sample"], check=True,
                          capture_output=True, text=True).stdout
    types = families(text)
    served = set(types)
    for name, typ in types.items():
        if typ == "histogram":
            served |= {name + s for s in SUFFIXES}
    with open(path) as f:
        dash = json.load(f)
    variables = dash["templating"]["list"]
    ds = [v for v in variables if v.get("type") == "datasource"]
    assert ds and ds[0]["query"] == "prometheus", "no Prometheus datasource " \
        "variable"
    used, fails = set(), []
    for panel in dash["panels"]:
        if panel.get("type") == "row":
            continue
        assert panel["datasource"]["uid"] == "${%s}" % ds[0]["name"], \
            "panel %r does not use the datasource variable" % panel["title"]
        assert panel.get("targets"), "panel %r has no query" % panel["title"]
        for t in panel["targets"]:
            names = promql_names(t["expr"])
            assert names, "panel %r: %r names no bankd metric" % (
                panel["title"], t["expr"])
            for name in names - served:
                fails.append("panel %r: %s is not a metric bankd serves" % (
                    panel["title"], name))
            used |= names
    for name in types:
        if name not in used and not any(name + s in used for s in SUFFIXES):
            fails.append("no panel shows %s" % name)
    if fails:
        print("\n".join(fails))
        return 1
    print("ok: %d families, %d panels" % (len(types), len(dash["panels"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
