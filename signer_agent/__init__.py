"""hoso-signer: the token bridge on the signer's own computer (issue 11).

A small HTTP service on 127.0.0.1 that the hoso web page talks to: it lists the certificates on the person's PKCS#11
tokens and signs the digests of a hoso signing request after the person types the PIN in the agent's own page. The
page never sees the PIN or the key. Imports nothing of hoso but ``signing`` (so it ships alone: ``make signer``).
"""

VERSION = "0.1.0"
DEFAULT_PORT = 8765
