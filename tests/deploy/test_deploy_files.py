"""What can be checked here of deploy/: the alert rules parse and fire when they should (promtool), and every metric
they name is one /metrics really serves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from archive.settings import Settings
from hoso.app import create_app
from retention.job_results import record_result
from tests.factories import bearer, make_archive

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing; scripts/system-deps.sh test installs it")
        pytest.skip(f"{name} is not installed")
    return path


def test_alert_rules_parse_and_fire_as_their_unit_tests_say():
    promtool = tool("promtool")
    check = subprocess.run(
        [promtool, "check", "rules", "prometheus-alerts.yml"], cwd=DEPLOY, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 7 rules found" in check.stdout
    test = subprocess.run(
        [promtool, "test", "rules", "prometheus-alerts.test.yml"], cwd=DEPLOY, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_metric_the_alerts_use_is_served(tmp_path: Path):
    rules = (DEPLOY / "prometheus-alerts.yml").read_text()
    used = set(re.findall(r"\b(hoso_[a-z_]+)", rules))
    assert {
        "hoso_replica_copies_unrepaired",
        "hoso_store_up",
        "hoso_tsa_up",
        "hoso_fixity_overdue_copies",
    } <= used
    archive = make_archive(
        tmp_path, tsa_url="http://127.0.0.1:9/tsa"
    )  # hoso_tsa_up is served when a TSA is set
    try:
        record_result(archive, "fixity-light", True)  # job series exist once a job has run
        with TestClient(create_app(archive.settings, archive=archive), base_url="http://127.0.0.1") as client:
            text = client.get("/metrics", headers=bearer(archive)).text
    finally:
        archive.close()
    served = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert used <= set(served), used - set(served)
    assert served["hoso_tsa_up"] == 0  # nothing listens on port 9


# ---- compose, Dockerfile, systemd ---------------------------------------------------------------------------------


def compose() -> dict:
    import yaml

    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_the_province_layout():
    c = compose()
    services = c["services"]
    assert set(services) == {
        "postgres", "minio-a", "minio-b", "minio-c", "minio-init", "migrate",
        "app1", "app2", "worker1", "worker2", "pg-backup", "proxy",
    }  # fmt: skip
    assert services["postgres"]["image"].startswith("postgres:15")
    # room for every process's connection pool (archive.settings.db_pool_size, half as many again at a peak)
    processes = [name for name, svc in services.items() if str(svc.get("image", "")).startswith("hoso")]
    assert set(processes) == {"migrate", "app1", "app2", "worker1", "worker2", "pg-backup"}
    max_connections = int(services["postgres"]["command"][-1].split("=")[1])
    assert max_connections >= len(processes) * Settings().db_pool_size * 1.5
    for name, svc in services.items():  # every dependency names a service that exists
        assert set(svc.get("depends_on", {})) <= set(services), name
    replicas = services["app1"]["environment"]["HOSO_REPLICAS"].split(",")
    assert [r.split("endpoint_url=")[1] for r in replicas] == [f"http://minio-{s}:9000" for s in "abc"]
    # the scheduler runs only in the workers
    for name in ("app1", "app2", "worker1", "worker2"):
        assert services[name]["environment"]["HOSO_SCHEDULER_ENABLED"] == "false"
    assert services["worker1"]["command"] == ["hoso", "worker"] == services["worker2"]["command"]
    assert "Dockerfile" in services["app1"]["build"]["dockerfile"]
    init = services["minio-init"]["command"][0]
    assert "--with-lock" in init and all(f"minio-{s}" in services["minio-init"]["depends_on"] for s in "abc")
    # the proxy is the trusted one, at the address hoso believes X-Forwarded-For from
    proxy_ip = services["proxy"]["networks"]["hoso"]["ipv4_address"]
    assert services["app1"]["environment"]["HOSO_TRUSTED_PROXIES"] == proxy_ip
    assert {"443:443"} <= set(services["proxy"]["ports"])
    nginx = (DEPLOY / "nginx" / "hoso.conf").read_text()
    assert "server app1:8000" in nginx and "server app2:8000" in nginx and "listen 443 ssl" in nginx
    assert "location = /metrics { return 404; }" in nginx


def test_dockerfile_installs_packages_this_debian_has_and_runs_as_non_root():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim-bookworm" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users == ["hoso"]
    packages: set[str] = set()
    for line in re.findall(r"apt-get install -y --no-install-recommends ([^;&\\]+)", text):
        packages |= set(line.split())
    assert {"fonts-noto-core", "poppler-utils", "postgresql-client", "libreoffice-writer-nogui"} <= packages
    apt = tool("apt-get")
    # a simulated install resolves every package and its dependencies on this Debian (nothing is installed)
    done = subprocess.run(
        [apt, "install", "-s", "--no-install-recommends", *sorted(packages)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # and what pip installs is this project: the image has every module the entry points import
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, re.M))
    assert copied == {"hoso", "archive", "signing", "storage", "retention"}


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path):
    analyze = tool("systemd-analyze")
    venv = Path(__file__).resolve().parents[2] / ".venv"
    units = sorted((DEPLOY / "systemd").glob("hoso*.service")) + sorted((DEPLOY / "systemd").glob("*.timer"))
    assert {u.name for u in units} >= {"hoso.service", "hoso-worker.service", "hoso-pg-backup.service"}
    for unit in units:  # the paths of an installed server, pointed at this checkout's virtualenv
        text = unit.read_text().replace("/opt/hoso/.venv", str(venv)).replace("/opt/hoso/deploy", str(DEPLOY))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / u.name) for u in units)], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    env = (DEPLOY / "systemd" / "hoso.env").read_text()
    assert "HOSO_SCHEDULER_ENABLED=false" in env and "HOSO_DATABASE_URL=postgresql+psycopg://" in env
