"""Fails while the Node that runs the service, or one an image declares, is past its end of life.

The Node on PATH is the one make up and the tests start (scripts/lib.sh puts .tools/bin first);
each Dockerfile names its Node image in an ARG or FROM line. End-of-life dates come from
scripts/node-release-lines.json, a dated copy of the Node release schedule: a line it does not
list fails too, so a new major is a deliberate edit of the table, not a silent pass.
"""

import argparse
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "scripts" / "node-release-lines.json"
NODE_IMAGE = re.compile(r"^\s*(?:ARG\s+\w+=|FROM\s+)node:(\d+)[.\-\w]*", re.MULTILINE)


def running_node_major() -> str:
    version = subprocess.run(
        ["node", "-p", "process.versions.node"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return version.split(".")[0]


def image_node_majors() -> list[tuple[str, str]]:
    found = []
    for dockerfile in sorted((ROOT / "docker").glob("*.Dockerfile")):
        for match in NODE_IMAGE.finditer(dockerfile.read_text()):
            found.append(
                (f"{dockerfile.relative_to(ROOT)} ({match.group(0).strip()})", match.group(1))
            )
    return found


def problem(what: str, major: str, end_of_life: dict[str, str], today: datetime.date) -> str | None:
    end = end_of_life.get(major)
    if end is None:
        return f"{what}: Node {major} is not in {TABLE.relative_to(ROOT)}; add its end-of-life date"
    if datetime.date.fromisoformat(end) <= today:
        return f"{what}: Node {major} reached its end of life on {end}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date.today())
    args = parser.parse_args()
    table = json.loads(TABLE.read_text())
    end_of_life = table["end_of_life"]
    runtimes = [("the Node on PATH", running_node_major()), *image_node_majors()]
    failures = [
        p for what, major in runtimes if (p := problem(what, major, end_of_life, args.today))
    ]
    for what, major in runtimes:
        print(f"{what}: Node {major}, end of life {end_of_life.get(major, 'unknown')}")
    print(f"release table as of {table['as_of']}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
