#!/usr/bin/env python3
"""Per-file mutation scores from a Stryker mutation-report.json, as a markdown table.

score = (killed + timeout) / (killed + timeout + survived + no coverage), as Stryker counts it;
compile errors and ignored mutants are left out of the score and shown in their own columns.

    mutation-table.py REPORT [ROOT]               the table (ROOT: a path prefix to strip from the file names)
    mutation-table.py REPORT [ROOT] --survivors   then every survived and uncovered mutant: file:line, mutator,
                                                  the original code and its replacement"""
import json
import sys

args = [a for a in sys.argv[1:] if a != "--survivors"]
report = json.load(open(args[0]))
root = args[1] if len(args) > 1 else ""


def display(path):
    """The file's name as the table shows it: forward slashes, ROOT stripped."""
    name = path.replace("\\", "/")
    return name[name.index(root) + len(root):] if root and root in name else name


rows = []
totals = {}
for path, entry in sorted(report["files"].items()):
    counts = {}
    for mutant in entry["mutants"]:
        counts[mutant["status"]] = counts.get(mutant["status"], 0) + 1
    if not counts or set(counts) == {"Ignored"}:
        continue    # a file not under test (every mutant disabled by the script)
    for status, n in counts.items():
        totals[status] = totals.get(status, 0) + n
    rows.append((path, counts))


def line(name, c):
    detected = c.get("Killed", 0) + c.get("Timeout", 0)
    undetected = c.get("Survived", 0) + c.get("NoCoverage", 0)
    valid = detected + undetected
    score = f"{100.0 * detected / valid:.2f}%" if valid else "n/a"
    return (f"| {name} | {score} | {c.get('Killed', 0)} | {c.get('Timeout', 0)} | {c.get('Survived', 0)} | "
            f"{c.get('NoCoverage', 0)} | {c.get('CompileError', 0)} | {c.get('Ignored', 0)} |")


print("| File | Score | Killed | Timeout | Survived | No coverage | Compile error | Ignored |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for path, c in rows:
    print(line(display(path), c))
print(line("**all**", totals))

if "--survivors" in sys.argv:
    print()
    for path, entry in sorted(report["files"].items()):
        name = display(path)
        lines = entry["source"].split("\n")
        for m in sorted(entry["mutants"], key=lambda m: (m["location"]["start"]["line"], m["location"]["start"]["column"])):
            if m["status"] not in ("Survived", "NoCoverage"):
                continue
            start, end = m["location"]["start"], m["location"]["end"]
            if start["line"] == end["line"]:
                original = lines[start["line"] - 1][start["column"] - 1:end["column"] - 1]
            else:
                original = lines[start["line"] - 1][start["column"] - 1:] + " ..."
            print(f"- {name}:{start['line']} {m['status']} {m['mutatorName']}: `{original.strip()[:100]}` -> "
                  f"`{m.get('replacement', '').strip()[:100]}`")
