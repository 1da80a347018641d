"""Store the bundled robots' parses beside their models, so loading them needs no pinocchio (robot/parse.py).

    python tools/store_robot_tree.py [--check]

Rerun after changing a bundled model or the parse; --check only says whether every stored parse is current
(tests/test_robot.py holds the stored parse equal to pinocchio's).
"""

from __future__ import annotations

import argparse
import sys

import yaml

from mimicdata.robot.model import BUNDLED
from mimicdata.robot.parse import load_stored, parse_digest, read_with_pinocchio, store, stored_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Write nothing; exit 1 if a stored parse is stale.")
    args = parser.parse_args()
    stale = 0
    for name, config in sorted(BUNDLED.items()):
        options = yaml.safe_load(config.read_text()) or {}
        model = (config.parent / options["model"]).resolve()
        extra = options.get("extra_bodies")
        digest = parse_digest(model, extra)
        target = stored_path(model)
        if args.check:
            current = target.is_file() and load_stored(target, digest) is not None
            print(f"{name}: {target.name} {'current' if current else 'STALE'}")
            stale += not current
            continue
        tmp = target.with_name(target.name + ".tmp")
        store(read_with_pinocchio(model, extra, config), tmp, digest)
        tmp.replace(target)
        print(f"{name}: wrote {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
