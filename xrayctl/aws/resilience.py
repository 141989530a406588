"""What bounds every AWS call beyond botocore's defaults: timeouts a user can set, and answers cut short.

- `timeout_setting`: the connect and read timeouts of every call come from AwsOptions, else from
  XRAYCTL_CONNECT_TIMEOUT / XRAYCTL_READ_TIMEOUT (seconds), else the defaults; a value that is not a positive
  number is a configuration error, never "no timeout".
- `retry_cut_answers`: botocore reads a response with urllib3's Content-Length check turned off, and its JSON
  parser takes a body it cannot parse as an empty answer. A connection reset half way through a
  BatchGetTraces answer would so become "no traces" (and a trace reported as not found). This hook retries
  such an answer as botocore retries a dropped connection, within the same attempts, and raises
  ConnectionClosedError once they are spent. A 200 from a JSON service whose body is not JSON (a web
  server's page: the endpoint is not the service) would be read the same way: it is a ConfigError at once.
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


def _json_or_empty(content: bytes, operation: Any) -> bool:
    """Whether a body could be the JSON a JSON-protocol service answers (other protocols: not checked)."""
    service = operation.service_model
    # resolved_protocol: the one botocore speaks to a service that offers several (newer botocore).
    if (getattr(service, "resolved_protocol", None) or service.protocol) not in ("json", "rest-json"):
        return True
    head = content[:256].lstrip()  # the start is enough, and a large answer is not copied
    return not head or head.startswith(b"{")


def retry_cut_answers(client: Any, max_attempts: int) -> None:
    """Make `client` retry (then fail on) an answer shorter than its Content-Length."""
    service = client.meta.service_model.service_id.hyphenize()

    def needs_retry(
        response: Any = None, attempts: int = 1, operation: Any = None, request_dict: Any = None, **_: Any
    ) -> float | None:
        if response is None or operation is None or operation.has_streaming_output:
            return None  # a streamed body (Invoke's payload) is checked by botocore as it is read
        http_response = response[0]
        url = (request_dict or {}).get("url", "the AWS endpoint")
        if http_response.status_code == 200 and not _json_or_empty(http_response.content, operation):
            # Not a fault that passes: the endpoint is not this service (a web server's page, a captive
            # portal). botocore would read it as an empty answer: for BatchGetTraces, "trace not found".
            raise ConfigError(
                f"{url} answered {operation.name} with something other than the service's JSON "
                f"({http_response.headers.get('content-type') or 'no content type'}).",
                "Check --endpoint-url, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>: they must point at "
                "the AWS service (or the local stack), not at another server.",
            )
        expected = http_response.headers.get("content-length", "")
        if not expected.isdigit() or len(http_response.content) == int(expected):
            return None
        if attempts < max_attempts:
            import random

            return random.uniform(0, min(_MAX_BACKOFF, 2.0 ** (attempts - 1)))
        from botocore.exceptions import ConnectionClosedError

        raise ConnectionClosedError(endpoint_url=url)

    # First, so that botocore's own handler (which sees a 200 and stops) does not decide alone.
    client.meta.events.register_first(f"needs-retry.{service}", needs_retry)
