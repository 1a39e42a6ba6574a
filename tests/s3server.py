"""S3 servers for tests over real HTTP: moto's (in this process, on 127.0.0.1, a free port) and Ceph RGW (a real
server, started by scripts/ceph-rgw-start.sh; the session fixtures are in tests/s3fixtures.py).

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
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

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


# ---- Ceph RADOS Gateway: a real S3 server -------------------------------------------------------------------------

RGW_BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool")
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def rgw_missing() -> str | None:
    """Why Ceph RGW cannot be started here (None when it can): `scripts/system-deps.sh test` installs it."""
    missing = [b for b in RGW_BINARIES if shutil.which(b) is None]
    return f"Ceph RGW not installed (missing {', '.join(missing)})" if missing else None


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_rgw_server(workdir: Path, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Start a one-node Ceph cluster (memstore) and radosgw on free ports with `scripts/ceph-rgw-start.sh`; return
    (endpoint_url, stop). The S3 user's keys are the dummy credentials moto accepts too (DUMMY_AWS_ENV), so one
    environment serves both servers. A watchdog stops the daemons if this process dies without calling `stop`."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        CEPH_DIR=str(workdir / "rgw"),
        S3_ACCESS_KEY=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        S3_SECRET_KEY=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        READY_TIMEOUT="60",
    )
    log = workdir / "start.log"
    for attempt in range(3):  # a free port can be taken between our probe and the daemon's bind: try new ones
        env.update(MON_PORT=str(_free_port(host)), RGW_PORT=str(_free_port(host)))
        with log.open("w") as out:
            done = subprocess.run(
                [str(SCRIPTS / "ceph-rgw-start.sh")], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode == 0:
            break
        subprocess.run([str(SCRIPTS / "ceph-rgw-stop.sh")], env={**env, "FAST": "1"}, capture_output=True)
        if attempt == 2:
            raise RuntimeError(f"Ceph RGW did not start:\n{log.read_text()[-3000:]}")
    # the daemons detach from us; if pytest is killed, the watchdog stops them rather than leave ~200 MB running
    watchdog = subprocess.Popen(
        [
            "bash",
            "-c",
            f'while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; exec "{SCRIPTS / "ceph-rgw-stop.sh"}"',
        ],
        env={**env, "FAST": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            watchdog.kill()
            watchdog.wait()
            subprocess.run([str(SCRIPTS / "ceph-rgw-stop.sh")], env=env, capture_output=True, timeout=120)

    return f"http://{host}:{env['RGW_PORT']}", stop
