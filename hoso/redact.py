"""Error messages shown to a client never carry the server's own paths or store addresses.

Library errors quoted in a message (pikepdf's "…/tmp/upload-x1y2: unable to find trailer", an OSError on the spool,
a store's URL) would tell an attacker where the data lives. Every error a client sees passes through `redact`.
"""

from __future__ import annotations

import re
import tempfile
from urllib.parse import urlsplit

from archive.settings import Settings

HIDDEN = "…"


def secret_places(settings: Settings) -> list[str]:
    places = {str(settings.data_dir.resolve()), str(settings.spool_dir.resolve()), tempfile.gettempdir()}
    for url in settings.replica_urls:
        places.add(url)
        parts = urlsplit(url)
        if parts.scheme == "file" and parts.path:
            places.add(parts.path)
        elif parts.netloc:
            places.add(parts.netloc)
    # longest first, so a folder inside the data folder is hidden whole, not as "…/replicas/copy1"
    return sorted((p for p in places if len(p) > 1), key=len, reverse=True)


def redact(text: str, settings: Settings) -> str:
    for place in secret_places(settings):
        text = re.sub(re.escape(place) + r"[^\s'\"),;]*", HIDDEN, text)
    return text
