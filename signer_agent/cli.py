"""`hoso signer-agent` (and `hoso-signer` when installed alone): start the token bridge on this computer."""

from __future__ import annotations

import os
from pathlib import Path

import click

from . import DEFAULT_PORT
from .tokens import available_modules


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.environ.get("APPDATA") or str(Path.home() / ".config")
    return Path(base) / "hoso-signer"


@click.command("signer-agent")
@click.option("--port", default=DEFAULT_PORT, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="hoso web address allowed to use the agent, e.g. https://hoso.so-gd.vn (repeatable).",
)
@click.option(
    "--module",
    "modules",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="PKCS#11 driver of your token (.dll/.so); common CA driver paths are tried too.",
)
@click.option("--no-common-modules", is_flag=True, help="Use only the --module drivers.")
@click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), help="Where pairings are kept."
)
def signer_agent_command(
    port: int,
    origins: tuple[str, ...],
    modules: tuple[str, ...],
    no_common_modules: bool,
    state_dir: Path | None,
) -> None:
    """Phần mềm ký số trên máy của bạn cho trang hoso (token bridge for the hoso web page)."""
    from .server import Agent, run

    found = available_modules(modules, common=not no_common_modules)
    missing = [m for m in modules if m not in found]
    for m in missing:
        click.echo(f"Cảnh báo: không có thư viện token {m} (module not found)", err=True)
    run(Agent(port=port, origins=list(origins), modules=found, state_dir=state_dir or _default_state_dir()))


def main() -> None:
    signer_agent_command(auto_envvar_prefix="HOSO_SIGNER")
