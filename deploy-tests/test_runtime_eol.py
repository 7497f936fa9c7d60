"""scripts/check-runtime-eol.py reads each image's Node and fails when its end of life comes."""

import datetime
import json
import subprocess
import sys

from deployment import ROOT

CHECK = ROOT / "scripts" / "check-runtime-eol.py"
TABLE = json.loads((ROOT / "scripts" / "node-release-lines.json").read_text())


def run_check(today: datetime.date) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), "--today", today.isoformat()],
        capture_output=True,
        text=True,
        check=False,
    )


def test_each_node_image_is_read() -> None:
    result = run_check(datetime.date.fromisoformat(TABLE["as_of"]))
    assert result.returncode == 0, result.stderr
    for dockerfile in ("docker/api.Dockerfile", "docker/gpu-node.Dockerfile"):
        assert f"{dockerfile} (ARG NODE_IMAGE=node:" in result.stdout


def test_fails_the_day_the_running_line_ends() -> None:
    major = subprocess.run(
        ["node", "-p", "process.versions.node.split('.')[0]"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    end = datetime.date.fromisoformat(TABLE["end_of_life"][major])
    assert run_check(end - datetime.timedelta(days=1)).returncode == 0
    result = run_check(end)
    assert result.returncode == 1
    assert f"Node {major} reached its end of life on {end}" in result.stderr
