"""Checks the deployment files (docker/, k8s/) with no Docker engine and no cluster.

    .venv/bin/python scripts/check-deploy.py [CHECK ...]

CHECK is any of the names below (default: all of them); the exit status is non-zero when one fails.

- kustomize:   every overlay of k8s/overlays renders with kustomize.
- k8s-schemas: every rendered object, and the Secret template, is valid for Kubernetes
               KUBERNETES_VERSION (kubernetes-validate's bundled schemas, strict: unknown
               fields fail).
- keda:        the KEDA objects are valid against the CRD schemas of KEDA's own Go module (fetched
               through the Go module proxy at KEDA_VERSION), and their redis triggers use only
               parameters KEDA's redis scaler reads.
- hadolint:    every docker/*.Dockerfile passes hadolint with docker/hadolint.yaml.
- compose:     `docker compose config` accepts docker/docker-compose.yml, with and without the
               cpu profile (the Compose CLI built by the set-up, run as docker-compose).

The deployment tests in deploy-tests/ import this file for the rendered objects.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOLS_BIN = ROOT / ".tools" / "bin"
OVERLAYS_DIR = ROOT / "k8s" / "overlays"
SECRETS_TEMPLATE = ROOT / "k8s" / "base" / "secrets.template.yaml"
DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
HADOLINT_CONFIG = DOCKER_DIR / "hadolint.yaml"

# The oldest Kubernetes release KEDA_VERSION supports: what validates here runs on all of them.
KUBERNETES_VERSION = "1.30.0"
KEDA_MODULE = "github.com/kedacore/keda/v2"
# The oldest KEDA the README asks for; its module needs only Go 1.23 (2.18 wants Go 1.24.7).
KEDA_VERSION = "v2.17.2"
KEDA_GROUP = "keda.sh"

# Values for the variables the compose file requires (`${NAME:?...}`), so that `config` can
# render it; what they are does not matter to the check.
COMPOSE_REQUIRED_PLACEHOLDERS = {
    "X_API_KEY": "check-api-key",
    "S3_ACCESS_KEY": "check-access-key",
    "S3_SECRET_KEY": "check-secret-key",
    "S3_PUBLIC_URL": "http://gpu-box.example:9000/canais",
}
COMPOSE_PROFILES = ((), ("cpu",))


class CheckFailed(Exception):
    pass


def tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.is_file():
        raise CheckFailed(f"{path.relative_to(ROOT)} is missing: run scripts/setup.sh")
    return str(path)


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part.strip())
        raise CheckFailed(f"{Path(args[0]).name} {' '.join(args[1:])}:\n{output}")
    return result


def overlays() -> list[Path]:
    found = sorted(p for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())
    if not found:
        raise CheckFailed(f"no overlay in {OVERLAYS_DIR.relative_to(ROOT)}")
    return found


@cache
def render(overlay: Path) -> tuple[dict[str, Any], ...]:
    """The objects `kustomize build` makes of an overlay."""
    output = run([tool("kustomize"), "build", str(overlay)]).stdout
    return tuple(doc for doc in yaml.safe_load_all(output) if doc)


def secret_templates() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(SECRETS_TEMPLATE.read_text()) if doc]


def describe(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def is_keda(doc: dict[str, Any]) -> bool:
    return doc.get("apiVersion", "").split("/")[0] == KEDA_GROUP


def compose_environment(**overrides: str) -> dict[str, str]:
    """Only PATH and the given variables: the caller's shell (or make test's own S3_* variables)
    must not fill in what the compose file is supposed to require."""
    return {"PATH": os.environ.get("PATH", ""), **COMPOSE_REQUIRED_PLACEHOLDERS, **overrides}


def compose_config(
    profiles: tuple[str, ...] = (), environment: dict[str, str] | None = None
) -> dict[str, Any]:
    """The compose file as `docker compose config` resolves it, as JSON."""
    args = [tool("docker-compose"), "-f", str(COMPOSE_FILE)]
    for profile in profiles:
        args += ["--profile", profile]
    env = compose_environment() if environment is None else environment
    return json.loads(run([*args, "config", "--format", "json"], env=env).stdout)


def go_command() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).is_file():
        raise CheckFailed("Go 1.24+ is needed to fetch KEDA's module")
    return found


@cache
def keda_module_dir() -> Path:
    TOOLS_BIN.parent.mkdir(parents=True, exist_ok=True)
    result = run(
        [go_command(), "mod", "download", "-json", f"{KEDA_MODULE}@{KEDA_VERSION}"],
        cwd=TOOLS_BIN.parent,
    )
    return Path(json.loads(result.stdout)["Dir"])


@cache
def keda_crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the openAPIV3Schema of every served version of KEDA's CRDs."""
    schemas = {}
    for path in sorted((keda_module_dir() / "config" / "crd" / "bases").glob("keda.sh_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                schemas[key] = closed(version["schema"]["openAPIV3Schema"])
    if not schemas:
        raise CheckFailed(f"no keda.sh CRD in {keda_module_dir()}")
    return schemas


def closed(schema: Any) -> Any:
    """The schema with unknown fields refused, as the API server's strict field validation does
    (a structural schema would otherwise silently drop a misspelt field)."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


@cache
def keda_redis_parameters() -> dict[str, set[str]]:
    """What KEDA's redis scaler reads, from its `keda:"name=..., order=..."` struct tags:
    {"triggerMetadata": {...}, "authParams": {...}, "resolvedEnv": {...}}."""
    source = (keda_module_dir() / "pkg" / "scalers" / "redis_scaler.go").read_text()
    parameters: dict[str, set[str]] = {}
    for tag in re.findall(r'keda:"([^"]*)"', source):
        fields = dict(part.strip().split("=", 1) for part in tag.split(",") if "=" in part.strip())
        if "name" not in fields or "order" not in fields:
            continue
        for order in fields["order"].split(";"):
            parameters.setdefault(order.strip(), set()).update(
                name.strip() for name in fields["name"].split(";")
            )
    if not parameters.get("triggerMetadata"):
        raise CheckFailed("found no triggerMetadata parameter in KEDA's redis_scaler.go")
    return parameters


def keda_scaler_types() -> set[str]:
    source = (keda_module_dir() / "pkg" / "scaling" / "scalers_builder.go").read_text()
    cases = re.findall(r"case ([^:\n]+):", source)
    return {name for case in cases for name in re.findall(r'"([^"]+)"', case)}


def keda_problems(doc: dict[str, Any]) -> Iterator[str]:
    schema = keda_crd_schemas().get((doc.get("apiVersion"), doc.get("kind")))
    if schema is None:
        served = f"{doc.get('apiVersion')} {doc.get('kind')}"
        yield f"{describe(doc)}: no CRD of KEDA {KEDA_VERSION} serves {served}"
        return
    for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
        path = ".".join(map(str, error.absolute_path)) or "(root)"
        yield f"{describe(doc)} at {path}: {error.message}"
    parameters = keda_redis_parameters()
    for trigger in doc.get("spec", {}).get("triggers", []) or []:
        if trigger.get("type") not in keda_scaler_types():
            yield f"{describe(doc)}: KEDA {KEDA_VERSION} has no scaler {trigger.get('type')!r}"
        if trigger.get("type") == "redis":
            for key in sorted(set(trigger.get("metadata", {})) - parameters["triggerMetadata"]):
                yield f"{describe(doc)}: KEDA's redis scaler reads no metadata {key!r}"
    for target in doc.get("spec", {}).get("secretTargetRef", []) or []:
        if target.get("parameter") not in parameters.get("authParams", set()):
            parameter = target.get("parameter")
            yield f"{describe(doc)}: KEDA's redis scaler takes no auth parameter {parameter!r}"


def check_kustomize() -> str:
    counts = [f"{overlay.name}: {len(render(overlay))} objects" for overlay in overlays()]
    return "; ".join(counts)


def check_k8s_schemas() -> str:
    problems, checked = [], 0
    sources = [(overlay.name, render(overlay)) for overlay in overlays()]
    sources.append((SECRETS_TEMPLATE.name, tuple(secret_templates())))
    for source, docs in sources:
        for doc in docs:
            if is_keda(doc):
                continue
            checked += 1
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(map(str, error.path)) or "(root)"
                problems.append(f"{source}: {describe(doc)} at {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(
                    f"{source}: {describe(doc)}: no schema in Kubernetes {KUBERNETES_VERSION}"
                )
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{checked} objects valid for Kubernetes {KUBERNETES_VERSION}"


def check_keda() -> str:
    problems, checked = [], 0
    for overlay in overlays():
        docs = [doc for doc in render(overlay) if is_keda(doc)]
        if not any(doc.get("kind") == "ScaledObject" for doc in docs):
            problems.append(f"{overlay.name}: no ScaledObject")
        for doc in docs:
            checked += 1
            problems += [f"{overlay.name}: {problem}" for problem in keda_problems(doc)]
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{checked} KEDA objects valid for KEDA {KEDA_VERSION}"


def check_hadolint() -> str:
    dockerfiles = sorted(DOCKER_DIR.glob("*.Dockerfile"))
    if not dockerfiles:
        raise CheckFailed(f"no Dockerfile in {DOCKER_DIR.relative_to(ROOT)}")
    hadolint = str(Path(sys.executable).parent / "hadolint")
    for dockerfile in dockerfiles:
        run([hadolint, "--no-color", "--config", str(HADOLINT_CONFIG), str(dockerfile)])
    return ", ".join(d.name for d in dockerfiles)


def check_compose() -> str:
    for profiles in COMPOSE_PROFILES:
        compose_config(profiles)
    return "default and cpu profiles"


CHECKS: dict[str, Callable[[], str]] = {
    "kustomize": check_kustomize,
    "k8s-schemas": check_k8s_schemas,
    "keda": check_keda,
    "hadolint": check_hadolint,
    "compose": check_compose,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checks", nargs="*", metavar="CHECK", help=", ".join(CHECKS))
    names = parser.parse_args().checks or list(CHECKS)
    for name in names:
        if name not in CHECKS:
            parser.error(f"unknown check {name!r}: choose from {', '.join(CHECKS)}")
    failed = 0
    for name in names:
        try:
            print(f"ok   {name}: {CHECKS[name]()}")
        except CheckFailed as error:
            failed += 1
            print(f"FAIL {name}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
