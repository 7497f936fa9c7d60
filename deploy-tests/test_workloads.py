"""What every workload must have, in every overlay and in the compose file: resources, non-root
pods, pinned images, secrets only by reference, GPUs asked for the way NVENC needs them, and
network policies that let only the API and the nodes reach Redis and MinIO."""

import re

import pytest
from deployment import (
    ROOT,
    check_deploy,
    compose,
    containers,
    find,
    overlays,
    render,
    secret_templates,
    workloads,
)

OVERLAYS = overlays()


def pod_labels(docs, name):
    return next(d for d, _ in workloads(docs) if d["metadata"]["name"] == name)["spec"]["template"][
        "metadata"
    ]["labels"]


def selector_matches(selector: dict, labels: dict) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "Exists" and value is None:
            return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_every_container_has_requests_and_limits(overlay):
    missing = [
        f"{doc['metadata']['name']}/{c['name']}: {part}.{resource}"
        for doc, pod in workloads(render(overlay))
        for c in containers(pod)
        for part in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in c.get("resources", {}).get(part, {})
    ]
    assert missing == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_every_pod_runs_as_non_root_without_privileges(overlay):
    for doc, pod in workloads(render(overlay)):
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert isinstance(pod["securityContext"]["runAsUser"], int)
        for c in containers(pod):
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], c["name"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_images_are_pinned(overlay):
    for _, pod in workloads(render(overlay)):
        for c in containers(pod):
            name, _, tag = c["image"].rpartition(":")
            assert name and tag and tag != "latest", c["image"]


def secret_references(node):
    """(secret, key or None) of every secretKeyRef, envFrom secretRef and KEDA secretTargetRef."""
    if isinstance(node, list):
        for item in node:
            yield from secret_references(item)
    elif isinstance(node, dict):
        for field, value in node.items():
            if field == "secretKeyRef":
                yield value["name"], value["key"]
            elif field == "secretRef":
                yield value["name"], None
            elif field == "secretTargetRef":
                yield from ((target["name"], target["key"]) for target in value)
            else:
                yield from secret_references(value)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_no_secret_is_rendered_and_every_reference_is_in_the_template(overlay):
    docs = render(overlay)
    templates = secret_templates()
    assert not [d for d in docs if d["kind"] == "Secret"], (
        "secrets are applied apart from kustomize"
    )
    references = set(secret_references(list(docs)))
    assert references, "no secret referenced at all"
    missing = {
        (name, key) for name, key in references if key not in templates.get(name, {None: ""})
    }
    assert missing == set()
    assert all(value == "" for keys in templates.values() for value in keys.values())


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_gpu_nodes_get_one_gpu_with_the_nvidia_runtime(overlay):
    pod = find(render(overlay), "Deployment", "api-gpu-node")["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert pod["nodeSelector"]


def test_the_gpu_image_asks_for_the_video_capability():
    text = (ROOT / "docker/gpu-node.Dockerfile").read_text()
    assert re.search(r"NVIDIA_DRIVER_CAPABILITIES=compute,utility,video\b", text)
    assert re.search(r"NVIDIA_VISIBLE_DEVICES=all\b", text)
    assert "--enable-nvenc" in text and "--enable-nvdec" in text


def test_compose_reserves_gpus_with_video_and_the_cpu_profile_needs_none():
    services = compose()["services"]
    [device] = services["gpu-node"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert {"gpu", "video"} <= set(device["capabilities"])
    assert "deploy" not in services["cpu-node"]
    assert services["cpu-node"]["environment"]["FFMPEG_ENCODER"] == "cpu"
    assert "cpu-node" not in check_deploy.compose_config(())["services"]


def test_compose_waits_for_healthy_dependencies_and_keeps_redis_durable():
    services = compose()["services"]
    for name in ("api", "gpu-node", "cpu-node"):
        depends = services[name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["minio"]["condition"] == "service_healthy"
        assert depends["minio-setup"]["condition"] == "service_completed_successfully"
        assert "container_name" not in services[name] or name == "api"
    redis = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis and "--maxmemory-policy noeviction" in redis
    assert all("healthcheck" in services[n] for n in ("redis", "minio", "api", "gpu-node"))


@pytest.mark.parametrize("variable", sorted(check_deploy.COMPOSE_REQUIRED_PLACEHOLDERS))
def test_compose_refuses_to_start_without_a_required_variable(variable):
    environment = check_deploy.compose_environment()
    del environment[variable]
    with pytest.raises(check_deploy.CheckFailed, match=f"required variable {variable} is missing"):
        check_deploy.compose_config((), environment)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
@pytest.mark.parametrize("store", ["redis", "minio"])
def test_only_the_api_and_the_nodes_reach_redis_and_minio_inside_the_namespace(overlay, store):
    docs = render(overlay)
    target = pod_labels(docs, f"api-gpu-{store}")
    policies = [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy" and selector_matches(d["spec"]["podSelector"], target)
    ]
    assert policies, f"no NetworkPolicy selects {store}"
    peers = [peer for p in policies for rule in p["spec"]["ingress"] for peer in rule["from"]]
    same_namespace = [p["podSelector"] for p in peers if "namespaceSelector" not in p]
    allowed = {
        d["metadata"]["name"]
        for d, _ in workloads(docs)
        if any(selector_matches(s, pod_labels(docs, d["metadata"]["name"])) for s in same_namespace)
    }
    expected = {"api-gpu-api", "api-gpu-node"} | (
        {"api-gpu-minio-setup"} if store == "minio" else set()
    )
    assert allowed == expected


def test_onprem_has_no_runpod_and_hybrid_references_the_runpod_secret():
    env = {
        o.name: find(render(o), "Deployment", "api-gpu-api")["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
        for o in OVERLAYS
    }
    onprem = {v["name"]: v for v in env["onprem"]}
    assert onprem["EXECUTOR_MODE"]["value"] == "local"
    assert not [name for name in onprem if name.startswith("RUNPOD_")]
    hybrid = {v["name"]: v for v in env["hybrid"]}
    assert hybrid["EXECUTOR_MODE"]["value"] == "hybrid"
    assert hybrid["RUNPOD_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] in secret_templates()


def test_hadolint_as_configured_still_fails_a_bad_dockerfile(tmp_path, monkeypatch):
    (tmp_path / "bad.Dockerfile").write_text(
        "FROM ubuntu\nRUN cd /tmp && apt-get install -y curl\n"
    )
    monkeypatch.setattr(check_deploy, "DOCKER_DIR", tmp_path)
    with pytest.raises(check_deploy.CheckFailed, match="DL3006"):
        check_deploy.check_hadolint()


def test_the_schema_checks_catch_a_misspelt_field():
    docs = render(OVERLAYS[0])
    scaled = dict(
        find(docs, "ScaledObject"),
        spec={**find(docs, "ScaledObject")["spec"], "cooldownPeriods": 5},
    )
    assert any("cooldownPeriods" in p for p in check_deploy.keda_problems(scaled))
    deployment = find(docs, "Deployment", "api-gpu-api")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(check_deploy.kubernetes_validate.ValidationError):
        check_deploy.kubernetes_validate.validate(
            broken, check_deploy.KUBERNETES_VERSION, strict=True
        )
