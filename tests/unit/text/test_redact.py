"""Credentials kept out of what xrayctl writes, in every shape botocore's log can show them."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "logged",
    [
        # SSO's GetRoleCredentials and SSO-OIDC's CreateToken answers, as botocore logs response bodies.
        'Response body:\nb\'{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"S3CR3T",'
        '"sessionToken":"S3CR3T","expiration":1700000000000}}\'',
        'Response body:\nb\'{"accessToken":"S3CR3T","expiresIn":28800,"refreshToken":"S3CR3T"}\'',
        # A presigned URL's query string.
        "https://bucket.s3.amazonaws.com/k?X-Amz-Security-Token=S3CR3T&X-Amz-Signature=S3CR3T&X-Amz-Date=1",
    ],
)
def test_redact_other_credential_shapes(logged: str) -> None:
    from xrayctl.text.redact import redact

    redacted = redact(logged)
    assert "S3CR3T" not in redacted
    assert redacted.count("<redacted>") == logged.count("S3CR3T")
