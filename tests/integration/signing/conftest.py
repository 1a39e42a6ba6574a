"""Real components for signing tests: the shared certomancer PKI (extended with an expired, a revoked, a seal and an
untrusted certificate) served over HTTP on 127.0.0.1, a SoftHSM token, and a 50-page PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tests.factories import class_register_pdf
from tests.processes import free_port

from .testkit import (
    EXTRA_KEYS,
    P12_PASSWORD,
    SHARED_PKI,
    SOFTHSM_MODULE,
    TOKEN_LABEL,
    USER_PIN,
    SoftHsm,
    TestPki,
    extend_config,
)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from werkzeug.serving import make_server

    directory = tmp_path_factory.mktemp("pki")
    shutil.copy(SHARED_PKI / "certomancer.yml", directory / "certomancer.yml")
    key_dir = directory / "keys"
    subprocess.run([sys.executable, str(SHARED_PKI / "gen_keys.py"), str(key_dir)], check=True)
    for name in EXTRA_KEYS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (key_dir / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = extend_config(yaml.safe_load((directory / "certomancer.yml").read_text()), base_url)
    (directory / "certomancer-extended.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    cfg = CertomancerConfig(config, key_search_dir=str(directory))
    arch = cfg.get_pki_arch("school")

    certs: dict[str, Path] = {}
    for label in ["root", "interm", "tsa", "interm-ocsp", "principal", "teacher", *EXTRA_KEYS]:
        path = directory / f"{label}.cert.der"
        path.write_bytes(arch.get_cert(label).dump())
        certs[label] = path
    p12 = {}
    for label in ["principal", "teacher", "seal", "expired", "revoked"]:
        path = directory / f"{label}.p12"
        path.write_bytes(arch.package_pkcs12(label, password=P12_PASSWORD))
        p12[label] = path
    p12_stranger = directory / "stranger.p12"
    p12_stranger.write_bytes(
        arch.package_pkcs12("stranger", certs_to_embed=["other-root"], password=P12_PASSWORD)
    )
    p12["stranger"] = p12_stranger

    app = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield TestPki(
        directory=directory,
        base_url=base_url,
        tsa_url=f"{base_url}/school/tsa/tsa",
        root=certs["root"],
        interm=certs["interm"],
        other_root=certs["other-root"],
        p12=p12,
        keys={name: key_dir / f"{name}.key.pem" for name in ["principal", "teacher", *EXTRA_KEYS]},
        certs=certs,
    )
    server.shutdown()


@pytest.fixture(scope="session")
def softhsm(pki: TestPki, tmp_path_factory) -> SoftHsm:
    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM is not installed")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # must be in the environment before the PKCS#11 library is loaded (first session opened)
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        TOKEN_LABEL,
        "--so-pin",
        "87654321",
        "--pin",
        USER_PIN,
    )
    for key_id, label in (("01", "principal"), ("02", "teacher")):
        run(
            "softhsm2-util", "--import", str(pki.keys[label]), "--token", TOKEN_LABEL,
            "--label", label, "--id", key_id, "--pin", USER_PIN,
        )  # fmt: skip
        run(
            "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login", "--pin", USER_PIN,
            "--write-object", str(pki.certs[label]), "--type", "cert", "--id", key_id, "--label", label,
        )  # fmt: skip
    # the chain lives on the token too, so the PKCS#11 signer can embed it
    run(
        "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login", "--pin", USER_PIN,
        "--write-object", str(pki.certs["interm"]), "--type", "cert", "--id", "10", "--label", "interm",
    )  # fmt: skip
    return SoftHsm(SOFTHSM_MODULE, TOKEN_LABEL, USER_PIN)


@pytest.fixture(scope="session")
def pdf50() -> bytes:
    return class_register_pdf()


@pytest.fixture(scope="session")
def small_pdf() -> bytes:
    return class_register_pdf(pages=2, target_size=0)
