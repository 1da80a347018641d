"""ingest-motion's start-up: from the interpreter's start to the first clip written, on a short BVH take.

    python tools/bench/startup.py [--runs 7] [--take ../shared/data/bvh/hc_mocap/ref_with_toe.bvh]

Each run is a fresh process, as a user's command is. In the same process a hook times the imports and
the first clip (ingest_motion.ingest_one returning), against the 0.5 s target; the baseline run beside it
is a bare interpreter (`python -c pass`), what any Python command pays before its first import. Medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAKE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bvh" / "hc_mocap" / "ref_with_toe.bvh"
TARGET = 0.5  # s, import to first clip

HOOK = """
import sys, time
start = time.perf_counter()
from mimicdata.cli import ingest_motion_main
imported = time.perf_counter() - start
import mimicdata.commands.ingest_motion as command
ingest_one, first = command.ingest_one, []
def timed(*args, **kwargs):
    out = ingest_one(*args, **kwargs)
    first.append(time.perf_counter() - start)
    return out
command.ingest_one = timed
sys.argv = ["ingest-motion", "--type", "bvh", "--input", sys.argv[1], "--output", sys.argv[2], "--source", "bench"]
try:
    ingest_motion_main()
except SystemExit:
    pass
print(imported, first[0], file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--take", type=Path, default=TAKE)
    args = parser.parse_args()
    if not args.take.is_file():
        sys.exit(f"{args.take}: no such take (the default needs ../shared beside the project)")
    bare, whole, imports, first = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", HOOK, str(args.take), str(Path(tmp) / f"run{run}")],
                                  check=True, capture_output=True, text=True)
            whole.append(time.perf_counter() - start)
            imported, clip = (float(v) for v in done.stderr.split()[-2:])
            imports.append(imported)
            first.append(clip)
    median = statistics.median
    print(f"bare interpreter                 : {median(bare):.3f} s")
    print(f"ingest-motion, whole process     : {median(whole):.3f} s")
    print(f"  the CLI module's import         : {median(imports):.3f} s")
    print(f"  import to first clip written   : {median(first):.3f} s   ({median(first) / TARGET:.2f}x the {TARGET} s target)")


if __name__ == "__main__":
    main()
