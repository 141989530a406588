"""The OpenTelemetry twin keeps lambda_function.py's event contract word for word (function/README.md).

Both modules' `parse_event` run in a child process (importing lambda_function patches boto3 process-wide)
on the same events, valid and not; every answer and every refusal message must be the same.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT

EVENTS = [
    {"bucket_name": "my-bucket", "bucket_key": "hello.txt", "body": "hello"},
    {"bucket_key": "hello.txt", "body": "hello"},
    {"bucket": "typo", "bucket_key": "k", "body": "b"},
    {"bucket_name": "Bad_Bucket", "bucket_key": "a\nb", "body": ""},
    {"bucket_name": "192.168.1.1", "bucket_key": "k" * 2000, "body": 5},
    {f"field{n}": n for n in range(9)},
    ["not", "an", "object"],
    {"bucket_name": "ok-bucket", "bucket_key": "\ud800", "body": "x" * (256 * 1024 + 1)},
]

CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import lambda_function, otel_function

def answer(module, event):
    try:
        request = module.parse_event(event, "default-bucket")
    except module.InvalidEvent as exc:
        return ["refused", str(exc)]
    return ["ok", request.bucket, request.key, request.body.decode()]

events = json.loads(sys.stdin.read())
print(json.dumps([[answer(lambda_function, e), answer(otel_function, e)] for e in events]))
"""


def test_both_functions_accept_and_refuse_the_same_events_with_the_same_words() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "function")],
        input=json.dumps(EVENTS),
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "AWS_XRAY_SDK_ENABLED": "false", "PATH": ""},
    )
    answers = json.loads(completed.stdout)
    assert [xray for xray, _ in answers] == [otel for _, otel in answers]
    assert [xray[0] for xray, _ in answers].count("ok") == 2  # the two valid events, the rest refused
