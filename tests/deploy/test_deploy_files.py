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
