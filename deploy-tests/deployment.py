"""The deployment files and the code, read side by side: rendered overlays, the compose file as
`docker compose config` resolves it, the environment each app container gets, and what the code
reads from the environment (the TypeScript env classes through env-classes.mjs, the worker's
Settings imported)."""

import ast
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKER_DIR = ROOT / "worker-python"
sys.path.insert(0, str(WORKER_DIR))

from api_gpu_worker.settings import ConfigError, Settings  # noqa: E402


def _load_check_deploy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_deploy", ROOT / "scripts/check-deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_deploy = _load_check_deploy()

# Which Kubernetes container and which compose service run which app.
K8S_APP_CONTAINERS = {("api-gpu-api", "api"): "api", ("api-gpu-node", "gpu-node"): "gpu-node"}
COMPOSE_APP_SERVICES = {"api": "api", "gpu-node": "gpu-node", "cpu-node": "gpu-node"}
K8S_POD_NAME = "api-gpu-node-7d9f8-x2k4q"
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def placeholder(key: str) -> str:
    """A stand-in for a secret's value: letters and digits only, so it fits a URL or a key list."""
    return re.sub(r"[^a-z0-9]", "", key.lower()) + "0123456789"


@dataclass
class ContainerEnv:
    """The environment of one app container, as the kubelet or compose would build it."""

    where: str
    app: str
    values: dict[str, str]
    # Set only to be spelt into another variable as $(NAME) (REDIS_PASSWORD into REDIS_URL).
    helpers: set[str] = field(default_factory=set)
    # Passed through from the operator's environment when set there (compose's `NAME:`).
    passed_through: set[str] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)


def overlays() -> list[Path]:
    return check_deploy.overlays()


def render(overlay: Path) -> tuple[dict[str, Any], ...]:
    return check_deploy.render(overlay)


def find(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"].get("name"))]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def workloads(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod spec) of every object that runs pods."""
    for doc in docs:
        template = doc.get("spec", {}).get("template")
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job") and template:
            yield doc, template["spec"]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec.get("initContainers", []) + pod_spec.get("containers", [])


def secret_templates() -> dict[str, dict[str, str]]:
    return {
        doc["metadata"]["name"]: dict(doc.get("stringData") or {})
        for doc in check_deploy.secret_templates()
    }


def k8s_container_env(
    docs: tuple[dict[str, Any], ...], container: dict[str, Any], where: str, app: str
) -> ContainerEnv:
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
    }
    secrets = secret_templates()
    env = ContainerEnv(where=where, app=app, values={})

    def source(kind: str, name: str) -> Mapping[str, str] | None:
        found = (config_maps if kind == "configMap" else secrets).get(name)
        if found is None:
            env.unresolved.append(f"{kind} {name} does not exist")
        return found

    for item in container.get("envFrom", []):
        kind, ref = next((k.removesuffix("Ref"), v) for k, v in item.items() if k.endswith("Ref"))
        data = source(kind, ref["name"]) or {}
        for key in data:
            env.values[item.get("prefix", "") + key] = _value(kind, key, data)
    for var in container.get("env", []):
        name, value_from = var["name"], var.get("valueFrom")
        if value_from is None:
            raw = var.get("value", "")
            env.helpers.update(n for n in _REFERENCE.findall(raw) if n in env.values)
            env.values[name] = _REFERENCE.sub(lambda m: env.values.get(m[1], m[0]), raw)
        elif "fieldRef" in value_from:
            assert value_from["fieldRef"]["fieldPath"] == "metadata.name", var
            env.values[name] = K8S_POD_NAME
        else:
            kind = "configMap" if "configMapKeyRef" in value_from else "secret"
            ref = value_from[f"{kind}KeyRef"]
            data = source(kind, ref["name"])
            if data is not None and ref["key"] not in data:
                env.unresolved.append(f"{kind} {ref['name']} has no key {ref['key']}")
            elif data is not None:
                env.values[name] = _value(kind, ref["key"], data)
    env.helpers -= {name for name in env.values if _used_by_app(name, app)}
    return env


def _value(kind: str, key: str, data: Mapping[str, str]) -> str:
    return placeholder(key) if kind == "secret" else str(data[key])


def _used_by_app(name: str, app: str) -> bool:
    return name in known_variables(app)


def k8s_app_envs(overlay: Path) -> list[ContainerEnv]:
    docs = render(overlay)
    found = []
    for doc, pod_spec in workloads(docs):
        for container in containers(pod_spec):
            app = K8S_APP_CONTAINERS.get((doc["metadata"]["name"], container["name"]))
            if app:
                where = f"{overlay.name}: {doc['metadata']['name']}/{container['name']}"
                found.append(k8s_container_env(docs, container, where, app))
    assert sorted(e.app for e in found) == ["api", "gpu-node"], [e.where for e in found]
    return found


@cache
def compose(profiles: tuple[str, ...] = ("cpu",)) -> dict[str, Any]:
    return check_deploy.compose_config(profiles)


def compose_app_envs() -> list[ContainerEnv]:
    services = compose()["services"]
    assert set(COMPOSE_APP_SERVICES) <= set(services), sorted(services)
    envs = []
    for service, app in COMPOSE_APP_SERVICES.items():
        environment = services[service].get("environment") or {}
        envs.append(
            ContainerEnv(
                where=f"compose: {service}",
                app=app,
                values={k: str(v) for k, v in environment.items() if v is not None},
                passed_through={k for k, v in environment.items() if v is None},
            )
        )
    return envs


def all_app_envs() -> list[ContainerEnv]:
    return [env for overlay in overlays() for env in k8s_app_envs(overlay)] + compose_app_envs()


# --- what the code reads ------------------------------------------------------------------------


class _RecordingEnv(dict):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


@cache
def worker_required() -> frozenset[str]:
    """What Settings.from_env refuses to start without."""
    env: dict[str, str] = {}
    required = set()
    while True:
        try:
            Settings.from_env(env)
            return frozenset(required)
        except ConfigError as error:
            assert error.variable not in env, f"{error.variable} refused a plain value: {error}"
            required.add(error.variable)
            env[error.variable] = placeholder(error.variable)


@cache
def worker_variables() -> frozenset[str]:
    """Every variable the worker reads: those Settings.from_env asks for, and those its modules
    read from os.environ by name (the whisper model choice, the contract file)."""
    recording = _RecordingEnv({name: placeholder(name) for name in worker_required()})
    Settings.from_env(recording)
    return frozenset(recording.read | _environ_names_in_source())


def _environ_names_in_source() -> set[str]:
    names = set()
    for path in [
        *sorted((WORKER_DIR / "api_gpu_worker").rglob("*.py")),
        WORKER_DIR / "rp_handler.py",
    ]:
        if not path.is_file():
            continue
        tree = ast.parse(path.read_text(), str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            argument = _environ_argument(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id in constants:
                names.add(constants[argument.id])
    return names


def _environ_argument(node: ast.AST) -> ast.AST | None:
    """NAME of os.environ.get(NAME, ...), os.environ[NAME] or os.getenv(NAME, ...)."""
    if isinstance(node, ast.Call) and node.args:
        func = ast.unparse(node.func)
        if func in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
            return node.args[0]
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
        return node.slice
    return None


@cache
def _typescript(to_validate: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(ROOT / "deploy-tests" / "env-classes.mjs")],
        input=to_validate,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def typescript() -> dict[str, Any]:
    """The env classes of the apps and the queue names, from the TypeScript sources."""
    return _typescript("{}")


def typescript_problems(envs: list[ContainerEnv]) -> list[list[str]]:
    """The apps' own start-up validation of each environment (one list of problems each)."""
    by_app: dict[str, list[dict[str, str]]] = {}
    for env in envs:
        by_app.setdefault(env.app, []).append(env.values)
    problems = _typescript(json.dumps(by_app, sort_keys=True))["problems"]
    counters = dict.fromkeys(by_app, 0)
    ordered = []
    for env in envs:
        ordered.append(problems[env.app][counters[env.app]])
        counters[env.app] += 1
    return ordered


def known_variables(app: str) -> frozenset[str]:
    """The variables a container of this app is read for. A GPU node's workers inherit its
    environment, so the worker's variables count for it."""
    names = set(typescript()["classes"][app]["variables"])
    if app == "gpu-node":
        names |= worker_variables()
    return frozenset(names)


def effective(env: ContainerEnv, name: str) -> Any:
    """The value an app runs with: the container's, else the env class's default."""
    if name in env.values:
        return env.values[name]
    return typescript()["classes"][env.app]["defaults"][name]


def api_routes() -> set[str]:
    """GET routes of the API's controllers, as '/prefix/path'."""
    routes = set()
    for path in (ROOT / "apps/api/src").rglob("*.controller.ts"):
        source = path.read_text()
        prefix = re.search(r"@Controller\(\s*(?:'([^']*)')?", source)
        base = prefix[1] if prefix and prefix[1] else ""
        for route in re.findall(r"@Get\(\s*(?:'([^']*)')?\s*\)", source):
            routes.add("/" + "/".join(p.strip("/") for p in (base, route) if p.strip("/")))
    return routes


def gpu_node_health_paths() -> set[str]:
    """Paths the GPU node's health server answers (node:http, matched on the path literally)."""
    paths = set()
    for path in (ROOT / "apps/gpu-node/src").rglob("*.ts"):
        if not path.name.endswith(".spec.ts"):
            paths.update(re.findall(r"path === '(/[^']*)'", path.read_text()))
    return paths
