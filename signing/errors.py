"""Exceptions of the signing package.

Results (validation reports, signed bytes) are data; an exception means the operation could not be carried out.

    SigningError                      base: anything below can be caught as this
    ├── SignerUnavailable             key or certificate cannot be loaded (bad password, PIN, token, file)
    ├── CertificateRejected           the signer's certificate is expired, not yet valid, revoked or untrusted
    ├── InvalidDocument               the input is not a PDF we can sign or timestamp
    ├── TimestampUnavailable          the TSA could not be reached or answered badly
    ├── ValidationDataUnavailable     CRL/OCSP/chain needed for B-LT/B-LTA could not be gathered
    ├── DeferredSigningError          a deferred (two-step) signing request is unusable
    │   ├── InvalidDeferredState      the persisted state is corrupt or from another version
    │   └── SignatureMismatch         the returned signature value does not verify against the certificate
    ├── TestPkiRefused                a test (dev PKI) certificate was offered where production is required
    └── ValidationFailed              validation could not run at all (not for "signature invalid": that is a report)

`translate_errors()` turns pyHanko's and certvalidator's exceptions into these, with the cause kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError


class SigningError(Exception):
    """Base class: every error raised on purpose by ``signing`` derives from it."""

    code = "signing_error"


class SignerUnavailable(SigningError):
    code = "signer_unavailable"


class CertificateRejected(SigningError):
    code = "certificate_rejected"


class InvalidDocument(SigningError):
    code = "invalid_document"


class TimestampUnavailable(SigningError):
    code = "timestamp_unavailable"


class ValidationDataUnavailable(SigningError):
    code = "validation_data_unavailable"


class DeferredSigningError(SigningError):
    code = "deferred_signing_error"


class InvalidDeferredState(DeferredSigningError):
    code = "invalid_deferred_state"


class SignatureMismatch(DeferredSigningError):
    code = "signature_mismatch"


class TestPkiRefused(SigningError):
    code = "test_pki_refused"
    # pytest would otherwise try to collect this class when a test module imports it
    __test__ = False


class ValidationFailed(SigningError):
    code = "validation_failed"


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """pyHanko/certvalidator exceptions become our SigningError subclasses, with the cause kept."""
    try:
        yield
    except SigningError:
        raise
    except TimestampRequestError as exc:
        raise TimestampUnavailable(f"the timestamp authority did not answer correctly: {exc}") from exc
    except PathBuildingError as exc:
        raise CertificateRejected(f"no chain to a trusted root: {exc}") from exc
    except PathValidationError as exc:
        raise CertificateRejected(f"certificate not valid now: {exc}") from exc
    except ValidationError as exc:
        raise ValidationDataUnavailable(f"could not gather validation data: {exc}") from exc
    except (OSError, ConnectionError) as exc:
        raise ValidationDataUnavailable(f"network error: {exc}") from exc
    except PyhankoSigningError as exc:
        # pyHanko wraps pre-signing certificate validation failures; the cause says what was wrong
        cause = exc.__cause__
        if isinstance(cause, PathBuildingError | PathValidationError):
            raise CertificateRejected(f"{exc}: {cause}") from exc
        raise SigningError(str(exc)) from exc
