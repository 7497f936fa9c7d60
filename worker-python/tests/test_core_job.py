"""Settings, errors, the job context (processes, progress, cancel) and run_job's dispatch."""

import os
import subprocess
import threading
import time

import pytest

from api_gpu_worker import job as job_module
from api_gpu_worker.encoders import SoftwareEncoder, select_encoder
from api_gpu_worker.errors import (
    EncoderError,
    InputError,
    InternalError,
    JobCancelled,
    ProcessingError,
    as_job_error,
    redact_url,
)
from api_gpu_worker.job import JobContext, remove_stale_workdirs, run_job
from api_gpu_worker.settings import ConfigError, Settings

BASE_ENV = {"S3_ACCESS_KEY": "access", "S3_SECRET_KEY": "secret-value", "ENV_FILE": "/dev/null"}


def test_settings_defaults_and_public_url():
    settings = Settings.from_env(BASE_ENV)
    assert settings.s3_public_url == "http://127.0.0.1:9000/canais"
    assert settings.max_download_mb == 500
    assert settings.download_timeout_s == 120
    assert settings.ffmpeg_encoder == "auto"
    assert settings.batch_size >= 1
    assert "secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("S3_ACCESS_KEY", ""),
        ("MAX_DOWNLOAD_MB", "lots"),
        ("MAX_DOWNLOAD_MB", "-1"),
        ("DOWNLOAD_TIMEOUT_S", "nan"),
        ("FFMPEG_ENCODER", "quicksync"),
        ("PRIVATE_URL_ALLOWLIST", "localhost"),
        ("PRIVATE_URL_ALLOWLIST", "localhost:99999"),
        ("S3_ENDPOINT_URL", "minio:9000"),
        ("S3_INPUT_BUCKETS", "ok-bucket,Bad_Bucket"),
        ("WORKER_TMP_DIR", "relative/dir"),
        ("WORK_DIR", "relative/dir"),
        ("OUTPUT_DIR", "relative/dir"),
        ("BATCH_SIZE", "0"),
    ],
)
def test_a_bad_variable_is_named(variable, value):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**BASE_ENV, variable: value})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(variable)
    if value:
        assert value not in str(raised.value).replace(variable, "")


def test_the_replaced_services_scratch_directories_are_used(tmp_path):
    work, output = tmp_path / "work", tmp_path / "output"
    settings = Settings.from_env({**BASE_ENV, "WORK_DIR": str(work), "OUTPUT_DIR": str(output)})
    assert (settings.work_root, settings.output_root) == (work, output)
    with JobContext("legacy-dirs", settings, encoder=SoftwareEncoder(), storage=object()) as ctx:
        assert ctx.workdir.parent == work and ctx.workdir.is_dir()
        assert ctx.outdir.parent == output and ctx.outdir.is_dir()
    assert not ctx.workdir.exists() and not ctx.outdir.exists()
    ours = Settings.from_env({**BASE_ENV, "WORKER_TMP_DIR": str(tmp_path), "WORK_DIR": str(work)})
    assert ours.work_root == ours.output_root == tmp_path


def test_env_file_fills_what_the_environment_leaves_unset(tmp_path, monkeypatch):
    env_file = tmp_path / "worker.env"
    env_file.write_text(
        'S3_ACCESS_KEY=from-file\nexport MAX_DOWNLOAD_MB="7"\n# BATCH_SIZE=x\n'
        "S3_REGION=eu-west-1  # as dotenv reads it: an inline comment is no part of the value\n"
        "S3_PUBLIC_URL='https://cdn.example.com/a#b'\n"
    )
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.setenv("S3_SECRET_KEY", "s")
    monkeypatch.setenv("S3_ACCESS_KEY", "from-env")
    monkeypatch.delenv("MAX_DOWNLOAD_MB", raising=False)
    monkeypatch.delenv("BATCH_SIZE", raising=False)
    monkeypatch.delenv("S3_REGION", raising=False)
    monkeypatch.delenv("S3_PUBLIC_URL", raising=False)
    settings = Settings.from_env()
    assert settings.s3_access_key == "from-env"
    assert settings.max_download_mb == 7
    assert settings.s3_region == "eu-west-1"
    assert settings.s3_public_url == "https://cdn.example.com/a#b"


def test_error_dicts_name_the_field_only_when_there_is_one():
    assert InputError("path: bad", field="path").to_dict() == {
        "code": "invalid_input",
        "message": "path: bad",
        "field": "path",
        "retryable": False,
    }
    assert JobCancelled().to_dict() == {
        "code": "cancelled",
        "message": "the job was cancelled",
        "retryable": False,
    }
    unexpected = as_job_error(KeyError("s3-secret"))
    assert isinstance(unexpected, InternalError)
    assert "s3-secret" not in unexpected.message


def test_redact_url_drops_query_strings():
    signed = "see https://h.example/a/b.mp4?X-Amz-Signature=abc&t=1#frag now"
    assert redact_url(signed) == "see https://h.example/a/b.mp4 now"


def test_encoder_selection_here_is_libx264_and_forcing_nvenc_is_an_error():
    assert isinstance(select_encoder("cpu"), SoftwareEncoder)
    assert select_encoder("auto").name == "libx264"
    with pytest.raises(EncoderError, match="FFMPEG_ENCODER=nvenc"):
        select_encoder("nvenc")


def test_run_job_refuses_an_invalid_job_before_doing_anything(settings, work_root):
    ctx = JobContext("bad", settings)
    with pytest.raises(InputError) as raised:
        run_job({"operation": "addaudio", "url_video": "https://example.com/v.mp4"}, ctx)
    assert raised.value.field == "url_audio"
    assert list(work_root.iterdir()) == []


def test_an_operation_that_cannot_load_fails_alone(settings, monkeypatch, work_root):
    def missing(name):
        raise ModuleNotFoundError(f"No module named 'api_gpu_worker.operations.{name}'")

    monkeypatch.setattr(job_module.importlib, "import_module", missing)
    job = {
        "operation": "addaudio",
        "url_video": "https://example.com/v.mp4",
        "url_audio": "https://example.com/a.mp3",
        "path": "p/",
        "output_filename": "o.mp4",
    }
    with pytest.raises(InternalError, match="addaudio is not available"):
        run_job(job, JobContext("missing", settings))
    assert list(work_root.iterdir()) == []


def test_run_reports_ffmpeg_progress_in_its_span_and_never_backwards(settings):
    seen = []
    with JobContext("p", settings, on_progress=seen.append) as ctx:
        ctx.run(
            ["ffmpeg", "-f", "lavfi", "-i", "testsrc2=size=640x360:d=4", "-f", "null", "-"],
            duration_s=4,
            span=(20.0, 60.0),
        )
    assert seen, "no progress was reported"
    assert seen == sorted(seen)
    assert all(20.0 <= percent <= 60.0 for percent in seen)
    assert seen[-1] == 60.0


def test_a_failing_tool_raises_with_its_last_stderr_lines(settings):
    with JobContext("f", settings) as ctx, pytest.raises(ProcessingError) as raised:
        ctx.run(["ffmpeg", "-i", str(ctx.workdir / "nothing.mp4"), "-f", "null", "-"])
    assert raised.value.message.endswith("nothing.mp4: No such file or directory")
    assert str(settings.work_root) not in raised.value.message
    with JobContext("g", settings) as ctx, pytest.raises(InputError, match="exit 1"):
        ctx.run(
            ["ffmpeg", "-i", str(ctx.workdir / "nothing.mp4"), "-f", "null", "-"],
            on_error=lambda code, tail: InputError(f"exit {code}", field="url_video"),
        )


def test_cancel_kills_the_running_process_and_its_children(settings, work_root):
    with JobContext("c", settings) as ctx:
        outcome = {}

        def work():
            try:
                ctx.run(["sh", "-c", "sleep 60 & wait"])
            except JobCancelled as error:
                outcome["error"] = error

        thread = threading.Thread(target=work)
        thread.start()
        while not ctx._processes:
            time.sleep(0.01)
        ctx.cancel()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert isinstance(outcome["error"], JobCancelled)
        with pytest.raises(JobCancelled):
            ctx.popen(["true"])
    assert list(work_root.iterdir()) == []


def test_progress_is_clamped_non_decreasing_and_throttled(settings):
    seen = []
    ctx = JobContext("t", settings, on_progress=seen.append)
    for percent in [-5, 10, 5, 11, 12, 13, 50, 100, 100, 120]:
        ctx.progress(percent)
    assert seen[0] == 0.0
    assert seen == sorted(seen)
    assert seen[-1] == 100.0
    assert seen.count(100.0) == 1
    assert len(seen) < 8


def test_work_directories_of_gone_workers_are_removed_and_live_ones_kept(settings, work_root):
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = work_root / f"job-{gone.pid}-abc-1234abcd"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "partial.mp4").write_bytes(b"x")
    with JobContext("live", settings) as ctx:
        assert ctx.workdir.name.startswith(f"job-{os.getpid()}-live-")
        assert remove_stale_workdirs(work_root) == [stale]
        assert ctx.workdir.is_dir()
    assert list(work_root.iterdir()) == []
