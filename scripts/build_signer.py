"""`make signer`: hoso-signer, the token bridge, as a distribution of its own.

Writes build/hoso-signer/ (the signer_agent and signing packages and a pyproject.toml naming only what they need),
then dist/hoso_signer-VERSION-py3-none-any.whl (``pipx install dist/hoso_signer-….whl`` installs it alone) and
dist/hoso-signer.pyz, a single-file zipapp (shiv) with its dependencies inside, built for the platform it is built
on: build it on Windows for Windows computers. Run with the project's venv: ``.venv/bin/python scripts/build_signer.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signer_agent import VERSION  # noqa: E402 — after the path is set

DEPENDENCIES = [
    "click>=8.1",
    "asn1crypto>=1.5",
    "cryptography>=42",
    "pyhanko[pkcs11]>=0.25",
    "pyhanko-certvalidator>=0.26",
    "python-pkcs11>=0.7",
]

PYPROJECT = f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "hoso-signer"
version = "{VERSION}"
description = "hoso-signer: ký số hồ sơ hoso bằng USB token trên máy của bạn (token bridge for the hoso web page)"
requires-python = ">=3.11"
dependencies = {DEPENDENCIES!r}

[project.scripts]
hoso-signer = "signer_agent.cli:main"

[tool.setuptools.packages.find]
include = ["signer_agent*", "signing*"]

[tool.setuptools.package-data]
"*" = ["*.ttf", "*.png", "py.typed"]
"""


def stage(build: Path) -> Path:
    project = build / "hoso-signer"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for package in ("signer_agent", "signing"):
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return project


def main(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else ROOT
    build, dist = out / "build", out / "dist"
    project = stage(build)
    dist.mkdir(exist_ok=True)
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(project)], check=True)
    if "--wheel-only" in argv:
        return 0
    shiv = Path(sys.executable).with_name("shiv")
    subprocess.run(
        [str(shiv), "-q", "-o", str(dist / "hoso-signer.pyz"), "-e", "signer_agent.cli:main",
         "-p", "/usr/bin/env python3", str(project)],
        check=True,
    )  # fmt: skip
    print(f"{dist}/hoso_signer-{VERSION}-py3-none-any.whl\n{dist}/hoso-signer.pyz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
