"""Where a local stack listens: everything a botocore session (or the AWS CLI) needs to reach it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalEndpoints:
    """Where a local stack listens, and the fixed identity to reach it with: all a botocore session needs."""

    endpoints: Mapping[str, str]  # service ("xray", "lambda", "s3") -> http://127.0.0.1:port
    region: str
    credentials: tuple[str, str]  # (access key id, secret access key): dummy values, the same everywhere
    function_name: str
    bucket: str
    daemon_address: str  # 127.0.0.1:port, for AWS_XRAY_DAEMON_ADDRESS

    def env_lines(self) -> list[str]:
        """`NAME=value` lines that point the AWS CLI, boto3 and the X-Ray SDK at this stack."""
        access_key, secret_key = self.credentials
        return [
            f"AWS_ENDPOINT_URL_XRAY={self.endpoints['xray']}",
            f"AWS_ENDPOINT_URL_LAMBDA={self.endpoints['lambda']}",
            f"AWS_ENDPOINT_URL_S3={self.endpoints['s3']}",
            f"AWS_ACCESS_KEY_ID={access_key}",
            f"AWS_SECRET_ACCESS_KEY={secret_key}",
            f"AWS_REGION={self.region}",
            f"AWS_DEFAULT_REGION={self.region}",  # the name boto3 and the AWS CLI v1 read
            f"AWS_XRAY_DAEMON_ADDRESS={self.daemon_address}",
        ]
