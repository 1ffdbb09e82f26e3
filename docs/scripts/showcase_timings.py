"""Wall time per stage of one Snakemake run, from its log (``.snakemake/log/*.snakemake.log``).

    python docs/scripts/showcase_timings.py LOG [--out docs/showcase/timings.md]

Every job's start is the time stamp printed before its rule block, its end the one before
"Finished jobid"; both have one-second resolution. Per rule: the number of jobs, the summed job
time, the longest job and when (after the run's first job started) the rule's first job started
and its last one finished.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_times(log: Path) -> dict[int, dict]:
    """jobid -> rule, start, end (datetimes) of every job the log shows finishing."""
    jobs: dict[int, dict] = {}
    stamp, rule = None, None
    for line in log.read_text().splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif match := RULE.match(line):
            rule = match.group(1)
        elif (match := JOBID.match(line)) and rule is not None:
            jobs[int(match.group(1))] = {"rule": rule, "start": stamp}
            rule = None
        elif match := FINISHED.match(line):
            jobs.setdefault(int(match.group(1)), {"rule": match.group(2), "start": stamp})
            jobs[int(match.group(1))]["end"] = stamp
    return {jobid: job for jobid, job in jobs.items() if "end" in job and job["start"]}


def stage_table(jobs: dict[int, dict]) -> str:
    begin = min(job["start"] for job in jobs.values())
    finish = max(job["end"] for job in jobs.values())
    rules: dict[str, list[dict]] = {}
    for job in jobs.values():
        rules.setdefault(job["rule"], []).append(job)
    lines = [
        "| stage (rule) | jobs | summed job time (s) | longest job (s) | started at | done at |",
        "|---|---|---|---|---|---|",
    ]

    def clock(moment: datetime) -> str:
        seconds = int((moment - begin).total_seconds())
        return f"{seconds // 60}:{seconds % 60:02d}"

    for name, group in sorted(rules.items(), key=lambda item: min(j["end"] for j in item[1])):
        durations = [(j["end"] - j["start"]).total_seconds() for j in group]
        lines.append(
            f"| {name} | {len(group)} | {sum(durations):.0f} | {max(durations):.0f} "
            f"| {clock(min(j['start'] for j in group))} | {clock(max(j['end'] for j in group))} |"
        )
    total = int((finish - begin).total_seconds())
    lines += ["", f"Whole run: {total // 60} min {total % 60:02d} s from the first job's start."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("log", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    table = stage_table(job_times(args.log))
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
