"""Downloads a job's inputs: http(s) under the SSRF rules, ``s3://`` and our own public URLs by S3.

A job's URL may name any host, so the worker must not become a way into the network it runs in.
An http(s) host is resolved, and every address it resolves to must be public (not loopback,
private, link-local such as the cloud metadata service at 169.254.169.254, multicast, reserved)
unless its ``host:port`` is in PRIVATE_URL_ALLOWLIST. The check runs when the socket is opened,
on the very address then connected to (so a name that re-resolves differently between a check and
the connection gains nothing), and again for every redirect. Redirects are followed by hand, at
most five, each to http or https only.

``s3://bucket/key`` reads the results bucket or one listed in S3_INPUT_BUCKETS, with the worker's
credentials; a URL under S3_PUBLIC_URL (one this service returned) is read as that key of the
results bucket, not fetched over HTTP.
"""

import errno
import ipaddress
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import parse_url

from .errors import FetchError, InputError, MediaError, redact_url
from .settings import Settings

if TYPE_CHECKING:
    from .job import JobContext

MAX_REDIRECTS = 5
_CHUNK = 1024 * 1024
_CONNECT_TIMEOUT_S = 15.0
_SCHEMES = ("http", "https", "s3")
_REDIRECTS = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Kept as in the URL: RFC 3986 delimiters and existing percent-escapes; the rest is encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?"


class RefusedAddress(Exception):
    """A host resolved to an address jobs may not reach."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"host {host} resolves to {address}, a non-public address")
        self.host = host
        self.address = address


def check_url(url: str, field: str, settings: Settings) -> str:
    """Refuses a URL the worker will not read; returns it normalized (spaces percent-encoded).

    For http(s), the host's addresses are checked now as well, so the job fails before anything
    else is done; the connection checks them again.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        explicit_port = parts.port
    except ValueError:
        raise InputError(f"{field}: the port is not between 0 and 65535", field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InputError(
            f"{field}: scheme {scheme or '(none)'!r} is not http, https or s3", field=field
        )
    if not parts.hostname:
        raise InputError(f"{field}: the URL has no host", field=field)
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{field}: credentials in URLs are not accepted", field=field)
    if scheme == "s3":
        if not parts.path.strip("/"):
            raise InputError(f"{field}: an s3:// URL needs a key (s3://bucket/key)", field=field)
        return url
    normalized = urllib.parse.urlunsplit(
        (
            scheme,
            parts.netloc,
            urllib.parse.quote(parts.path, safe=_PATH_SAFE),
            urllib.parse.quote(parts.query, safe=_QUERY_SAFE),
            "",
        )
    )
    port = explicit_port if explicit_port is not None else _DEFAULT_PORTS[scheme]
    try:
        _check_addresses(parts.hostname, port, settings.private_url_allowlist)
    except RefusedAddress as refused:
        raise _refused(field, refused) from None
    except socket.gaierror as error:
        raise _unresolved(field, parts.hostname, error) from None
    return normalized


def fetch(url: str, dest: Path, ctx: "JobContext", *, field: str) -> Path:
    """Downloads ``url`` (the value of job field ``field``) to ``dest``; returns ``dest``."""
    settings = ctx.settings
    ctx.check_cancelled()
    deadline = time.monotonic() + settings.download_timeout_s
    public_prefix = settings.s3_public_url + "/"
    try:
        if url.startswith(public_prefix):
            key = urllib.parse.unquote(urllib.parse.urlsplit(url[len(public_prefix) :]).path)
            _download_object(settings.s3_bucket, key, dest, ctx, field, deadline)
            return dest
        normalized = check_url(url, field, settings)
        if normalized.lower().startswith("s3://"):
            parts = urllib.parse.urlsplit(normalized)
            key = urllib.parse.unquote(parts.path.lstrip("/"))
            _download_object(parts.netloc, key, dest, ctx, field, deadline)
        else:
            _download_http(normalized, dest, ctx, field, deadline)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _download_object(
    bucket: str, key: str, dest: Path, ctx: "JobContext", field: str, deadline: float
) -> None:
    body = ctx.storage.open_object(bucket, key, field=field)
    try:
        _save(body, dest, ctx, field, deadline)
    finally:
        body.release_conn()


def _download_http(url: str, dest: Path, ctx: "JobContext", field: str, deadline: float) -> None:
    settings = ctx.settings
    for _ in range(MAX_REDIRECTS + 1):
        response = _request(url, field, settings, deadline)
        if response.status in _REDIRECTS:
            location = response.headers.get("Location")
            response.drain_conn()
            response.release_conn()
            if not location:
                raise FetchError(f"{field}: redirect without a Location header", field=field)
            url = check_url(urllib.parse.urljoin(url, location), field, settings)
            if url.lower().startswith("s3://"):
                raise InputError(f"{field}: a redirect may only lead to http or https", field=field)
            continue
        try:
            _save(response, dest, ctx, field, deadline)
        finally:
            response.release_conn()
        return
    raise FetchError(f"{field}: more than {MAX_REDIRECTS} redirects", field=field)


def _request(url: str, field: str, settings: Settings, deadline: float):
    parts = parse_url(url)
    pool_class, connection_class = (
        (HTTPSConnectionPool, _GuardedHTTPSConnection)
        if parts.scheme == "https"
        else (HTTPConnectionPool, _GuardedHTTPConnection)
    )
    remaining = max(0.1, deadline - time.monotonic())
    pool = pool_class(
        parts.host,
        parts.port,
        maxsize=1,
        timeout=Timeout(connect=min(_CONNECT_TIMEOUT_S, remaining), read=remaining),
        retries=False,
    )
    pool.ConnectionCls = type(
        connection_class.__name__,
        (connection_class,),
        {"allowlist": settings.private_url_allowlist},
    )
    try:
        response = pool.urlopen(
            "GET",
            parts.request_uri,
            headers={"User-Agent": "api-gpu-worker", "Accept-Encoding": "identity"},
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=True,
        )
    except RefusedAddress as refused:
        raise _refused(field, refused) from None
    except Urllib3Error as error:
        raise _network_error(field, error) from None
    if response.status >= 400 or (response.status >= 300 and response.status not in _REDIRECTS):
        status = response.status
        response.release_conn()
        raise FetchError(
            f"{field}: the server answered HTTP {status} for {redact_url(url)}",
            field=field,
            retryable=status >= 500 or status == 429,
        )
    return response


def _save(response, dest: Path, ctx: "JobContext", field: str, deadline: float) -> None:
    limit = ctx.settings.max_download_bytes
    too_large = MediaError(
        f"{field}: the file is larger than MAX_DOWNLOAD_MB ({ctx.settings.max_download_mb} MB)",
        field=field,
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        response.shutdown()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    received = 0
    try:
        with ctx.cancel_hook(response.shutdown), dest.open("wb") as out:
            while chunk := response.read1(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise too_large
                out.write(chunk)
                if timed_out.is_set():
                    break
    except (Urllib3Error, OSError) as error:
        ctx.check_cancelled()
        if not timed_out.is_set():
            raise _network_error(field, error) from None
    finally:
        timer.cancel()
    ctx.check_cancelled()
    if timed_out.is_set():
        raise FetchError(
            f"{field}: the download took longer than DOWNLOAD_TIMEOUT_S "
            f"({ctx.settings.download_timeout_s:g} s)",
            field=field,
        )
    if declared.isdigit() and received < int(declared):
        raise FetchError(
            f"{field}: the connection closed after {received} of {declared} bytes",
            field=field,
            retryable=True,
        )


class _GuardedConnectionMixin:
    allowlist: frozenset[str] = frozenset()

    def _new_conn(self) -> socket.socket:
        return guarded_connect(self.host, self.port, self.timeout, self.allowlist)


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


def guarded_connect(
    host: str, port: int, timeout: float | None, allowlist: frozenset[str]
) -> socket.socket:
    """Resolves ``host``, refuses it if any address is not public, connects to a checked one."""
    addresses = _check_addresses(host, port, allowlist)
    last_error: OSError | None = None
    for family, sockaddr in addresses:
        try:
            return _open_socket(family, sockaddr, timeout)
        except OSError as error:
            last_error = error
    raise last_error or OSError(errno.EHOSTUNREACH, f"no address for {host}")


def _check_addresses(host: str, port: int, allowlist: frozenset[str]) -> list[tuple[int, tuple]]:
    bare = host.strip("[]")
    allowed = _host_port(bare, port) in allowlist
    addresses = [(family, sockaddr) for family, _, _, _, sockaddr in _resolve(bare, port)]
    if not allowed:
        for _, sockaddr in addresses:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if not is_public_address(address):
                raise RefusedAddress(host, str(address))
    return addresses


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}".lower() if ":" in host else f"{host}:{port}".lower()


def _resolve(host: str, port: int) -> list[tuple]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _open_socket(family: int, sockaddr: tuple, timeout: float | None) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _refused(field: str, refused: RefusedAddress) -> InputError:
    return InputError(
        f"{field}: host {refused.host} resolves to {refused.address}, a loopback, private, "
        "link-local, multicast or reserved address, which jobs may not reach",
        field=field,
    )


def _unresolved(field: str, host: str, error: socket.gaierror) -> FetchError:
    return FetchError(
        f"{field}: host {host} cannot be resolved",
        field=field,
        retryable=error.errno == socket.EAI_AGAIN,
    )


def _network_error(field: str, error: Exception) -> FetchError:
    cause = error
    while cause.__context__ is not None and not isinstance(cause, socket.gaierror):
        cause = cause.__context__
    if isinstance(cause, socket.gaierror):
        return FetchError(f"{field}: the host cannot be resolved", field=field, retryable=True)
    return FetchError(
        f"{field}: the download failed ({type(error).__name__})", field=field, retryable=True
    )
