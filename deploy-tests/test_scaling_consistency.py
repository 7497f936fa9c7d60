"""KEDA scales the GPU nodes on the Redis keys the code really writes: the Bull queues of
libs/common/src/jobs/queues.ts, in the Redis the nodes use, with the password they use."""

from urllib.parse import urlsplit

import pytest
from deployment import find, k8s_app_envs, overlays, render, typescript

OVERLAYS = overlays()


def redis_triggers(overlay):
    scaled = find(render(overlay), "ScaledObject")
    return [t for t in scaled["spec"]["triggers"] if t["type"] == "redis"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_a_wait_list_trigger_for_exactly_the_queues_the_code_uses(overlay):
    queues = typescript()["queues"]
    prefix = queues["bullPrefix"]
    waits = {
        t["metadata"]["listName"]
        for t in redis_triggers(overlay)
        if t["metadata"]["listName"].endswith(":wait")
    }
    assert waits == {f"{prefix}:{queue}:wait" for queue in queues["jobQueues"]}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_every_list_watched_is_a_job_queue_list_the_nodes_consume(overlay):
    queues = typescript()["queues"]
    allowed = {
        f"{queues['bullPrefix']}:{queue}:{state}"
        for queue in queues["jobQueues"]
        for state in ("wait", "active")
    }
    watched = [t["metadata"]["listName"] for t in redis_triggers(overlay)]
    assert set(watched) <= allowed
    # The API consumes the webhook queue: its backlog must not start GPU nodes.
    assert not any(f":{queues['webhookQueue']}:" in name for name in watched)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_the_triggers_read_the_redis_of_the_gpu_nodes(overlay):
    docs = render(overlay)
    node = next(env for env in k8s_app_envs(overlay) if env.app == "gpu-node")
    url = urlsplit(node.values["REDIS_URL"])
    namespace = find(docs, "Deployment", "api-gpu-node")["metadata"]["namespace"]
    service = find(docs, "Service", url.hostname)
    database = int(url.path.strip("/") or 0)
    for trigger in redis_triggers(overlay):
        metadata = trigger["metadata"]
        assert metadata["address"] == f"{url.hostname}.{namespace}.svc.cluster.local:{url.port}"
        assert int(metadata.get("databaseIndex", 0)) == database
        assert url.port in [p["port"] for p in service["spec"]["ports"]]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_the_triggers_authenticate_with_the_password_in_redis_url(overlay):
    docs = render(overlay)
    node = find(docs, "Deployment", "api-gpu-node")["spec"]["template"]["spec"]["containers"][0]
    password_ref = next(v for v in node["env"] if v["name"] == "REDIS_PASSWORD")["valueFrom"][
        "secretKeyRef"
    ]
    for trigger in redis_triggers(overlay):
        auth = find(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        [target] = auth["spec"]["secretTargetRef"]
        assert target["parameter"] == "password"
        assert (target["name"], target["key"]) == (password_ref["name"], password_ref["key"])


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda o: o.name)
def test_the_scaled_object_drives_the_gpu_node_deployment(overlay):
    docs = render(overlay)
    scaled = find(docs, "ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]
    assert (
        find(docs, target.get("kind", "Deployment"), target["name"])["metadata"]["labels"][
            "app.kubernetes.io/component"
        ]
        == "gpu-node"
    )
    assert "replicas" not in find(docs, "Deployment", target["name"])["spec"]
    grace = find(docs, "Deployment", target["name"])["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    # Scaling in waits for the queues to stay empty; each removed node then drains its job.
    assert scaled["spec"]["cooldownPeriod"] >= 60
    assert grace > 0


def test_onprem_scales_from_zero_and_hybrid_keeps_one_local_node():
    by_name = {overlay.name: find(render(overlay), "ScaledObject")["spec"] for overlay in OVERLAYS}
    assert by_name["onprem"]["minReplicaCount"] == 0
    assert by_name["hybrid"]["minReplicaCount"] >= 1
    for spec in by_name.values():
        assert spec["maxReplicaCount"] > spec["minReplicaCount"]
