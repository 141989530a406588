"""What the ADOT Lambda layer (`AWSOpenTelemetryDistroPython`) does to a function, reproduced for a sandbox.

On Lambda the function is configured with `AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument`, so the runtime
starts through that script (aws-otel-python-instrumentation, lambda-layer/src/otel-instrument). The script
only sets environment variables, then execs the runtime under `opentelemetry-instrument`, whose
auto-instrumentation loads the distro (`OTEL_PYTHON_DISTRO=aws_distro`) and its configurator
(`aws_configurator`): on Lambda (AWS_LAMBDA_FUNCTION_NAME set) and with no OTLP endpoint, spans go over UDP to
AWS_XRAY_DAEMON_ADDRESS as `T1S` datagrams. It also swaps the handler: `_HANDLER` becomes the layer's
`otel_wrapper.lambda_handler` and the function's own goes to `ORIG_HANDLER`; the wrapper module instruments
the Lambda handler (its SERVER span, parented by the X-Ray trace header) and then imports the original.

Here: `wrapper_environment` is what the script sets (the Lambda service adds it to the sandbox's environment,
as Lambda runs the wrapper for the function); `instrument` is `opentelemetry-instrument`'s start-up, which
the runtime child runs before the runtime client; and `xrayctl.local.lambda_.otel_handler` stands in for the
layer's `otel_wrapper`. The function's process then holds the same packages, the same configuration and the
same exporter as under the layer; only the packages come from xrayctl's environment (the `otel` extra)
rather than from /opt/python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

EXEC_WRAPPER = "/opt/otel-instrument"
WRAPPER_HANDLER = "xrayctl.local.lambda_.otel_handler.lambda_handler"
# The layer's default: instrumentations its users rarely need are off, so that init stays short; botocore
# (the AWS SDK) stays on. aws-lambda is added because the wrapper module instruments the handler itself.
DISABLED_INSTRUMENTATIONS = (
    "aio-pika,aiohttp-client,aiohttp-server,aiopg,asgi,asyncio,asyncpg,boto,boto3,cassandra,celery,"
    "confluent_kafka,dbapi,django,falcon,fastapi,flask,grpc_client,grpc_server,grpc_aio_client,"
    "grpc_aio_server,httpx,jinja2,kafka,logging,mysql,mysqlclient,pika,psycopg,psycopg2,pymemcache,pymongo,"
    "pymysql,pyramid,redis,remoulade,requests,sklearn,sqlalchemy,sqlite3,starlette,system_metrics,threading,"
    "tornado,tortoiseorm,wsgi,openai_agents,aws_openai_agents,aws_crewai,aws_langchain,aws_mcp,"
    "aws_llama-index"
)


def wrapper_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables `otel-instrument` sets for a function whose environment is `env` (the result replaces
    or adds to `env`); the user's own OTEL_* settings in `env` are kept, as the script keeps them."""
    get = env.get
    out: dict[str, str] = {"AWS_LAMBDA_EXEC_WRAPPER": EXEC_WRAPPER}
    out["OTEL_SERVICE_NAME"] = get("OTEL_SERVICE_NAME") or get("AWS_LAMBDA_FUNCTION_NAME", "")
    lambda_resource = (
        f"cloud.region={get('AWS_REGION', '')},cloud.platform=aws_lambda,cloud.provider=aws,"
        f"faas.name={get('AWS_LAMBDA_FUNCTION_NAME', '')},"
        f"faas.version={get('AWS_LAMBDA_FUNCTION_VERSION', '')},"
        f"faas.instance={get('AWS_LAMBDA_LOG_STREAM_NAME', '')},"
        f"aws.log.group.names={get('AWS_LAMBDA_LOG_GROUP_NAME', '')}"
    )
    user_resource = get("OTEL_RESOURCE_ATTRIBUTES")
    out["OTEL_RESOURCE_ATTRIBUTES"] = (
        f"{lambda_resource},{user_resource}" if user_resource else lambda_resource
    )
    out["OTEL_PROPAGATORS"] = get("OTEL_PROPAGATORS") or "baggage,xray,tracecontext"
    out["OTEL_AWS_APPLICATION_SIGNALS_RUNTIME_ENABLED"] = "false"
    out["OTEL_METRICS_EXPORTER"] = get("OTEL_METRICS_EXPORTER") or "none"
    out["OTEL_LOGS_EXPORTER"] = get("OTEL_LOGS_EXPORTER") or "none"
    out["OTEL_AWS_LAMBDA_FAST_START"] = get("OTEL_AWS_LAMBDA_FAST_START") or "false"
    signals = get("OTEL_AWS_APPLICATION_SIGNALS_ENABLED") or "true"
    out["OTEL_AWS_APPLICATION_SIGNALS_ENABLED"] = signals
    if signals == "true":
        out["OTEL_PYTHON_DISTRO"] = "aws_distro"
        out["OTEL_PYTHON_CONFIGURATOR"] = "aws_configurator"
    disabled = get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS") or DISABLED_INSTRUMENTATIONS
    out["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = f"{disabled},aws-lambda"
    out["ORIG_HANDLER"] = get("_HANDLER", "")
    out["_HANDLER"] = WRAPPER_HANDLER
    return out


def instrument() -> None:
    """What `opentelemetry-instrument` does before the program it runs: the distro, its configurator, and
    every instrumentation not disabled. The runtime child calls it when the exec wrapper is the layer's."""
    if os.environ.get("AWS_LAMBDA_EXEC_WRAPPER") != EXEC_WRAPPER:
        return
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()
