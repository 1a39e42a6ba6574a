"""Downloads: 50 concurrent clients fetching a 2 MB file from `hoso serve` on PostgreSQL vs nginx serving the same
bytes from disk, in the same run.

    .venv/bin/python bench/bench_downloads.py [--requests 400] [--concurrency 50] [--size-mb 2] [--workers 2]

Limits (issue 15): hoso's throughput ≥ 0.5 × nginx's, hoso's p99 < 200 ms. The load comes from `ab` (Debian
apache2-utils), a C client, so the Python under test does not share its cores with a Python client. nginx gets as
many worker processes as hoso gets `--workers`. hoso serves from three folder replicas on the same disk, verifying
the copy and recording a `document.download` event per request, as in production; nginx does neither (that is the
point of the comparison). Needs `nginx` and `ab` (scripts/system-deps.sh bench) and PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from archive import accounts, orgs  # noqa: E402
from archive.ingest import ingest_file  # noqa: E402
from archive.settings import Settings  # noqa: E402
from bench.bench_province import PG_ADMIN, fresh_database  # noqa: E402
from bench.pdfgen import make_big_pdf  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402
from tests.processes import LiveServer, free_port, start_server, stop_server  # noqa: E402

MB = 1024 * 1024
RATIO_LIMIT = 0.5
P99_LIMIT_MS = 200.0

NGINX_CONF = """\
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
}}
"""


def ab(url: str, requests: int, concurrency: int, headers: dict[str, str]) -> tuple[float, float, int]:
    """Requests per second, p99 in ms and failed requests, as `ab` reports them."""
    cmd = ["ab", "-q", "-n", str(requests), "-c", str(concurrency)]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = float(re.search(r"^\s*99%\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    return rps, p99, failed + (int(non_2xx.group(1)) if non_2xx else 0)


def start_nginx(work: Path, workers: int, payload: Path) -> tuple[subprocess.Popen[bytes], str]:
    (work / "www").mkdir(parents=True)
    (work / "tmp").mkdir()
    shutil.copyfile(payload, work / "www" / "doc.pdf")
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=work, port=port))
    proc = subprocess.Popen(
        ["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/doc.pdf"
    for _ in range(100):
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()  # the master stops its workers (a SIGKILL would leave them running)
    proc.wait(10)
    raise RuntimeError(f"nginx did not start: {(work / 'error.log').read_text(errors='replace')}")


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER LIMIT"


@contextmanager
def serving(work: Path, size: int, workers: int) -> Iterator[tuple[str, str, dict[str, str], LiveServer]]:
    """nginx and `hoso serve` on a fresh PostgreSQL catalog, both holding the same file: yields nginx's URL of it,
    hoso's, the Authorization header for hoso, and the hoso server."""
    with fresh_database() as (url, _dsn):
        var = work / "var"
        env = os.environ | {
            "HOSO_DATA_DIR": str(var),
            "HOSO_DATABASE_URL": url,
            "HOSO_REPLICAS": ",".join(f"file://{var / f'copy{i}'}" for i in range(3)),
            "HOSO_SCHEDULER_ENABLED": "false",
            "HOSO_LOG_FORMAT": "text",
        }
        settings = Settings(
            data_dir=var,
            database_url=url,
            replicas=env["HOSO_REPLICAS"].split(","),
            scheduler_enabled=False,
            pdfa_normalise=False,
        )
        archive = build_archive(settings, migrate=True)
        with archive.sessions() as s, s.begin():
            orgs.add_organisation(s, code="B01", name="Trường đo tốc độ", kind="truong", level="THPT")
        payload = work / "doc.pdf"
        make_big_pdf(payload, size, random=True)
        doc = ingest_file(
            archive, payload, filename="doc.pdf", school="B01", type_code="khac", year="2024-2025"
        )
        with archive.sessions() as s, s.begin():
            token = accounts.create_token(s, user=accounts.get_user(s, "admin"), name="bench").secret
        archive.close()
        nginx, nginx_url = start_nginx(work / "nginx", workers, payload)
        try:
            server = start_server(env, work / "serve.log", extra_args=["--workers", str(workers)])
            try:
                hoso_url = f"{server.base_url}/api/v1/documents/{doc.document.id}/content"
                auth = {"Authorization": f"Bearer {token}"}
                r = httpx.get(hoso_url, headers=auth, timeout=30)
                assert r.status_code == 200 and r.content == payload.read_bytes(), r.status_code
                yield nginx_url, hoso_url, auth, server
            finally:
                stop_server(server)
        finally:
            nginx.terminate()
            nginx.wait(10)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--size-mb", type=float, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    missing = [tool for tool in ("nginx", "ab") if shutil.which(tool) is None]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/system-deps.sh bench)")
        return
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: PostgreSQL at {PG_ADMIN} is not reachable ({exc})")
        return
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-downloads-", dir=os.environ.get("HOSO_BENCH_DIR")))
    work.chmod(0o755)  # run as root, nginx's workers read the file as an unprivileged user
    try:
        with serving(work, int(args.size_mb * MB), args.workers) as (nginx_url, hoso_url, auth, _server):
            warm = min(args.requests, 50)
            ab(nginx_url, warm, args.concurrency, {})
            ab(hoso_url, warm, args.concurrency, auth)
            n_rps, n_p99, n_failed = ab(nginx_url, args.requests, args.concurrency, {})
            h_rps, h_p99, h_failed = ab(hoso_url, args.requests, args.concurrency, auth)
            load = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = h_rps / n_rps
    print(
        f"{args.concurrency} clients × {args.requests} requests of a {args.size_mb:g} MB file, "
        f"{args.workers} worker process(es) each, load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"  nginx (disk):          {n_rps:8.1f} req/s  p99 {n_p99:6.0f} ms  failed {n_failed}")
    print(f"  hoso (PostgreSQL):     {h_rps:8.1f} req/s  p99 {h_p99:6.0f} ms  failed {h_failed}")
    print(f"  throughput ratio:      {ratio:8.3f}   (limit ≥ {RATIO_LIMIT})  {verdict(ratio >= RATIO_LIMIT)}")
    print(
        f"  hoso p99:              {h_p99:8.0f} ms (limit < {P99_LIMIT_MS:.0f} ms)  {verdict(h_p99 < P99_LIMIT_MS)}"
    )
    print(f"  failed hoso requests:  {h_failed:8d}   (limit 0)  {verdict(h_failed == 0)}")


if __name__ == "__main__":
    main()
