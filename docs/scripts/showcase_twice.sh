#!/usr/bin/env bash
# Issue 34: record the showcase, then run it again from nothing on the same machine and compare
# the two (docs/scripts/check_record.py: "identical", or the largest difference per table and
# the models whose weights differ). On the lent GPU machine, started in the background so that
# a device call can return while it runs (carry .gpudeps):
#
#   setsid nohup docs/scripts/showcase_twice.sh /tmp/twice > /tmp/twice.log 2>&1 &
#
# Poll it with later calls that do not name .gpudeps in carry: a call that carries it replaces
# the packed stack under the running jobs (2026-12-07, a job then found no snakemake module).
#
# DEST/first: the recorded run as record_showcase.sh packs it (showcase.tar.gz, machine.txt);
# DEST/second: the rerun's log and machine.txt; DEST/check.txt: the comparison; DEST/done
# when everything has finished.
set -uo pipefail
dest=${1:?usage: showcase_twice.sh DEST}
here=$(dirname "$0")
mkdir -p "$dest/first" "$dest/second"
bash "$here/record_showcase.sh" showcase "$dest/first" > "$dest/first/log" 2>&1 \
  || { echo "the first run failed" > "$dest/done"; exit 1; }
tar -czf "$dest/first/logs.tar.gz" results/showcase/logs results/showcase/benchmarks
rm -rf results/showcase-first /tmp/docs && mv results/showcase results/showcase-first
mkdir -p "$dest/first/snakemake-logs" && mv .snakemake/log/*.log "$dest/first/snakemake-logs/"
bash "$here/record_showcase.sh" showcase "$dest/second" > "$dest/second/log" 2>&1 \
  || { echo "the second run failed" > "$dest/done"; exit 1; }
source .gpudeps/use-deps .gpudeps
python3 "$here/check_record.py" results/showcase-first results/showcase > "$dest/check.txt" 2>&1
echo "check exit $?" > "$dest/done"
