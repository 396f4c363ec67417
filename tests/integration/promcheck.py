#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# promcheck.py -- a strict reader of the Prometheus text exposition format
# 0.0.4 (stdin). Exits 1 naming the first offending line.
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def die(lineno, msg, line=""):
    print(f"promcheck: line {lineno}: {msg}: {line!r}", file=sys.stderr)
    sys.exit(1)


def parse_labels(text, lineno, line):
    labels, i = {}, 0
    while i < len(text):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", text[i:])
        if not m:
            die(lineno, "bad label", line)
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(text):
                die(lineno, "unterminated label value", line)
            c = text[i]
            if c == "\\":
                if i + 1 >= len(text) or text[i + 1] not in '\\"n':
                    die(lineno, "bad escape in label value", line)
                val.append({"n": "\n"}.get(text[i + 1], text[i + 1]))
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                die(lineno, "newline in label value", line)
            val.append(c)
            i += 1
        if name in labels:
            die(lineno, "duplicate label " + name, line)
        labels[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                die(lineno, "expected ',' between labels", line)
            i += 1
    return labels


def parse_value(s, lineno, line):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.match(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z", s):
        die(lineno, "bad value " + s, line)
    return float(s)


def main():
    text = sys.stdin.read()
    if text and not text.endswith("\n"):
        die(0, "no final newline")
    types, helps, seen_series, done_families = {}, set(), set(), set()
    current = None
    hist = {}
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            die(lineno, "empty line", line)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    die(lineno, "bad metric name", line)
                if parts[1] == "HELP":
                    if name in helps:
                        die(lineno, "second HELP", line)
                    helps.add(name)
                else:
                    if name in types:
                        die(lineno, "second TYPE", line)
                    if len(parts) != 4 or parts[3] not in TYPES:
                        die(lineno, "bad TYPE", line)
                    if name in done_families or name == current:
                        die(lineno, "TYPE after samples", line)
                    types[name] = parts[3]
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?\Z", line)
        if not m:
            die(lineno, "bad sample line", line)
        name, labels = m.group(1), parse_labels(m.group(3) or "", lineno, line)
        value = parse_value(m.group(4), lineno, line)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                family = base
        if family != current:
            if family in done_families:
                die(lineno, "samples of a family are not together", line)
            if current is not None:
                done_families.add(current)
            current = family
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            die(lineno, "duplicate series", line)
        seen_series.add(key)
        t = types.get(family, "untyped")
        if t == "counter" and not value >= 0:
            die(lineno, "negative counter", line)
        if t == "histogram":
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            h = hist.setdefault((family, rest), {"buckets": [], "count": None, "sum": None})
            if name.endswith("_bucket"):
                if "le" not in labels:
                    die(lineno, "bucket without le", line)
                le = parse_value(labels["le"], lineno, line)
                if h["buckets"] and (le <= h["buckets"][-1][0] or value < h["buckets"][-1][1]):
                    die(lineno, "buckets not ascending and cumulative", line)
                h["buckets"].append((le, value))
            elif name.endswith("_count"):
                h["count"] = value
            elif name.endswith("_sum"):
                h["sum"] = value
            else:
                die(lineno, "histogram sample without suffix", line)
    for (family, _), h in hist.items():
        if not h["buckets"] or h["buckets"][-1][0] != math.inf:
            die(0, family + ": no +Inf bucket")
        if h["count"] is None or h["sum"] is None:
            die(0, family + ": _sum or _count missing")
        if h["buckets"][-1][1] != h["count"]:
            die(0, family + ": +Inf bucket differs from _count")
    return 0


if __name__ == "__main__":
    sys.exit(main())
