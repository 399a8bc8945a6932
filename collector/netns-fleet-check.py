#!/usr/bin/env python3
"""The fleet test's verdict: every full report an agent logged as spooled is in the registry's reports
table exactly once, under that agent's host, and nothing else is; every heartbeat it spooled is kept
exactly once as its collected_at (docs/store.md "Heartbeats": in the host's heartbeats rows, or as a
reports row of outcome `heartbeat` when a late report needed it as a boundary); every spool empty,
nothing rejected. Usage: netns-fleet-check.py TMP AGENTS KILLS"""
import glob, json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kept  # noqa: E402 (beside this file)

tmp, agents, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
failures = []

def check(ok, what):
    if not ok:
        print("FAIL " + what)
        failures.append(what)

registry = kept.Registry(f"{tmp}/registry.sqlite")
rows, stored = registry.rows, registry.stored

serve = open(f"{tmp}/logs/serve.log", encoding="utf-8").read()
starts = serve.count("listening on")
check(starts == kills + 1, f"registry started {starts} times, expected {kills + 1}")

def hostname(i):
    conf = open(f"{tmp}/a{i}/collector.conf", encoding="utf-8").read()
    return re.search(r"^hostname = (.+)$", conf, re.M).group(1)

claimed = set()
for i in range(1, agents + 1):
    log = open(f"{tmp}/logs/agent-{i}.log", encoding="utf-8").read()
    host = hostname(i)
    spool = kept.spooled(log)
    v = registry.verdict(host, spool)
    claimed |= v["mine"]
    for problem in kept.problems(v):
        check(False, f"agent {i}: {problem}")
    refused = len(re.findall(r"WARN r-\d+-", log))  # Delivery: one WARN per failed send
    (last_seen,) = registry.db.execute("SELECT last_seen FROM hosts WHERE hostname = ?", (host,)).fetchone()
    newest = max(at for _, _, at in spool)
    full, beats = v["full"], v["beats"]
    print(f"agent {i} {host}: generated {len(spool)} ({len(full)} full, {len(beats)} heartbeats), "
          f"stored {len(v['mine'] & full)}, missing {len(v['missing'])}, unexpected {len(v['extra'])}, "
          f"heartbeats kept {v['kept']}, failed sends {refused}")
    check(len({rid for _, rid, _ in spool}) == len(spool), f"agent {i}: a report id logged twice")
    check(len(full) > 0 and len(beats) > 0, f"agent {i}: expected full reports and heartbeats")
    check(refused > 0, f"agent {i}: never saw the registry down")
    check(last_seen == newest, f"agent {i}: last_seen {last_seen} is not its newest report or heartbeat {newest}")
    check("ERROR" not in log, f"agent {i}: logged an ERROR")
    check(not glob.glob(f"{tmp}/a{i}/spool/r-*.json"), f"agent {i}: spool not empty")
    check(not os.listdir(f"{tmp}/a{i}/spool/rejected"), f"agent {i}: reports rejected")
    if i == 1:
        check(len(full) >= 2, f"agent 1 changed while the registry was down: expected 2+ full reports, got {len(full)}")

check(claimed == set(stored), f"{len(set(stored) - claimed)} stored reports belong to no agent")
hosts = {hostname(i) for i in range(1, agents + 1)}
check(set(registry.beats) <= hosts, f"heartbeats kept for hosts of no agent: {sorted(set(registry.beats) - hosts)[:3]}")

def report_schema():
    """api/openapi.yaml's Report as JSON Schema: nullable made a type, no undocumented members, and its
    references to other component schemas (e.g. ReportLabels) inlined, since it is validated on its own."""
    import yaml
    spec = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "../api/openapi.yaml"), encoding="utf-8"))
    def conv(s):
        if isinstance(s, list): return [conv(x) for x in s]
        if not isinstance(s, dict): return s
        ref = s.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return conv(spec["components"]["schemas"][ref.rsplit("/", 1)[1]])
        s = {k: conv(v) for k, v in s.items()}
        if s.pop("nullable", False) and "type" in s: s["type"] = [s["type"], "null"]
        if s.get("type") == "object" and "properties" in s: s.setdefault("additionalProperties", False)
        return s
    return conv(spec["components"]["schemas"]["Report"])

try:
    import jsonschema
    validator = jsonschema.Draft202012Validator(report_schema())
    bad = [(r[0], e.message[:120]) for r in rows for e in validator.iter_errors(json.loads(r[3]))]
    check(not bad, f"stored reports that do not match api/openapi.yaml's Report: {bad[:3]}")
    print(f"schema: {len(rows)} stored reports match api/openapi.yaml's Report (no undocumented members)")
except ImportError:
    print("schema: not checked (python3 jsonschema/yaml missing; schemathesis brings both)")
print(f"registry: {len(rows)} reports rows, {len(set(stored))} distinct sent ids, {starts} starts ({kills} SIGKILLs)")
if failures:
    sys.exit(f"netns fleet check: {len(failures)} failures")
print("netns fleet check: every report and heartbeat each agent generated is kept exactly once; none lost")
