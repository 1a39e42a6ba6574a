"""Downloads: 50 concurrent clients fetching a 2 MB file from `hoso serve` on PostgreSQL vs nginx serving the same
bytes from disk, in the same run.

    .venv/bin/python bench/bench_downloads.py [--requests 400] [--concurrency 50] [--size-mb 2] [--workers 2]
                                              [--rounds 2]

Limits (issue 15): hoso's throughput ≥ 0.5 × nginx's, hoso's p99 < 200 ms. The load comes from `ab` (Debian
apache2-utils), a C client, so the Python under test does not share its cores with a Python client. nginx gets as
many worker processes as hoso gets `--workers`. hoso serves from three folder replicas on the same disk, verifying
the copy and recording a `document.download` event per request, as in production; nginx does neither (that is the
point of the comparison). Two ways of serving hoso are measured, each against nginx in the same run, alternated
round by round: hoso sending the bytes itself, and nginx in front of hoso with HOSO_DOWNLOAD_ACCEL_PREFIX (hoso
authorises, verifies the copy and records the event, then answers X-Accel-Redirect; nginx sends the file, as
deploy/nginx/hoso.conf does). A third upstream behind the same proxy, bench/bare_verify.py, only hashes the copy and
answers X-Accel-Redirect: the ceiling of any download verified on every read on this machine, printed beside the
limits with hoso's share of it. Needs `nginx` and `ab` (scripts/system-deps.sh bench) and PostgreSQL on 127.0.0.1.
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from archive import accounts, orgs  # noqa: E402
from archive.ingest import ingest_file  # noqa: E402
from archive.settings import Settings  # noqa: E402
from bench.bench_province import fresh_database, postgres_reachable  # noqa: E402
from bench.pdfgen import make_big_pdf  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402
from storage.base import content_key  # noqa: E402
from tests.processes import LiveServer, free_port, stop_server  # noqa: E402

MB = 1024 * 1024
RATIO_LIMIT = 0.5
P99_LIMIT_MS = 200.0

ACCEL_PREFIX = "/_hoso_files"

# the static server is what hoso is compared with; the proxy in front of hoso is deploy/nginx/hoso.conf's
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
    upstream hoso_app {{
        server 127.0.0.1:{hoso_port};
        keepalive 32;
    }}
    upstream bare_app {{
        server 127.0.0.1:{bare_port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://hoso_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location {accel}{replicas}/ {{
            internal;
            alias {replicas}/;
            add_header X-Content-SHA256 $upstream_http_x_content_sha256 always;
            add_header Digest $upstream_http_digest always;
        }}
    }}
    server {{
        listen 127.0.0.1:{bare_proxy_port};
        location / {{
            proxy_pass http://bare_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location {accel}{replicas}/ {{
            internal;
            alias {replicas}/;
            add_header X-Content-SHA256 $upstream_http_x_content_sha256 always;
        }}
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


def start_nginx(
    work: Path, workers: int, payload: Path, hoso_port: int, bare_port: int, replicas: Path
) -> tuple[subprocess.Popen[bytes], str, int, int]:
    """nginx serving `payload` from disk (its URL), proxying to hoso on `hoso_port` and to the bare verifying app on
    `bare_port` (the two proxy ports returned)."""
    (work / "www").mkdir(parents=True)
    (work / "tmp").mkdir()
    shutil.copyfile(payload, work / "www" / "doc.pdf")
    port, proxy_port, bare_proxy_port = free_port(), free_port(), free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            workers=workers, dir=work, port=port, proxy_port=proxy_port, hoso_port=hoso_port,
            bare_port=bare_port, bare_proxy_port=bare_proxy_port, accel=ACCEL_PREFIX, replicas=replicas,
        )
    )  # fmt: skip
    proc = subprocess.Popen(
        ["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/doc.pdf"
    for _ in range(100):
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return proc, url, proxy_port, bare_proxy_port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()  # the master stops its workers (a SIGKILL would leave them running)
    proc.wait(10)
    raise RuntimeError(f"nginx did not start: {(work / 'error.log').read_text(errors='replace')}")


def start_workers(
    cmd: list[str], env: dict[str, str], log: Path, port: int, workers: int, what: str
) -> LiveServer:
    """`python -m <cmd>` serving on `port`, waited for until every one of its `workers` has started (the first answer
    may come from one worker while another still imports), for up to ten minutes: on two shared cores under load a
    worker takes minutes to import, and a parent killed before its workers are up leaves them running."""
    out = open(log, "wb")  # noqa: SIM115 — the server process owns it until stop_server
    proc = subprocess.Popen([sys.executable, "-m", *cmd], env=env, stdout=out, stderr=out, cwd=ROOT)
    server = LiveServer(f"http://127.0.0.1:{port}", env, proc, log)
    end = time.monotonic() + 600
    while log.read_text(errors="replace").count("Application startup complete") < workers:
        if proc.poll() is not None or time.monotonic() > end:
            stop_server(server)
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    return server


def start_hoso(env: dict[str, str], log: Path, workers: int) -> LiveServer:
    """`hoso serve --workers N`."""
    port = free_port()
    env = env | {"HOSO_BASE_URL": f"http://127.0.0.1:{port}"}
    cmd = ["hoso.cli", "serve", "--port", str(port), "--workers", str(workers)]
    server = start_workers(cmd, env, log, port, workers, "hoso")
    httpx.get(server.base_url + "/api/v1/health", timeout=30).raise_for_status()
    return server


def start_bare(env: dict[str, str], log: Path, workers: int) -> LiveServer:
    """bench/bare_verify.py under uvicorn with `workers` processes, as `hoso serve` runs (uvloop, httptools)."""
    port = free_port()
    cmd = [
        "uvicorn",
        "bench.bare_verify:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    return start_workers(cmd, env, log, port, workers, "the bare app")


def port_of(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER LIMIT"


@dataclass
class Served:
    nginx_url: str  # nginx sending the file from disk
    hoso_url: str  # hoso sending the bytes itself
    accel_url: str  # nginx in front of hoso, which answers X-Accel-Redirect
    bare_url: str  # nginx in front of bench/bare_verify.py: the hash and the redirect, nothing else
    auth: dict[str, str]


@contextmanager
def serving(work: Path, size: int, workers: int) -> Iterator[Served]:
    """nginx and two `hoso serve` (without and with X-Accel-Redirect) on one fresh PostgreSQL catalog, all holding
    the same file."""
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
        path = f"/api/v1/documents/{doc.document.id}/content"
        auth = {"Authorization": f"Bearer {token}"}
        accel_env = env | {"HOSO_DOWNLOAD_ACCEL_PREFIX": ACCEL_PREFIX, "HOSO_TRUSTED_PROXIES": "127.0.0.1"}
        with ExitStack() as stack:
            direct = start_hoso(env, work / "serve.log", workers)
            stack.callback(stop_server, direct)
            accel = start_hoso(accel_env, work / "serve-accel.log", workers)
            stack.callback(stop_server, accel)
            sha = doc.document.current.sha256
            copy = var / "copy0" / content_key(sha)
            bare_env = env | {
                "BENCH_BARE_FILE": str(copy),
                "BENCH_BARE_SHA256": sha,
                "BENCH_BARE_TARGET": ACCEL_PREFIX + str(copy),
            }
            bare = start_bare(bare_env, work / "bare.log", workers)
            stack.callback(stop_server, bare)
            nginx, nginx_url, proxy_port, bare_proxy_port = start_nginx(
                work / "nginx", workers, payload, port_of(accel), port_of(bare), var
            )

            def stop_nginx() -> None:
                nginx.terminate()
                nginx.wait(10)

            stack.callback(stop_nginx)
            served = Served(
                nginx_url,
                direct.base_url + path,
                f"http://127.0.0.1:{proxy_port}{path}",
                f"http://127.0.0.1:{bare_proxy_port}{path}",
                auth,
            )
            for which in (served.hoso_url, served.accel_url, served.bare_url):
                r = httpx.get(which, headers=auth, timeout=30)
                assert r.status_code == 200 and r.content == payload.read_bytes(), (which, r.status_code)
                assert r.headers["content-type"] == "application/pdf", r.headers
                assert r.headers["x-content-sha256"] == sha, (which, r.headers)
            yield served


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--size-mb", type=float, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=2, help="nginx, hoso, hoso+accel in turn, this many times")
    args = ap.parse_args(argv)
    missing = [tool for tool in ("nginx", "ab") if shutil.which(tool) is None]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/system-deps.sh bench)")
        return
    if not postgres_reachable():
        return
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-downloads-", dir=os.environ.get("HOSO_BENCH_DIR")))
    work.chmod(0o755)  # run as root, nginx's workers read the files as an unprivileged user
    runs: dict[str, list[tuple[float, float, int]]] = {"nginx": [], "hoso": [], "accel": [], "bare": []}
    loads = []
    try:
        with serving(work, int(args.size_mb * MB), args.workers) as served:
            targets = {
                "nginx": (served.nginx_url, {}),
                "hoso": (served.hoso_url, served.auth),
                "accel": (served.accel_url, served.auth),
                "bare": (served.bare_url, {}),
            }
            warm = min(args.requests, 50)
            for url, headers in targets.values():
                ab(url, warm, args.concurrency, headers)
            for _ in range(args.rounds):
                for name, (url, headers) in targets.items():
                    runs[name].append(ab(url, args.requests, args.concurrency, headers))
                loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.concurrency} clients × {args.requests} requests of a {args.size_mb:g} MB file, "
        f"{args.workers} worker process(es) each, {args.rounds} round(s), load average "
        f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores"
    )
    labels = {
        "nginx": "nginx (disk)",
        "hoso": "hoso (PostgreSQL)",
        "accel": "nginx → hoso, X-Accel",
        "bare": "nginx → hash only, X-Accel",
    }
    for name, label in labels.items():
        for i, (rps, p99, failed) in enumerate(runs[name]):
            print(f"  {label:24s} round {i + 1}: {rps:8.1f} req/s  p99 {p99:6.0f} ms  failed {failed}")
    for name in ("hoso", "accel"):
        ratios = [h[0] / n[0] for h, n in zip(runs[name], runs["nginx"], strict=True)]
        p99 = max(h[1] for h in runs[name])
        failed = sum(h[2] for h in runs[name])
        print(f"  {labels[name]}:")
        print(
            f"    throughput ratio:    {min(ratios):.3f}–{max(ratios):.3f}   (limit ≥ {RATIO_LIMIT})  "
            f"{verdict(min(ratios) >= RATIO_LIMIT)}"
        )
        print(
            f"    p99 (worst round):   {p99:.0f} ms (limit < {P99_LIMIT_MS:.0f} ms)  {verdict(p99 < P99_LIMIT_MS)}"
        )
        print(f"    failed requests:     {failed}   (limit 0)  {verdict(failed == 0)}")
    # what any verified download could reach here: no limit of its own, the yardstick for the two above
    ceiling = [b[0] / n[0] for b, n in zip(runs["bare"], runs["nginx"], strict=True)]
    share = [a[0] / b[0] for a, b in zip(runs["accel"], runs["bare"], strict=True)]
    print(f"  {labels['bare']} (the ceiling of hashing every copy served, behind the same proxy):")
    print(f"    throughput ratio:    {min(ceiling):.3f}–{max(ceiling):.3f} of nginx; "
          f"p99 {max(b[1] for b in runs['bare']):.0f} ms")  # fmt: skip
    print(f"    hoso with X-Accel:   {min(share):.3f}–{max(share):.3f} of this ceiling")


if __name__ == "__main__":
    main()
