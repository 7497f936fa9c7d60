"""Ports, probe paths, health checks and shutdown timings in the manifests, the compose file and
the Dockerfiles are the ones the code serves and needs."""

import re
from urllib.parse import urlsplit

import pytest
from deployment import (
    ROOT,
    api_routes,
    compose,
    compose_app_envs,
    effective,
    find,
    gpu_node_health_paths,
    k8s_app_envs,
    overlays,
    render,
    typescript,
)

OVERLAYS = overlays()
DOCKER = ROOT / "docker"
# The gpu-node's stop: after SHUTDOWN_GRACE_S it still closes queues and connections (main.ts).
CLOSE_MARGIN_S = 15


def container(docs, deployment):
    return find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def named_port(container_spec, port):
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container_spec["ports"] if p["name"] == port)


def test_the_code_serves_the_paths_the_probes_ask():
    assert {"/health", "/health/ready"} <= api_routes()
    assert "/health" in gpu_node_health_paths()


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_api_port_probes_service_and_ingress(overlay):
    docs = render(overlay)
    env = next(e for e in k8s_app_envs(overlay) if e.app == "api")
    api = container(docs, "api-gpu-api")
    port = int(effective(env, "PORT"))
    assert [p["containerPort"] for p in api["ports"]] == [port]
    assert api["readinessProbe"]["httpGet"]["path"] in api_routes()
    assert named_port(api, api["readinessProbe"]["httpGet"]["port"]) == port
    assert named_port(api, api["livenessProbe"]["tcpSocket"]["port"]) == port
    service = find(docs, "Service", "api-gpu-api")
    [service_port] = service["spec"]["ports"]
    assert named_port(api, service_port["targetPort"]) == port
    labels = find(docs, "Deployment", "api-gpu-api")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    backend = find(docs, "Ingress", "api-gpu-api")["spec"]["rules"][0]["http"]["paths"][0][
        "backend"
    ]
    assert backend["service"]["name"] == "api-gpu-api"
    assert backend["service"]["port"]["name"] == service_port["name"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_gpu_node_health_port_and_probes(overlay):
    docs = render(overlay)
    env = next(e for e in k8s_app_envs(overlay) if e.app == "gpu-node")
    node = container(docs, "api-gpu-node")
    port = int(effective(env, "NODE_HEALTH_PORT"))
    assert [p["containerPort"] for p in node["ports"]] == [port]
    assert node["readinessProbe"]["httpGet"]["path"] in gpu_node_health_paths()
    assert named_port(node, node["readinessProbe"]["httpGet"]["port"]) == port
    for probe in ("livenessProbe", "startupProbe"):
        assert named_port(node, node[probe]["tcpSocket"]["port"]) == port


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_a_stopping_gpu_node_has_time_to_finish_its_job(overlay):
    docs = render(overlay)
    env = next(e for e in k8s_app_envs(overlay) if e.app == "gpu-node")
    pod = find(docs, "Deployment", "api-gpu-node")["spec"]["template"]["spec"]
    assert (
        pod["terminationGracePeriodSeconds"]
        >= int(effective(env, "SHUTDOWN_GRACE_S")) + CLOSE_MARGIN_S
    )
    pre_stop = " ".join(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"])
    # It must wait for the process: the kubelet's own SIGTERM would otherwise be a second one.
    assert "kill -TERM 1" in pre_stop and "while kill -0 1" in pre_stop


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_a_synchronous_request_outlives_neither_proxy_nor_shutdown(overlay):
    docs = render(overlay)
    env = next(e for e in k8s_app_envs(overlay) if e.app == "api")
    sync_timeout = int(effective(env, "SYNC_TIMEOUT_S"))
    annotations = find(docs, "Ingress", "api-gpu-api")["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > sync_timeout
    pod = find(docs, "Deployment", "api-gpu-api")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > sync_timeout


def healthcheck_url(test: list[str]) -> tuple[int, str]:
    url = urlsplit(re.search(r"https?://[^'\"]+", " ".join(test))[0])
    return url.port, url.path


def test_compose_healthchecks_ask_the_apps_ports_and_paths():
    services = compose()["services"]
    for env in compose_app_envs():
        port, path = healthcheck_url(services[env.where.split(": ")[1]]["healthcheck"]["test"])
        if env.app == "api":
            assert port == int(effective(env, "PORT")) and path in api_routes()
        else:
            assert (
                port == int(effective(env, "NODE_HEALTH_PORT")) and path in gpu_node_health_paths()
            )


def test_compose_publishes_the_api_port_and_stops_nodes_gracefully():
    services = compose()["services"]
    api_env = next(e for e in compose_app_envs() if e.app == "api")
    assert [p["target"] for p in services["api"]["ports"]] == [int(effective(api_env, "PORT"))]
    for env in compose_app_envs():
        if env.app == "gpu-node":
            service = services[env.where.split(": ")[1]]
            grace = duration_s(service["stop_grace_period"])
            assert grace >= int(effective(env, "SHUTDOWN_GRACE_S")) + CLOSE_MARGIN_S


def duration_s(text: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", text))


def dockerfile_healthcheck(name: str) -> tuple[str, int, str]:
    """The variable, default port and path of a Dockerfile's HEALTHCHECK."""
    text = (DOCKER / name).read_text()
    check = re.search(r"HEALTHCHECK .*?CMD (.*)", text, re.S)[1]
    match = re.search(r"process\.env\.(\w+)\|\|(\d+)\)\+'(/[^']*)'", check)
    return match[1], int(match[2]), match[3]


@pytest.mark.parametrize(
    ("dockerfile", "app", "port_variable", "paths"),
    [
        ("api.Dockerfile", "api", "PORT", api_routes),
        ("gpu-node.Dockerfile", "gpu-node", "NODE_HEALTH_PORT", gpu_node_health_paths),
    ],
)
def test_image_healthchecks_and_exposed_ports_follow_the_code(
    dockerfile, app, port_variable, paths
):
    variable, default_port, path = dockerfile_healthcheck(dockerfile)
    assert variable == port_variable
    assert default_port == typescript()["classes"][app]["defaults"][port_variable]
    assert path == "/health" and path in paths()
    exposed = re.findall(r"^EXPOSE (\d+)", (DOCKER / dockerfile).read_text(), re.M)
    assert exposed == [str(default_port)]


def test_images_start_the_built_apps_and_the_runpod_handler():
    assert 'CMD ["node", "dist/apps/api/main.js"]' in (DOCKER / "api.Dockerfile").read_text()
    # The node image runs the GPU self-check first, so its findings open the node's log.
    node_cmd = re.search(r"^CMD (.*)$", (DOCKER / "gpu-node.Dockerfile").read_text(), re.M)
    assert node_cmd and node_cmd.group(1).endswith('exec node dist/apps/gpu-node/main.js"]')
    runpod = (DOCKER / "runpod-worker.Dockerfile").read_text()
    assert 'CMD ["python", "-u", "rp_handler.py"]' in runpod
    assert "WORKDIR /app/worker-python" in runpod
    assert (ROOT / "worker-python" / "rp_handler.py").is_file()
