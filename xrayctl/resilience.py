"""What bounds every AWS call beyond botocore's defaults: timeouts a user can set, and answers cut short.

- `timeout_setting`: the connect and read timeouts of every call come from AwsOptions, else from
  XRAYCTL_CONNECT_TIMEOUT / XRAYCTL_READ_TIMEOUT (seconds), else the defaults; a value that is not a positive
  number is a configuration error, never "no timeout".
- `retry_cut_answers`: botocore reads a response with urllib3's Content-Length check turned off, and its JSON
  parser takes a body it cannot parse as an empty answer. A connection reset half way through a
  BatchGetTraces answer would so become "no traces" (and a trace reported as not found). This hook retries
  such an answer as botocore retries a dropped connection, within the same attempts, and raises
  ConnectionClosedError once they are spent.
"""

from __future__ import annotations

import math
import os
from typing import Any

from xrayctl.errors import ConfigError

# botocore's standard mode caps its back-off at 20 s; a cut answer is a network fault like any other.
_MAX_BACKOFF = 20.0


def timeout_setting(value: float | None, env: str, default: float) -> float:
    """`value` if given, else the number in the environment variable `env`, else `default`."""
    if value is not None:
        return value
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(
            f"{env}={text[:40]!r} is not a number of seconds.",
            f"Set {env} to a positive number such as 10, or unset it (default {default:g} s).",
        )
    return seconds


def retry_cut_answers(client: Any, max_attempts: int) -> None:
    """Make `client` retry (then fail on) an answer shorter than its Content-Length."""
    service = client.meta.service_model.service_id.hyphenize()

    def needs_retry(
        response: Any = None, attempts: int = 1, operation: Any = None, request_dict: Any = None, **_: Any
    ) -> float | None:
        if response is None or operation is None or operation.has_streaming_output:
            return None  # a streamed body (Invoke's payload) is checked by botocore as it is read
        http_response = response[0]
        expected = http_response.headers.get("content-length", "")
        if not expected.isdigit() or len(http_response.content) == int(expected):
            return None
        if attempts < max_attempts:
            import random

            return random.uniform(0, min(_MAX_BACKOFF, 2.0 ** (attempts - 1)))
        from botocore.exceptions import ConnectionClosedError

        raise ConnectionClosedError(endpoint_url=(request_dict or {}).get("url", "the AWS endpoint"))

    # First, so that botocore's own handler (which sees a 200 and stops) does not decide alone.
    client.meta.events.register_first(f"needs-retry.{service}", needs_retry)
