"""The environment the manifests and the compose file give each app is the one its code reads:
every name exists in the app's env classes (or the worker's Settings, which a GPU node's workers
inherit), and the apps' own start-up validation accepts it, required variables included."""

import pytest
from deployment import (
    ROOT,
    ContainerEnv,
    all_app_envs,
    check_deploy,
    compose_app_envs,
    k8s_app_envs,
    known_variables,
    overlays,
    placeholder,
    typescript,
    typescript_problems,
    worker_required,
    worker_variables,
)

from api_gpu_worker.settings import ConfigError, Settings

ENVS = all_app_envs()
IDS = [env.where for env in ENVS]


def test_every_overlay_and_the_compose_file_have_both_apps():
    wheres = {env.where.split(":")[0] for env in ENVS}
    assert wheres == {overlay.name for overlay in overlays()} | {"compose"}


@pytest.mark.parametrize("env", ENVS, ids=IDS)
def test_every_reference_resolves(env: ContainerEnv):
    assert env.unresolved == []


@pytest.mark.parametrize("env", ENVS, ids=IDS)
def test_every_variable_set_is_one_the_app_reads(env: ContainerEnv):
    names = set(env.values) | env.passed_through
    unknown = names - known_variables(env.app) - env.helpers
    assert unknown == set(), f"{env.where} sets variables no code of {env.app} reads"


def test_only_the_hybrid_overlay_configures_runpod():
    runpod = {env.where for env in ENVS if any(name.startswith("RUNPOD_") for name in env.values)}
    assert runpod == {"hybrid: api-gpu-api/api"}
    modes = {env.where: env.values.get("EXECUTOR_MODE") for env in ENVS if env.app == "api"}
    assert modes == {
        "hybrid: api-gpu-api/api": "hybrid",
        "onprem: api-gpu-api/api": "local",
        "compose: api": None,
    }


@pytest.mark.parametrize("env", ENVS, ids=IDS)
def test_every_variable_the_app_requires_is_set(env: ContainerEnv):
    required = set(typescript()["classes"][env.app]["required"])
    if env.app == "gpu-node":
        required |= worker_required()
    assert required - set(env.values) == set()


def test_the_apps_own_validation_accepts_every_environment():
    problems = typescript_problems(ENVS)
    assert {env.where: p for env, p in zip(ENVS, problems, strict=True) if p} == {}


@pytest.mark.parametrize("env", [e for e in ENVS if e.app == "gpu-node"], ids=lambda e: e.where)
def test_the_worker_accepts_every_gpu_node_environment(env: ContainerEnv):
    Settings.from_env(env.values)


def test_the_validation_used_here_refuses_a_missing_required_variable():
    api = next(env for env in compose_app_envs() if env.app == "api")
    without_key = ContainerEnv(where="no key", app="api", values=dict(api.values))
    del without_key.values["X_API_KEY"]
    [problems] = typescript_problems([without_key])
    assert any("X_API_KEY" in problem for problem in problems)
    node = next(env for env in compose_app_envs() if env.app == "gpu-node")
    with pytest.raises(ConfigError) as error:
        Settings.from_env({k: v for k, v in node.values.items() if k != "S3_SECRET_KEY"})
    assert error.value.variable == "S3_SECRET_KEY"


def test_the_variables_read_include_those_of_each_code_base():
    assert {"X_API_KEY", "PORT", "REDIS_URL"} <= known_variables("api")
    assert {"NODE_HEALTH_PORT", "SHUTDOWN_GRACE_S"} <= known_variables("gpu-node")
    assert {"FFMPEG_ENCODER", "WHISPER_DEVICE", "JOB_CONTRACT_SCHEMA"} <= worker_variables()
    assert "FFMPEG_ENCODER" not in known_variables("api")


@pytest.mark.parametrize("app", ["api", "gpu-node"])
def test_the_start_up_warning_knows_every_variable_the_code_reads(app: str):
    """Each app warns about a prefixed variable that neither it nor VARIABLES_READ_ELSEWHERE
    names: that list must hold what the other app, the worker and the set-up read, and only that."""
    check = typescript()["unknownVariableCheck"]
    prefixes = tuple(check["prefixes"])
    elsewhere = set(check["readElsewhere"])
    read_by_all = known_variables("api") | known_variables("gpu-node") | worker_variables()
    prefixed = {name for name in read_by_all if name.startswith(prefixes)}
    assert prefixed - elsewhere - known_variables(app) == set()
    set_up = (ROOT / "scripts" / "up.sh").read_text()
    assert {name for name in elsewhere if name not in read_by_all and name not in set_up} == set()


@pytest.mark.parametrize("overlay", overlays(), ids=lambda o: o.name)
def test_the_redis_password_reaches_redis_url_and_nothing_else(overlay):
    for env in k8s_app_envs(overlay):
        assert env.helpers == {"REDIS_PASSWORD"}, env.where
        assert env.values["REDIS_URL"].startswith("redis://:redispassword"), env.where


def test_compose_passes_an_optional_variable_on_only_when_it_is_set():
    assert "WEBHOOK_SECRET" in next(e for e in compose_app_envs() if e.app == "api").passed_through
    value = placeholder("WEBHOOK_SECRET")
    environment = check_deploy.compose_environment(WEBHOOK_SECRET=value)
    api = check_deploy.compose_config((), environment)["services"]["api"]["environment"]
    assert api["WEBHOOK_SECRET"] == value
