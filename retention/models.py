"""Catalog tables owned by retention/ (models); they share archive.models.Base so one migration history covers all."""

from __future__ import annotations
