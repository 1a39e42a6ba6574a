"""`hoso` commands for people (registered in archive/cli.py through COMMANDS)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
