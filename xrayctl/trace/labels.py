"""What is derived from one node once its fields are read: a readable label (self time, which needs the
whole tree, is `xrayctl.trace.selftime`).

Strings are returned as they are in the trace; renderers clean them for the terminal
(`xrayctl.text.sanitize`).
"""

from __future__ import annotations

from typing import Any

from xrayctl.trace.fields import text
from xrayctl.trace.model import Node

# What the SDKs call a service in a subsegment's `name` (the Python SDK uses boto's lowercase service ids),
# spelled the way the X-Ray console does. Names not listed are shown as they are.
_SERVICE_NAMES = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "sqs": "SQS",
    "sns": "SNS",
    "lambda": "Lambda",
    "kinesis": "Kinesis",
    "firehose": "Firehose",
    "stepfunctions": "StepFunctions",
    "sfn": "StepFunctions",
    "states": "StepFunctions",
    "events": "EventBridge",
    "eventbridge": "EventBridge",
    "secretsmanager": "SecretsManager",
    "ssm": "SSM",
    "sts": "STS",
    "kms": "KMS",
    "ec2": "EC2",
    "ecs": "ECS",
    "cloudwatch": "CloudWatch",
    "logs": "CloudWatchLogs",
    "apigateway": "APIGateway",
    "athena": "Athena",
    "glue": "Glue",
    "rds": "RDS",
    "ses": "SES",
}

# The `aws` fields that name the resource an operation acted on, in the order the label prefers them.
_RESOURCE_KEYS = (
    "table_name",
    "table_names",
    "queue_url",
    "topic_arn",
    "function_name",
    "stream_name",
    "state_machine_arn",
    "secret_id",
    "resource_names",
)


def _service_name(node: Node) -> str:
    """`S3` for a subsegment named `s3` or an inferred segment from `AWS::S3::Bucket`."""
    if node.kind != "subsegment" and node.origin and node.origin.startswith("AWS::"):
        return node.origin.split("::")[1]
    return _SERVICE_NAMES.get(node.name.lower(), node.name)


def _aws_label(node: Node) -> str:
    aws = node.aws
    resource = ""
    bucket = aws.get("bucket_name")
    if bucket is not None:
        key = aws.get("key")
        resource = text(bucket) if key is None else f"{text(bucket)}/{text(key)}"
    else:
        for field in _RESOURCE_KEYS:
            if aws.get(field) is not None:
                resource = text(aws[field])
                break
    parts = (_service_name(node), text(aws.get("operation")), resource)
    return " ".join(part for part in parts if part)


def _http_label(request: dict[str, Any]) -> str:
    method = text(request.get("method"))
    url = text(request["url"])
    return f"{method} {url}" if method else url


def _sql_label(node: Node) -> str:
    sql = node.sql
    target = next(
        (text(sql[key]) for key in ("url", "connection_string", "database_type") if sql.get(key)), node.name
    )
    query = sql.get("sanitized_query")
    return f"SQL {target}: {text(query)}" if query else f"SQL {target}"


def label(node: Node) -> str:
    """One readable line for `node`: `S3 PutObject bucket/key`, `GET https://host/path`, `SQL db: query`,
    a segment's origin (`AWS::Lambda::Function`), or else its name. Needs `name`, `kind`, `origin`,
    `namespace`, `aws`, `http` and `sql` already set."""
    if node.namespace == "aws" or (node.kind == "inferred" and node.aws.get("operation")):
        return _aws_label(node)
    if node.sql:
        return _sql_label(node)
    request = node.http.get("request")
    if isinstance(request, dict) and request.get("url"):
        return _http_label(request)
    if node.kind != "subsegment" and node.origin:
        return node.origin
    return node.name
