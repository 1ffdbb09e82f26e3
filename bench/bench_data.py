"""Data-stage timings: phantom generation and reading + slice extraction of one volume.

    .venv/bin/python bench/bench_data.py [--size 512] [--n-slices 64] [--repeats 3]

Prints a Markdown table with machine and date; --write-docs puts it into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tact.data.layouts import Case
from tact.data.phantom import PhantomSpec, generate_volume, write_lits_pair
from tact.data.slices import extract_slices, save_stack
from tact.data.volumes import read_case

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine, replace_section, today


def median_seconds(step, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--n-slices", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    spec = PhantomSpec(size=args.size, n_slices=args.n_slices)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t_generate = median_seconds(lambda: generate_volume(1, spec), args.repeats)
        volume = generate_volume(1, spec)
        t_write = median_seconds(lambda: write_lits_pair(volume, out, 1), args.repeats)
        pair = Case(1, out / "volume-1.nii", out / "segmentation-1.nii")
        t_read = median_seconds(lambda: read_case(pair), args.repeats)
        canonical = read_case(pair)
        t_extract = median_seconds(lambda: extract_slices(canonical, args.size), args.repeats)
        stack = extract_slices(canonical, args.size)
        t_save = median_seconds(lambda: save_stack(stack, out / "v.h5"), args.repeats)
    lines = [
        "### Data stage per volume",
        "",
        f"`python bench/bench_data.py --size {args.size} --n-slices {args.n_slices}`; "
        f"{machine()}; {today()}. A {args.size} x {args.size} x {args.n_slices} phantom volume "
        f"({len(stack)} slices kept), median of {args.repeats}, one process.",
        "",
        "| step | seconds per volume |",
        "|---|---|",
    ]
    for name, seconds in [
        ("generate phantom", t_generate),
        ("write NIfTI pair", t_write),
        ("read + validate + canonicalise", t_read),
        ("extract slices (no resize)", t_extract),
        ("save slice store", t_save),
    ]:
        lines.append(f"| {name} | {seconds:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        replace_section("data", text)


if __name__ == "__main__":
    main()
