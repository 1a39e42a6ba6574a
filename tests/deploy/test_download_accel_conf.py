"""deploy/'s nginx sends downloads only from internal locations (X-Accel-Redirect from hoso, never a client's URL),
each aliasing the replica folder it names, with the headers the redirect would drop set again."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_accel_locations_are_internal_and_alias_the_folder_they_name():
    conf = (DEPLOY / "nginx" / "hoso.conf").read_text()
    blocks = re.findall(r"location (/_hoso_files\S*) \{(.*?)\}", conf, re.S)
    assert blocks, "no X-Accel-Redirect location"
    env = (DEPLOY / "systemd" / "hoso.env").read_text()
    folders = re.findall(r"file://(/[^,\s]+)", env)
    assert sorted(loc for loc, _ in blocks) == sorted(f"/_hoso_files{f}/" for f in folders)
    for location, body in blocks:
        assert "internal;" in body
        assert f"alias {location.removeprefix('/_hoso_files')};" in body
        assert "include /etc/nginx/snippets/hoso-download-headers.conf;" in body
    snippet = (DEPLOY / "nginx" / "hoso-download-headers.conf").read_text()
    for header in ("Strict-Transport-Security", "X-Content-SHA256", "X-Content-Type-Options"):
        assert f"add_header {header} " in snippet
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    mounts = compose["services"]["proxy"]["volumes"]
    assert "./nginx/hoso-download-headers.conf:/etc/nginx/snippets/hoso-download-headers.conf:ro" in mounts
