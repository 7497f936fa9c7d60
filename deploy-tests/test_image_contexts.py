"""What each image copies from the repository exists and gets past its .dockerignore (BuildKit
reads docker/<name>.Dockerfile.dockerignore), while secrets and local state never do."""

import re
from pathlib import Path

import pytest
from deployment import ROOT

DOCKER = ROOT / "docker"

NEEDED = {
    "api.Dockerfile": [
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "nest-cli.json",
        "apps/api/src/main.ts",
        "apps/api/tsconfig.app.json",
        "libs/common/src/index.ts",
        "libs/common/tsconfig.lib.json",
    ],
    "gpu-node.Dockerfile": [
        "package.json",
        "package-lock.json",
        "apps/gpu-node/src/main.ts",
        "apps/gpu-node/tsconfig.app.json",
        "libs/common/src/index.ts",
        "libs/common/contract/job-contract.schema.json",
        "worker-python/requirements.txt",
        "worker-python/api_gpu_worker/settings.py",
        "worker-python/api_gpu_worker/whisper_models.py",
        "worker-python/rp_handler.py",
    ],
}
NEVER = [
    ".env",
    ".venv/bin/python",
    "node_modules/bull/package.json",
    ".data/redis/appendonly.aof",
    ".tools/bin/minio",
    "dist/apps/api/main.js",
    ".git/config",
    "worker-python/tests/test_contract.py",
    "apps/api/src/health/health.controller.spec.ts",
]


def ignore_patterns(dockerfile: str) -> list[str]:
    path = DOCKER / f"{dockerfile}.dockerignore"
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


_WILDCARDS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def _regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    return re.compile("".join(_WILDCARDS.get(part) or re.escape(part) for part in parts))


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rules: the last matching pattern wins, `!` re-includes, and a pattern that
    matches a directory matches everything under it."""
    prefixes = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    result = False
    for pattern in patterns:
        include = pattern.startswith("!")
        regex = _regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not include
    return result


def copy_sources(dockerfile: str) -> list[str]:
    sources = []
    for line in (DOCKER / dockerfile).read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from=") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_the_ignore_rules_follow_docker_semantics():
    patterns = ["*", "!apps/", "**/*.spec.ts", "**/test/"]
    assert ignored("README.md", patterns)
    assert not ignored("apps/api/src/main.ts", patterns)
    assert ignored("apps/api/src/main.spec.ts", patterns)
    assert ignored("apps/api/test/health.e2e-spec.ts", patterns)


@pytest.mark.parametrize("dockerfile", sorted(NEEDED))
def test_every_copied_path_exists_and_gets_into_the_context(dockerfile):
    patterns = ignore_patterns(dockerfile)
    for source in copy_sources(dockerfile):
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), source


@pytest.mark.parametrize("dockerfile", sorted(NEEDED))
def test_the_files_the_build_needs_get_in(dockerfile):
    patterns = ignore_patterns(dockerfile)
    for path in NEEDED[dockerfile]:
        assert (ROOT / path).is_file(), path
        assert not ignored(path, patterns), path


@pytest.mark.parametrize("dockerfile", sorted(NEEDED))
def test_secrets_and_local_state_stay_out(dockerfile):
    patterns = ignore_patterns(dockerfile)
    assert [path for path in NEVER if not ignored(path, patterns)] == []


def test_the_runpod_image_copies_nothing_from_the_repository():
    assert copy_sources("runpod-worker.Dockerfile") == []
    assert not Path(DOCKER / "runpod-worker.Dockerfile.dockerignore").exists()
