"""A real HTTP server on 127.0.0.1 for the tests' media, listed in PRIVATE_URL_ALLOWLIST.

It serves the files of one directory by name (any name: accents, quotes, colons), and
``route(path, handler)`` adds a special answer (a redirect, a slow or endless body) for one path.
"""

import contextlib
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RouteHandler = Callable[[BaseHTTPRequestHandler], None]


class MediaServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes: dict[str, RouteHandler] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                server.requests.append(path)
                route = server.routes.get(path)
                if route is not None:
                    route(self)
                    return
                file = (server.root / path.lstrip("/")).resolve()
                if not file.is_file() or server.root.resolve() not in file.parents:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(file.stat().st_size))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                with (
                    file.open("rb") as body,
                    contextlib.suppress(BrokenPipeError, ConnectionResetError),
                ):
                    shutil.copyfileobj(body, self.wfile)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.host_port = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> "MediaServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, name: str) -> str:
        """The URL of ``name`` (a file under root or a route), percent-encoded."""
        return f"http://{self.host_port}/{urllib.parse.quote(name.lstrip('/'))}"

    def route(self, path: str, handler: RouteHandler) -> str:
        """Answers ``path`` with ``handler``; returns its URL."""
        self.routes["/" + path.lstrip("/")] = handler
        return self.url(path)


def redirect_to(location: str, status: int = 302) -> RouteHandler:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handler
