"""Retention's exceptions, inside the project's one error tree: the API's ArchiveError handler and the CLI map them to
an HTTP status and an exit code like every other ArchiveError (bilingual message, stable code).

ArchiveError (archive/errors.py)
 └── RetentionError          base: every error retention raises on purpose, beyond archive's own (500)
      ├── RuleError          schedule data or document facts the rules cannot read: a retention period, row status,
      │                      counting basis or school year (500 `retention_rule_invalid`; a person's typed value is
      │                      refused before it gets here, as 422 `bad_retention`)
      └── FixityRunUnavailable  the fixity run of a slot could neither be created nor read back (503)

Requests refused for the person's own reasons (not due, held, unknown school …) use archive's shared classes
(InvalidInput, Conflict, NotFound), as the rest of the service does. Not to be confused with `storage.RetentionError`:
a store refusing to delete or shorten the lock of a retained object.
"""

from __future__ import annotations

from archive.errors import ArchiveError


class RetentionError(ArchiveError):
    status = 500
    code = "retention_error"


class RuleError(RetentionError):
    """Bad schedule data or document facts (a programming or data error, not a user's request)."""

    code = "retention_rule_invalid"


class FixityRunUnavailable(RetentionError):
    status = 503
    code = "fixity_run_unavailable"
