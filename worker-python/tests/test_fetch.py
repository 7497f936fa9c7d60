"""fetch: the SSRF rules, redirects, size and time limits, s3:// and our own public URLs.

No packet may leave this machine: every test here replaces the socket-opening step of the fetch
module with one that lets loopback through (the local media server) and, for any other address,
records the attempt and fails. A broken guard therefore shows up as a recorded attempt, never as
traffic to 10/8, 172.16/12, 192.168/16 or 169.254.169.254.
"""

import ipaddress
import os
import re
import socket
import threading
import time
import uuid

import pytest
from media_server import redirect_to

from api_gpu_worker import fetch as fetch_module
from api_gpu_worker.errors import FetchError, InputError, JobCancelled, MediaError
from api_gpu_worker.fetch import check_url, fetch
from api_gpu_worker.job import JobContext
from api_gpu_worker.settings import Settings

OFF_MACHINE = [
    "10.0.0.8",
    "10.255.1.2",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.10",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
    "224.0.0.251",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[::ffff:10.0.0.1]",
]


@pytest.fixture
def connect_attempts(monkeypatch) -> list[tuple]:
    attempts: list[tuple] = []
    real_open = fetch_module._open_socket

    def open_socket(family, sockaddr, timeout):
        if ipaddress.ip_address(sockaddr[0].split("%")[0]).is_loopback:
            return real_open(family, sockaddr, timeout)
        attempts.append(sockaddr)
        raise ConnectionRefusedError("the test allows no traffic off this machine")

    monkeypatch.setattr(fetch_module, "_open_socket", open_socket)
    return attempts


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """Host names the tests make up, each mapped to the addresses it should resolve to (in turn)."""
    names: dict[str, list[str]] = {}
    real_resolve = fetch_module._resolve

    def resolve(host, port):
        if host not in names:
            return real_resolve(host, port)
        address = names[host].pop(0) if len(names[host]) > 1 else names[host][0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    return names


@pytest.fixture
def ctx(settings, connect_attempts):
    with JobContext(uuid.uuid4().hex, settings) as context:
        yield context


def with_env(settings: Settings, **overrides) -> Settings:
    return Settings.from_env(
        {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "WORKER_TMP_DIR": str(settings.work_root),
            "PRIVATE_URL_ALLOWLIST": ",".join(settings.private_url_allowlist),
            **overrides,
        }
    )


def test_a_file_of_the_allowlisted_media_server_downloads(ctx, media_server):
    (media_server.root / "fetch me ção.bin").write_bytes(b"\x00\x01" * 5000)
    url = f"http://{media_server.host_port}/fetch me ção.bin"
    path = fetch(url, ctx.workdir / "in", ctx, field="url_video")
    assert path.read_bytes() == b"\x00\x01" * 5000


@pytest.mark.parametrize("host", OFF_MACHINE)
def test_non_public_literal_addresses_are_refused_without_a_connection(ctx, connect_attempts, host):
    with pytest.raises(InputError) as raised:
        fetch(f"http://{host}/latest/meta-data/", ctx.workdir / "in", ctx, field="url_audio")
    assert raised.value.field == "url_audio"
    assert raised.value.message.startswith("url_audio: host")
    assert "may not reach" in raised.value.message
    assert connect_attempts == []
    assert list(ctx.workdir.iterdir()) == []


def test_loopback_on_a_port_not_in_the_allowlist_is_refused(ctx, media_server):
    with pytest.raises(InputError, match=r"127\.0\.0\.1"):
        fetch(f"http://127.0.0.1:{media_server.port + 1}/x", ctx.workdir / "in", ctx, field="f")
    with pytest.raises(InputError, match=r"resolves to 127\.0\.0\.1"):
        fetch(f"http://localhost:{media_server.port}/x", ctx.workdir / "in", ctx, field="f")


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.10", "169.254.169.254", "fd12::1"])
def test_a_name_resolving_to_a_private_address_is_refused(ctx, fake_dns, connect_attempts, address):
    fake_dns["media.example.test"] = [address]
    with pytest.raises(InputError, match=f"resolves to {re.escape(address)}"):
        fetch("https://media.example.test/v.mp4", ctx.workdir / "in", ctx, field="url_video")
    assert connect_attempts == []


def test_the_address_is_checked_again_when_the_socket_opens(ctx, fake_dns, connect_attempts):
    # DNS rebinding: public for the first look-up, private for the connection.
    fake_dns["rebind.example.test"] = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(InputError, match=r"resolves to 10\.0\.0\.5"):
        fetch("http://rebind.example.test/v.mp4", ctx.workdir / "in", ctx, field="url_video")
    assert connect_attempts == []


def test_a_public_address_is_what_the_connection_goes_to(ctx, fake_dns, connect_attempts):
    fake_dns["public.example.test"] = ["93.184.216.34"]
    with pytest.raises(FetchError) as raised:
        fetch("http://public.example.test/v.mp4", ctx.workdir / "in", ctx, field="url_video")
    assert connect_attempts == [("93.184.216.34", 80)]
    assert raised.value.retryable is True


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.7/video.mp4",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://172.20.1.1:8080/x",
        "http://[fd00::5]/x",
        "http://inside.example.test/x",
    ],
)
def test_every_redirect_is_checked(ctx, media_server, fake_dns, connect_attempts, location):
    fake_dns["inside.example.test"] = ["192.168.7.7"]
    url = media_server.route(f"redirect-{uuid.uuid4().hex}", redirect_to(location))
    with pytest.raises(InputError) as raised:
        fetch(url, ctx.workdir / "in", ctx, field="url_srt")
    assert raised.value.field == "url_srt"
    assert "may not reach" in raised.value.message
    assert connect_attempts == []


def test_a_redirect_to_another_scheme_is_refused(ctx, media_server):
    for location in ["ftp://example.com/x", "file:///etc/passwd", "s3://api-gpu-test/x"]:
        url = media_server.route(f"redirect-{uuid.uuid4().hex}", redirect_to(location))
        with pytest.raises(InputError, match="url_video") as raised:
            fetch(url, ctx.workdir / "in", ctx, field="url_video")
        assert raised.value.field == "url_video"


def test_redirects_within_the_allowlist_are_followed_up_to_five(ctx, media_server):
    (media_server.root / "target.bin").write_bytes(b"payload")
    chain = media_server.url("target.bin")
    for hop in range(5):
        chain = media_server.route(f"hop-{hop}-{uuid.uuid4().hex}", redirect_to(chain, 307))
    assert fetch(chain, ctx.workdir / "in", ctx, field="f").read_bytes() == b"payload"
    chain = media_server.route(f"hop-6-{uuid.uuid4().hex}", redirect_to(chain, 301))
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(chain, ctx.workdir / "in", ctx, field="f")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/v.mp4", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://example.com/x", "scheme 'gopher'"),
        ("http:///no-host", "no host"),
        ("https://user:pw@example.com/x", "credentials"),
        ("s3://api-gpu-test/", "needs a key"),
        ("http://example.com:99999/x", "port is not between 0 and 65535"),
    ],
)
def test_check_url_refuses_what_the_worker_does_not_read(settings, url, message):
    with pytest.raises(InputError, match=message) as raised:
        check_url(url, "url_video", settings)
    assert raised.value.field == "url_video"
    assert "pw" not in raised.value.message


def test_spaces_and_accents_in_a_url_path_are_percent_encoded(settings, media_server):
    url = f"http://{media_server.host_port}/Project Name/vídeo 1.mp4?a=b c"
    assert check_url(url, "f", settings) == (
        f"http://{media_server.host_port}/Project%20Name/v%C3%ADdeo%201.mp4?a=b%20c"
    )


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (503, True)])
def test_http_errors_name_the_field_and_status(ctx, media_server, status, retryable):
    def answer(request):
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    url = media_server.route(f"status-{status}-{uuid.uuid4().hex}", answer) + "?token=secret"
    with pytest.raises(FetchError) as raised:
        fetch(url, ctx.workdir / "in", ctx, field="images[2].image_url")
    assert raised.value.field == "images[2].image_url"
    assert f"HTTP {status}" in raised.value.message
    assert "secret" not in raised.value.message
    assert raised.value.retryable is retryable


def test_a_declared_size_over_the_limit_is_refused_before_reading(
    settings, media_server, connect_attempts
):
    (media_server.root / "two-mb.bin").write_bytes(b"\x00" * (2 * 1024 * 1024 + 1))
    small = with_env(settings, MAX_DOWNLOAD_MB="2")
    with JobContext("big", small) as ctx:
        with pytest.raises(
            MediaError, match=r"url_video: the file is larger than MAX_DOWNLOAD_MB \(2 MB\)"
        ):
            fetch(media_server.url("two-mb.bin"), ctx.workdir / "in", ctx, field="url_video")
        assert list(ctx.workdir.iterdir()) == []


def test_an_undeclared_size_over_the_limit_is_cut_off(settings, media_server, connect_attempts):
    def endless(request):
        request.send_response(200)
        request.send_header("Connection", "close")
        request.end_headers()
        try:
            for _ in range(4096):
                request.wfile.write(b"\x00" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass

    url = media_server.route(f"endless-{uuid.uuid4().hex}", endless)
    with JobContext("big", with_env(settings, MAX_DOWNLOAD_MB="1")) as ctx:
        with pytest.raises(MediaError, match="larger than MAX_DOWNLOAD_MB"):
            fetch(url, ctx.workdir / "in", ctx, field="url_audio")
        assert list(ctx.workdir.iterdir()) == []


def trickle(request):
    request.send_response(200)
    request.send_header("Content-Length", "1000000")
    request.end_headers()
    try:
        for _ in range(600):
            request.wfile.write(b"\x00" * 10)
            request.wfile.flush()
            time.sleep(0.1)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_a_download_slower_than_the_timeout_is_abandoned(settings, media_server, connect_attempts):
    url = media_server.route(f"trickle-{uuid.uuid4().hex}", trickle)
    with JobContext("slow", with_env(settings, DOWNLOAD_TIMEOUT_S="1.5")) as ctx:
        with pytest.raises(
            FetchError,
            match=r"url_video: the download took longer than DOWNLOAD_TIMEOUT_S \(1.5 s\)",
        ):
            fetch(url, ctx.workdir / "in", ctx, field="url_video")
        assert list(ctx.workdir.iterdir()) == []


def test_a_server_that_never_answers_times_out(settings, media_server, connect_attempts):
    def silent(request):
        time.sleep(30)

    url = media_server.route(f"silent-{uuid.uuid4().hex}", silent)
    with (
        JobContext("silent", with_env(settings, DOWNLOAD_TIMEOUT_S="1")) as ctx,
        pytest.raises(FetchError) as raised,
    ):
        fetch(url, ctx.workdir / "in", ctx, field="url_srt")
    assert raised.value.field == "url_srt"


def test_cancel_interrupts_a_download(ctx, media_server):
    url = media_server.route(f"trickle-{uuid.uuid4().hex}", trickle)
    timer = threading.Timer(0.5, ctx.cancel)
    timer.start()
    with pytest.raises(JobCancelled):
        fetch(url, ctx.workdir / "in", ctx, field="url_video")
    timer.join()
    assert list(ctx.workdir.iterdir()) == []


def test_s3_urls_read_the_configured_bucket_with_the_workers_credentials(ctx, s3, job_path):
    key = f"{job_path}entrada ção.srt"
    s3.put_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key, Body=b"1\n")
    path = fetch(
        f"s3://{os.environ['S3_BUCKET_NAME']}/{key}", ctx.workdir / "in", ctx, field="url_srt"
    )
    assert path.read_bytes() == b"1\n"


def test_s3_urls_of_other_buckets_are_refused(ctx):
    with pytest.raises(
        InputError, match="bucket 'someone-elses' is not one this worker may read"
    ) as raised:
        fetch("s3://someone-elses/secret.mp4", ctx.workdir / "in", ctx, field="url_video")
    assert raised.value.field == "url_video"


def test_a_missing_s3_object_is_a_fetch_error(ctx, job_path):
    with pytest.raises(FetchError, match="object not found") as raised:
        fetch(
            f"s3://{os.environ['S3_BUCKET_NAME']}/{job_path}none",
            ctx.workdir / "in",
            ctx,
            field="url_srt",
        )
    assert raised.value.retryable is False


def test_our_own_public_urls_are_read_from_the_bucket_not_over_http(
    settings, s3, job_path, connect_attempts
):
    key = f"{job_path}segments ação.srt"
    s3.put_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key, Body=b"subtitles")
    cdn = with_env(settings, S3_PUBLIC_URL="https://cdn.example.test/media")
    with JobContext("own", cdn) as ctx:
        url = ctx.storage.public_url(key)
        assert url.startswith("https://cdn.example.test/media/tests/")
        assert fetch(url, ctx.workdir / "in", ctx, field="url_srt").read_bytes() == b"subtitles"
    assert connect_attempts == []


def test_an_s3_object_over_the_limit_is_refused(settings, s3, job_path):
    key = f"{job_path}big.bin"
    s3.put_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key, Body=b"\x00" * (1024 * 1024 + 1))
    with JobContext("s3-big", with_env(settings, MAX_DOWNLOAD_MB="1")) as ctx:
        with pytest.raises(
            MediaError, match=r"url_video: the file is larger than MAX_DOWNLOAD_MB \(1 MB\)"
        ):
            fetch(
                f"s3://{os.environ['S3_BUCKET_NAME']}/{key}",
                ctx.workdir / "in",
                ctx,
                field="url_video",
            )
        assert list(ctx.workdir.iterdir()) == []
