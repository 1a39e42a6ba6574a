"""Start moto's S3 server (in this process, on 127.0.0.1, a free port) for tests that need S3 over real HTTP.

    from tests.s3server import start_moto_server
    endpoint_url, stop = start_moto_server()
    try:
        store = S3Store(f"s3://bucket?endpoint_url={endpoint_url}")
        ...
    finally:
        stop()

Credentials: moto accepts any; `start_moto_server()` does not touch the environment. Set dummy values yourself
(`use_dummy_aws_credentials(monkeypatch)` below does it for a pytest test or fixture), so nothing ever reaches a real
AWS account. Plain module: import it from any test suite.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_moto_server(host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Start a ThreadedMotoServer on `host` and a free port; return (endpoint_url, stop). `stop` is idempotent."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)  # port 0: the OS picks a free port
    server.start()
    bound_host, port = server.get_host_and_port()
    endpoint_url = f"http://{bound_host}:{port}"
    # wait until it answers (start() returns once the socket is bound, which is already enough; be sure anyway)
    with socket.create_connection((bound_host, port), timeout=5):
        pass
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.stop()

    return endpoint_url, stop


def closed_port_url(host: str = "127.0.0.1") -> str:
    """An http:// URL on which nothing listens (for "store is down" tests)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    return f"http://{host}:{port}"


def use_dummy_aws_credentials(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Point boto3 at fake credentials and no config files (pytest's monkeypatch undoes it)."""
    for name, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
