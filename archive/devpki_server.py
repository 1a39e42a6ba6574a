"""Serve the dev PKI (TSA, OCSP, CRLs) for a command-line run when no `hoso serve` is up at the base URL.

The dev PKI's certificates point at `{base_url}/dev-pki/…`; signing at B-T and above needs those URLs to answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import signing

from .signatures import SigningSetup


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def dev_pki_served(setup: SigningSetup) -> Iterator[None]:
    if setup.dev_pki is None:
        yield
        return
    parts = urlsplit(setup.dev_pki.base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if _listening(host, port):
        yield  # a running hoso (or something else we trust to be it) already serves /dev-pki
        return
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = signing.dev_pki_wsgi_app(setup.dev_pki.directory, setup.dev_pki.base_url)
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(5)
