#!/usr/bin/python3
"""json_matches_text.py TEXT JSONL: do two deptrace runs of the same
workload, one as text and one with --json, say the same thing?

Every JSON line must parse. The connections and lookups (PIDs and times
left out, as they differ between runs; classes too: a program that ends
before its argv is read is classed by its callers, so a class may differ
between two runs) with their policy violations, and
the dependency map (with program chains, counts and violations), must be
the same in both; the JSON must end with its summary object, whose totals
count its events. Prints what differs and exits 1 if anything does.
"""
import json
import re
import sys
from collections import Counter

# A text event line: TIME PID PPID COMM PROTO RESULT WAIT DESTINATION...
# (WAIT, a time, differs between runs: left out)
EVENT = re.compile(r"^\d+\.\d+\s+\d+\s+\d+\s+(\S+)\s+(\S+)\s+(EPERM \(blocked\)|\S+)\s+\S+\s+(.*)$")
# The class: "direct" (the command's own), "hidden (CHAIN; EVIDENCE)",
# "transient (VIA)"
CLASS = r"(direct|hidden|transient)(?: \((.*)\))?"
# What follows DESTINATION: its class, or on an event that broke the
# policy "VIOLATION CLASS[, NOT BLOCKED][ (socket made ...)]: RULE"
TAIL = re.compile(rf"^(.*?)  (?:VIOLATION (.*)|{CLASS})$")
MARKER = re.compile(rf"^{CLASS}(, NOT BLOCKED)?(?: \(socket made outside the cgroup\))?: (.*)$")
# A map entry: DESTINATION  PROTO  N time(s), FIRST-LASTs: RESULTS[; slowest WAIT][  VIOLATION RULE xN]
# (the slowest wait differs between runs: left out)
ENTRY = re.compile(r"^(\S.*?)  (\S+)  (\d+) times?, [0-9.]+-[0-9.]+s: (.*?)(?:; slowest \S+)?"
                   r"(?:  VIOLATION (.*) x(\d+))?$")
PROGRAM = re.compile(r"^    (.*) x(\d+)  \((\S+)(?: (.*?))?\)  (direct|hidden|transient(?: \(.*\))?)(  VIOLATION)?$")
COUNT = re.compile(r"^(\d+) violations? \((\d+) direct, (\d+) hidden, (\d+) transient\)$")


CLASSES = ("direct", "hidden", "transient")


def text_tail(line, destination):
    """(destination, (class, chain, evidence), violation) of an event line,
    violation (not blocked, rule) or None."""
    m = TAIL.match(destination)
    if not m:
        sys.exit(f"no class at the end of: {line!r}")
    destination, marker, cls, why = m.groups()
    violation = None
    if marker:
        v = MARKER.match(marker)
        if not v:
            sys.exit(f"bad violation marker: {marker!r}")
        cls, why, not_blocked, rule = v.groups()
        violation = (bool(not_blocked), rule)
    # the class may differ between two runs (module docstring): only
    # transient, with its path, and the violation's rule are compared
    if cls != "transient":
        cls, why = "", ""
    return destination, (cls, why or ""), violation


def json_class(o):
    """The event's class as the text shows it, and its violation."""
    assert o["class"] in CLASSES and ("via" in o) == (o["class"] == "transient"), o
    assert "evidence" in o or o["class"] == "transient", o
    why = o["via"] if o["class"] == "transient" else ""
    v = o.get("violation")
    if v is not None:
        assert v["class"] == o["class"], o
        v = (v.get("blocked") is False, v["rule"])
    return (o["class"] if o["class"] == "transient" else "", why), v


# the sources a line marks after the names (JSON's name_source)
MARKED_SOURCES = ("tree", "sni", "host")


def text_names(names):
    """ "(a, also b, c tree)": ("a", ("b", "c"), "tree"); unmarked: ""."""
    names = names[1:-1] if names.startswith("(") else names
    head, _, word = names.rpartition(" ")
    source = word if head and word in MARKED_SOURCES else ""
    names = head if source else names
    name, _, also = names.partition(", also ")
    return name, tuple(also.split(", ")) if also else (), source


def text_events(lines):
    events = Counter()
    for line in lines:
        m = EVENT.match(line)
        if not m:
            continue
        comm, proto, result, destination = m.groups()
        destination, cls, violation = text_tail(line, destination)
        if proto == "DNS":
            query, _, answers = destination.partition(" -> ")
            name, qtype = query.rsplit(" ", 1)
            answers = tuple(answers.split(", ")) if answers else ()
            events["dns", comm, name, qtype, result, answers, cls, violation] += 1
        else:
            endpoint, _, names = destination.partition(" ")
            events["connect", comm, proto, endpoint, *text_names(names), result, cls,
                   violation] += 1
    return events


def endpoint(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def json_events(objects):
    events = Counter()
    for o in objects:
        if o["type"] == "dns":
            events["dns", o["comm"], o["query"], o["qtype"], o["status"],
                   tuple(o["answers"]), *json_class(o)] += 1
        elif o["type"] == "connect":
            events["connect", o["comm"], o["proto"], endpoint(o["address"], o["port"]),
                   o.get("name", ""), tuple(o.get("also_names", ())),
                   o.get("name_source") if o.get("name_source") in MARKED_SOURCES else "",
                   o["result"], *json_class(o)] += 1
    return events


def programs_key(programs):
    """A dependency's programs, their order and split by class left out (a
    class may differ between runs): counts summed by chain, comm, exe and
    transient path; violations counted the same way."""
    counts, violations = Counter(), Counter()
    for chain, times, comm, exe, cls, violation in programs:
        counts[chain, comm, exe, cls] += times
        violations[chain, comm, exe, cls] += bool(violation)
    return tuple(sorted((k, counts[k], violations[k] > 0) for k in counts))


def text_map(lines):
    """The map's entries, its violation count line (or None), and its
    count of each class."""
    deps, count = [], None
    try:
        start = lines.index(next(l for l in lines if l.startswith("DEPENDENCIES (")))
    except StopIteration:
        return None, None, None
    head = re.match(r"^DEPENDENCIES \((\d+)\) of \d+ connections and lookups \((\d+) direct, (\d+) hidden, (\d+) transient\)$",
                    lines[start])
    if not head:
        sys.exit(f"bad map heading: {lines[start]!r}")
    declared = int(head.group(1))
    classes = dict(zip(CLASSES, (int(n) for n in head.groups()[1:])))
    for line in lines[start + 1:]:
        m = ENTRY.match(line)
        if m:
            destination, proto, times, results, rule, violations = m.groups()
            results = dict((r.rsplit(" x", 1)[0], int(r.rsplit(" x", 1)[1]))
                           for r in results.split(", "))
            violation = (rule, int(violations)) if rule else None
            deps.append([destination, proto, int(times), results, [], violation])
            continue
        m = PROGRAM.match(line)
        if m and deps:
            chain, times, comm, exe, cls, violation = m.groups()
            cls = cls if cls.startswith("transient") else ""
            deps[-1][4].append((chain, int(times), comm, exe or "", cls, bool(violation)))
        elif COUNT.match(line):
            count = tuple(int(n) for n in COUNT.match(line).groups())
        elif line.strip():
            sys.exit(f"unexpected line in the text map: {line!r}")
    if declared != len(deps):
        sys.exit(f"text map says {declared} dependencies, lists {len(deps)}")
    return [(d[0], d[1], d[2], tuple(sorted(d[3].items())), programs_key(d[4]), d[5])
            for d in deps], count, classes


def json_map(summary):
    deps = []
    for d in summary["dependencies"]:
        if d["kind"] == "lookup":
            destination, proto = d["name"], "DNS"
        else:
            proto = d["proto"]
            destination = endpoint(d["address"], d["port"])
            if d.get("name"):
                destination = f"{d['name']} {destination}"
        for p in d["programs"]:
            assert p.get("violation") in (None, p["class"]), p
        # the text shows "EXE SCRIPT" where an interpreter runs a script
        programs = tuple((p["chain"], p["count"], p["comm"],
                          " ".join(filter(None, (p["exe"], p.get("script")))),
                          f"{p['class']} ({p['via']})" if "via" in p else "",
                          "violation" in p) for p in d["programs"])
        violation = (d["violation"]["rule"], d["violation"]["count"]) if "violation" in d else None
        deps.append((destination, proto, d["count"], tuple(sorted(d["results"].items())),
                     programs_key(programs), violation))
    return deps


def main():
    text_path, json_path = sys.argv[1:3]
    with open(text_path) as f:
        lines = f.read().splitlines()
    objects = []
    with open(json_path) as f:
        for n, line in enumerate(f, 1):
            try:
                objects.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{json_path}:{n}: not JSON ({e}): {line!r}")
    problems = []

    text, js = text_events(lines), json_events(objects)
    if not text:
        problems.append("the text run has no events")
    for event in sorted((text - js).keys(), key=str):
        problems.append(f"only in the text: {event} x{(text - js)[event]}")
    for event in sorted((js - text).keys(), key=str):
        problems.append(f"only in the JSON: {event} x{(js - text)[event]}")

    first = objects[0] if objects else {}
    if (first.get("type"), first.get("schema")) != ("run", 1) or not all(
            isinstance(first.get(k), str) and first[k]
            for k in ("deptrace", "host", "kernel", "command", "start")):
        problems.append(f"the JSON does not start with a complete run record: {first}")
    if not objects or objects[-1].get("type") != "summary":
        problems.append("the JSON does not end with a summary object")
    else:
        summary = objects[-1]
        connections = sum(1 for o in objects if o["type"] == "connect")
        lookups = sum(1 for o in objects if o["type"] == "dns")
        if (summary["connections"], summary["lookups"], summary["lost"]) != (connections, lookups, 0):
            problems.append(f"summary totals {summary['connections']}/{summary['lookups']}/"
                            f"{summary['lost']}, events {connections}/{lookups}/0")
        classes = Counter(o["violation"]["class"] for o in objects if "violation" in o
                          and o["type"] != "summary")
        jcount = summary.get("violations")
        if jcount is not None:
            jcount = (jcount["count"], *(jcount[c] for c in CLASSES))
            events = (sum(classes.values()), *(classes[c] for c in CLASSES))
            if jcount != events:
                problems.append(f"summary violations {jcount}, events {events}")
        elif classes:
            problems.append("violations in the events, none in the summary")
        events = Counter(o["class"] for o in objects if o["type"] in ("connect", "dns"))
        if summary["classes"] != {c: events[c] for c in CLASSES}:
            problems.append(f"summary classes {summary['classes']}, events {dict(events)}")
        tmap, tcount, tclasses = text_map(lines)
        jmap = json_map(summary)
        if tclasses is not None and tclasses["transient"] != summary["classes"]["transient"]:
            problems.append(f"class counts: text {tclasses}, JSON {summary['classes']}")
        # the total and the transient ones (direct and hidden may differ)
        if (tcount and (tcount[0], tcount[3])) != (jcount and (jcount[0], jcount[3])):
            problems.append(f"violation counts: text {tcount}, JSON {jcount}")
        if tmap is None:
            problems.append("the text run has no dependency map")
        else:
            tcount, jcount = Counter(tmap), Counter(jmap)
            for dep in tcount - jcount:
                problems.append(f"only in the text map: {dep}")
            for dep in jcount - tcount:
                problems.append(f"only in the JSON map: {dep}")
    if sum(1 for o in objects if o["type"] == "exec") == 0:
        problems.append("the JSON has no exec records")

    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
