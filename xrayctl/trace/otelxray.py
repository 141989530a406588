"""OpenTelemetry spans -> X-Ray segment documents, by the rules of the collector's awsxrayexporter.

X-Ray does not publish how its OTLP endpoint turns spans into segments; the closest public rule set is the
OpenTelemetry collector's `awsxrayexporter` (exporter/awsxrayexporter/internal/translator: segment.go,
http.go, cause.go, aws.go, sql.go), whose tests are ported as fixtures in tests/fixtures/otel/. The rules:

- A span is a **subsegment** (`type: subsegment`, `parent_id`) when it has a parent and is not SERVER kind,
  else a **segment** (with `parent_id` when it has a parent: the Lambda function's span under Lambda's
  Invocation). `aws.span.kind = LOCAL_ROOT` on a CLIENT, PRODUCER or CONSUMER span splits it into a service
  segment and the dependency subsegment below it.
- The name: `aws.local.service` (SERVER, LOCAL_ROOT INTERNAL), `aws.remote.service` (CLIENT, PRODUCER,
  CONSUMER; `AWS.SDK.` / `AWS::` trimmed for AWS SDK spans), `peer.service`, `aws.service`, `db.name`
  (`@host` of `db.connection_string` added), the resource's `service.name` (SERVER), `rpc.service`,
  `http.host`, `net.peer.name`, else the span name without the characters X-Ray refuses, at most 200.
- Namespace `aws` for AWS SDK spans (`rpc.system = aws-api`, or `aws.service` set), `remote` for any other
  CLIENT span. Trace id `1-<first 8 hex>-<last 24 hex>`; span ids are segment ids as they are.
- `http` from the HTTP attributes (the old and the stable semantic conventions), `aws` from the AWS ones
  (operation, region, request id, queue, table) and the resource, `sql` from `db.*`, `user` from `enduser.id`.
- error / throttle / fault from the HTTP status (4xx, 429, 5xx), else fault when the status is ERROR;
  `cause` from `exception` events (Python stacks read into frames), else from the status message.
- Annotations: the attributes named in `aws.xray.annotations` (scalar values; keys cleaned to
  `[A-Za-z0-9_]`, X-Ray's rule); `aws.xray.metadata.<ns>` (a JSON string) becomes `metadata[<ns>]`; every
  other attribute goes to `metadata.default`, and on segments the resource's as `otel.resource.<key>`.

Two additions, both for a team migrating from the X-Ray SDK: `aws.s3.bucket` (set by the ADOT distro's
botocore instrumentation) becomes `aws.bucket_name`, as the X-Ray SDK records it, so that S3 calls get the
same inferred `AWS::S3::Bucket` node; and what X-Ray has no field for (span kind, status, events other than
exceptions, trace state, the instrumentation scope) is kept under the document's own `otel` field, which
`--details` and `--output json` show. Ids the exporter would draw at random (exception ids, the LOCAL_ROOT
service segment) are derived from the span id instead, so the same file read twice gives the same tree.

Pure: no I/O, no clock. Nothing here recurses (attribute values from outside can nest deeply).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from xrayctl.trace.otlp import (
    CLIENT,
    CONSUMER,
    INTERNAL,
    KIND_NAMES,
    PRODUCER,
    SERVER,
    STATUS_ERROR,
    STATUS_NAMES,
    Event,
    Problem,
    Span,
    span_problem,
)

ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
METADATA_PREFIX = "aws.xray.metadata."
MAX_NAME = 200
_REMOTE_KINDS = (CLIENT, PRODUCER, CONSUMER)
# X-Ray's segment name alphabet: letters, digits, white space and _ . : / % & # = + \ - @
_INVALID_NAME_CHARS = re.compile(r"[^ \w.:/%&#=+\-@]")
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_]")

# Attributes that become a document's http / aws / sql fields, and so are not repeated in metadata.
_HTTP_KEYS = frozenset(
    (
        "http.method", "http.request.method", "http.client_ip", "client.address", "http.user_agent",
        "user_agent.original", "http.status_code", "http.response.status_code", "http.url", "url.full",
        "http.scheme", "url.scheme", "http.host", "http.target", "url.path", "url.query", "http.server_name",
        "server.address", "server.port", "net.host.port", "net.host.name", "host.name", "net.peer.name",
        "net.peer.port", "net.peer.ip",
    )
)  # fmt: skip
_AWS_KEYS = {
    "aws.operation": "operation",
    "rpc.method": "operation",
    "aws.account_id": "account_id",
    "aws.region": "region",
    "aws.request_id": "request_id",
    "aws.requestId": "request_id",
    "aws.queue_url": "queue_url",
    "aws.queue.url": "queue_url",
    "messaging.url": "queue_url",
    "aws.table_name": "table_name",
    "aws.table.name": "table_name",
    "aws.s3.bucket": "bucket_name",
}
_SQL_KEYS = {
    "db.connection_string": "url",
    "db.system": "database_type",
    "db.user": "user",
    "db.statement": "sanitized_query",
    "db.query.text": "sanitized_query",
}
# Resource attributes that say where the service runs, for `origin` (segment.go determineAwsOrigin).
_ORIGINS = {
    "aws_ec2": "AWS::EC2::Instance",
    "aws_eks": "AWS::EKS::Container",
    "aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
    "aws_app_runner": "AWS::AppRunner::Service",
}
_ECS_ORIGINS = {"ec2": "AWS::ECS::EC2", "fargate": "AWS::ECS::Fargate"}
# Attributes on a LOCAL_ROOT service segment that describe the dependency, not the service (segment.go).
_DEPENDENCY_ONLY = ("aws.remote.service", "aws.remote.operation", "remoteTarget", "K8s.RemoteNamespace")


def segment_name(text: str) -> str:
    """`text` with the characters X-Ray refuses in a name removed, at most 200; "span" if none is left."""
    cleaned = _INVALID_NAME_CHARS.sub("", text)[:MAX_NAME]
    return cleaned or "span"


def annotation_key(key: str) -> str:
    return _ANNOTATION_KEY.sub("_", key)


def xray_trace_id(w3c: str) -> str:
    return f"1-{w3c[:8]}-{w3c[8:]}"


def derived_id(span_id: str, salt: str) -> str:
    """A segment id derived from a span id: stable across reads, unlike the exporter's random ones."""
    return hashlib.blake2b(f"{span_id}/{salt}".encode(), digest_size=8).hexdigest()


def _seconds(nanos: int) -> float:
    return nanos / 1e9


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _is_aws_sdk(span: Span) -> bool:
    return span.attributes.get("rpc.system") == "aws-api"


def _trim_sdk_prefix(name: str, span: Span) -> str:
    if _is_aws_sdk(span):
        for prefix in ("AWS.SDK.", "AWS::"):
            if name.startswith(prefix):
                return name[len(prefix) :]
    return name


# ------------------------------------------------------------------------------------------------ fields


def _name_and_namespace(span: Span) -> tuple[str, str]:
    attrs = span.attributes
    name = ""
    namespace = ""
    if span.kind == SERVER or (span.kind == INTERNAL and attrs.get("aws.span.kind") == "LOCAL_ROOT"):
        name = _text(attrs.get("aws.local.service") or "")
    if span.kind in _REMOTE_KINDS and attrs.get("aws.remote.service"):
        name = _trim_sdk_prefix(_text(attrs["aws.remote.service"]), span)
    if not name and attrs.get("peer.service"):
        name = _text(attrs["peer.service"])
    if _is_aws_sdk(span):
        namespace = "aws"
    if not name and attrs.get("aws.service"):
        name = _text(attrs["aws.service"])
        namespace = namespace or "aws"
    if not name and attrs.get("db.name"):
        name = _text(attrs["db.name"])
        url = _text(attrs.get("db.connection_string") or "").removeprefix("jdbc:")
        try:
            host = urlsplit(url).hostname if url else None
        except ValueError:
            host = None
        if host:
            name += f"@{host}"
    if not name and span.kind == SERVER and span.scope.resource.get("service.name"):
        name = _text(span.scope.resource["service.name"])
    for key in ("rpc.service", "http.host", "net.peer.name"):
        if not name and attrs.get(key):
            name = _text(attrs[key])
    if not name:
        name = segment_name(span.name)
    if not namespace and span.kind == CLIENT:
        namespace = "remote"
    return name, namespace


def _url(attrs: dict[str, Any], server: bool) -> str | None:
    """http.go constructServerURL / constructClientURL, with the stable conventions' names besides."""
    full = attrs.get("http.url") or attrs.get("url.full")
    if full:
        return _text(full)
    scheme = _text(attrs.get("http.scheme") or attrs.get("url.scheme") or "http")
    host = attrs.get("http.host")
    port: Any = None
    if not host:
        names: tuple[str, ...]
        if server:
            names = ("http.server_name", "server.address", "net.host.name", "host.name")
            port = attrs.get("net.host.port") or attrs.get("server.port")
        else:
            names = ("server.address", "net.peer.name", "net.peer.ip")
            port = attrs.get("net.peer.port") or attrs.get("server.port")
        host = next((attrs[key] for key in names if attrs.get(key)), None)
    if not host:
        return None
    url = f"{scheme}://{_text(host)}"
    port_text = _text(port) if port is not None else ""
    if port_text and (scheme, port_text) not in (("http", "80"), ("https", "443")):
        url += f":{port_text}"
    target = attrs.get("http.target")
    if target is None and attrs.get("url.path") is not None:
        query = attrs.get("url.query")
        target = _text(attrs["url.path"]) + (f"?{_text(query)}" if query else "")
    return url + (_text(target) if target is not None else "/")


def _status_code(attrs: dict[str, Any]) -> int | None:
    value = attrs.get("http.status_code", attrs.get("http.response.status_code"))
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _http(span: Span) -> dict[str, Any] | None:
    attrs = span.attributes
    if not any(key in attrs for key in _HTTP_KEYS if not key.startswith(("net.", "host.", "server."))):
        return None
    request: dict[str, Any] = {}
    method = attrs.get("http.method") or attrs.get("http.request.method")
    if method:
        request["method"] = _text(method)
    url = _url(attrs, span.kind == SERVER)
    if url:
        request["url"] = url
    agent = attrs.get("http.user_agent") or attrs.get("user_agent.original")
    if agent:
        request["user_agent"] = _text(agent)
    client = attrs.get("http.client_ip") or attrs.get("client.address") or attrs.get("net.peer.ip")
    if client:
        request["client_ip"] = _text(client)
        if attrs.get("http.client_ip"):
            request["x_forwarded_for"] = True
    http: dict[str, Any] = {}
    if request:
        http["request"] = request
    status = _status_code(attrs)
    if status is not None:
        http["response"] = {"status": status}
    return http or None


def _aws(span: Span, segment: bool) -> dict[str, Any] | None:
    attrs = span.attributes
    resource = span.scope.resource
    provider = resource.get("cloud.provider")
    if provider not in (None, "aws"):
        return None
    aws: dict[str, Any] = {}
    for key, field in _AWS_KEYS.items():
        value = attrs.get(key)
        if value is not None and _scalar(value) and field not in aws:
            aws[field] = _text(value)
    if "aws.operation" in attrs and _scalar(attrs["aws.operation"]):
        aws["operation"] = _text(attrs["aws.operation"])
    tables = attrs.get("aws.dynamodb.table_names")
    if isinstance(tables, list) and tables:
        if len(tables) == 1:
            aws["table_name"] = _text(tables[0])
        else:
            aws.pop("table_name", None)
            aws["table_names"] = [_text(table) for table in tables]
    if segment:
        if resource.get("cloud.account.id"):
            aws.setdefault("account_id", _text(resource["cloud.account.id"]))
        sdk_name, language = resource.get("telemetry.sdk.name"), resource.get("telemetry.sdk.language")
        if sdk_name:
            aws["xray"] = {
                "sdk": f"{sdk_name} for {language}" if language else _text(sdk_name),
                "sdk_version": _text(resource.get("telemetry.sdk.version") or ""),
                "auto_instrumentation": "telemetry.auto.version" in resource,
            }
    return aws or None


def _sql(attrs: dict[str, Any]) -> dict[str, Any] | None:
    if not (attrs.get("db.system") and (attrs.get("db.statement") or attrs.get("db.query.text"))):
        return None
    return {field: _text(attrs[key]) for key, field in _SQL_KEYS.items() if attrs.get(key) is not None}


def _origin(resource: dict[str, Any]) -> str | None:
    if not resource or resource.get("cloud.provider") not in (None, "aws"):
        return None
    platform = resource.get("cloud.platform")
    if platform == "aws_ecs":
        launch = _text(resource.get("aws.ecs.launchtype") or "").lower()
        return _ECS_ORIGINS.get(launch, "AWS::ECS::Container")
    return _ORIGINS.get(platform) if isinstance(platform, str) else None


# ------------------------------------------------------------------------------------------------ cause


def _python_frames(stacktrace: str) -> list[dict[str, Any]]:
    """Frames of a Python traceback (`  File "p", line n, in f`), innermost first, as X-Ray stores them."""
    frames: list[dict[str, Any]] = []
    for line in reversed(stacktrace.split("\n")):
        if not line.startswith('  File "'):
            continue
        path, _, rest = line[len('  File "') :].partition('", line ')
        number, _, label = rest.partition(", in ")
        frames.append({"path": path, "line": int(number) if number.isdigit() else 0, "label": label.strip()})
    return frames


def _cause(span: Span, status: int | None) -> tuple[dict[str, Any] | None, dict[str, bool]]:
    """(cause, {error, throttle, fault}) as cause.go makeCause decides them."""
    exceptions: list[dict[str, Any]] = []
    remote = span.kind in (CLIENT, PRODUCER)
    language = span.scope.resource.get("telemetry.sdk.language")
    for index, event in enumerate(span.events):
        if event.name != "exception":
            continue
        attrs = event.attributes
        exception: dict[str, Any] = {
            "id": derived_id(span.span_id, f"exception/{index}"),
            "type": _text(attrs.get("exception.type") or ""),
            "message": _text(attrs.get("exception.message") or ""),
            "remote": remote,
        }
        stacktrace = attrs.get("exception.stacktrace")
        if isinstance(stacktrace, str) and language == "python":
            exception["stack"] = _python_frames(stacktrace)
        exceptions.append(exception)
    if not exceptions and span.status_code == STATUS_ERROR:
        message = span.status_message or _text(span.attributes.get("http.status_text") or "")
        if message:
            exceptions.append({"id": derived_id(span.span_id, "status"), "message": message})
    flags = {"error": False, "throttle": False, "fault": False}
    if status is not None and 400 <= status <= 499:
        flags["error"] = True
        flags["throttle"] = status == 429
    elif (status is not None and 500 <= status <= 599) or span.status_code == STATUS_ERROR:
        # A status code outside 400-599 says nothing: then an ERROR status is a fault (cause.go).
        flags["fault"] = True
    return ({"exceptions": exceptions} if exceptions else None), flags


# --------------------------------------------------------------------------------- annotations, metadata


def _attributes(
    span: Span, segment: bool, consumed: set[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    attrs = span.attributes
    indexed = attrs.get(ANNOTATIONS_ATTRIBUTE)
    indexed_keys = {key for key in indexed if isinstance(key, str)} if isinstance(indexed, list) else set()
    annotations: dict[str, Any] = {}
    metadata: dict[str, dict[str, Any]] = {}
    default: dict[str, Any] = {}
    if segment:
        for key, value in span.scope.resource.items():
            key = f"otel.resource.{key}"
            if key in indexed_keys and _scalar(value):
                annotations[annotation_key(key)] = value
            elif value is not None:
                default[key] = value
    for key, value in attrs.items():
        if key in consumed or key == ANNOTATIONS_ATTRIBUTE:
            continue
        if key in indexed_keys and _scalar(value):
            annotations[annotation_key(key)] = value
        elif key.startswith(METADATA_PREFIX) and isinstance(value, str):
            namespace = key[len(METADATA_PREFIX) :]
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if not isinstance(parsed, dict):
                default[key] = value
            elif namespace.lower() == "default":
                default.update(parsed)
            else:
                metadata[namespace] = parsed
        elif value is not None:
            default[key] = value
    if default:
        metadata["default"] = default
    return annotations, metadata


def _otel_extra(span: Span) -> dict[str, Any]:
    """What X-Ray has no field for, kept visible (see the module docstring)."""
    extra: dict[str, Any] = {"kind": KIND_NAMES[span.kind] if 0 <= span.kind < 6 else str(span.kind)}
    if span.status_code:
        status = {"code": STATUS_NAMES[span.status_code] if span.status_code < 3 else str(span.status_code)}
        if span.status_message:
            status["message"] = span.status_message
        extra["status"] = status
    events = [_event(event) for event in span.events if event.name != "exception"]
    if events:
        extra["events"] = events
    if span.trace_state:
        extra["trace_state"] = span.trace_state
    if span.scope.name:
        extra["scope"] = {"name": span.scope.name, "version": span.scope.version}
        if span.scope.attributes:
            extra["scope"]["attributes"] = span.scope.attributes
    return extra


def _event(event: Event) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": event.name, "time": _seconds(event.time_ns)}
    if event.attributes:
        entry["attributes"] = event.attributes
    return entry


# ---------------------------------------------------------------------------------------------- segments


def _document(span: Span, *, subsegment: bool, segment_id: str | None = None) -> dict[str, Any]:
    """One span as one document (segment.go MakeSegment)."""
    name, namespace = _name_and_namespace(span)
    status = _status_code(span.attributes)
    cause, flags = _cause(span, status)
    http = _http(span)
    aws = _aws(span, not subsegment)
    sql = _sql(span.attributes)
    consumed = set(_AWS_KEYS) | {"enduser.id"}
    if http is not None:
        consumed |= _HTTP_KEYS
    if sql is not None:
        consumed |= set(_SQL_KEYS) | {"db.name"}
    if cause is not None and span.status_code == STATUS_ERROR:
        consumed.add("http.status_text")
    annotations, metadata = _attributes(span, not subsegment, consumed)
    doc: dict[str, Any] = {
        "id": segment_id or span.span_id,
        "trace_id": xray_trace_id(span.trace_id),
        "name": name,
        "start_time": _seconds(span.start_ns),
    }
    if span.end_ns:
        doc["end_time"] = _seconds(span.end_ns)
    else:
        doc["in_progress"] = True
    if span.parent_span_id:
        doc["parent_id"] = span.parent_span_id
    if subsegment:
        doc["type"] = "subsegment"
    if (
        not namespace
        and subsegment
        and span.kind in _REMOTE_KINDS
        and "aws.remote.service" in span.attributes
    ):
        namespace = "remote"
    if namespace:
        doc["namespace"] = namespace
    origin = None if subsegment else _origin(span.scope.resource)
    if origin:
        doc["origin"] = origin
    doc.update({key: True for key, value in flags.items() if value})
    if cause is not None:
        doc["cause"] = cause
    user = span.attributes.get("enduser.id")
    if user is not None:
        doc["user"] = _text(user)
    for key, value in (("http", http), ("aws", aws), ("sql", sql)):
        if value is not None:
            doc[key] = value
    if annotations:
        doc["annotations"] = annotations
    if metadata:
        doc["metadata"] = metadata
    if span.links:
        doc["links"] = [
            {
                "trace_id": xray_trace_id(link.trace_id),
                "id": link.span_id,
                **({"attributes": link.attributes} if link.attributes else {}),
            }
            for link in span.links
            if len(link.trace_id) == 32 and len(link.span_id) == 16
        ]
    doc["otel"] = _otel_extra(span)
    return doc


def span_documents(span: Span) -> list[dict[str, Any]]:
    """The segment documents one span becomes (segment.go MakeSegmentsFromSpan): one, or two for a
    LOCAL_ROOT dependency span. The span must have valid ids (`otlp.span_problem`)."""
    local_root = span.attributes.get("aws.span.kind") == "LOCAL_ROOT"
    if not local_root:
        return [_document(span, subsegment=bool(span.parent_span_id) and span.kind != SERVER)]
    if span.kind in (SERVER, INTERNAL):
        doc = _document(span, subsegment=False)
        doc.pop("namespace", None)
        return [doc]
    service_id = derived_id(span.span_id, "service")
    dependency = _document(Span(**{**_fields(span), "parent_span_id": service_id}), subsegment=True)
    dependency.setdefault("namespace", "remote")
    if span.kind == CONSUMER:
        dependency.pop("links", None)
    service_attrs = {k: v for k, v in span.attributes.items() if k not in _DEPENDENCY_ONLY}
    service = _document(
        Span(**{**_fields(span), "attributes": service_attrs}), subsegment=False, segment_id=service_id
    )
    if span.attributes.get("aws.local.service"):
        service["name"] = _text(span.attributes["aws.local.service"])
    service.pop("http", None)
    service.pop("namespace", None)
    if isinstance(service.get("aws"), dict):
        kept = {k: v for k, v in service["aws"].items() if k not in set(_AWS_KEYS.values()) | {"table_names"}}
        if kept:
            service["aws"] = kept
        else:
            del service["aws"]
    default = service.get("metadata", {}).get("default")
    if isinstance(default, dict):
        service["metadata"] = {
            "default": {k: v for k, v in default.items() if k.startswith("otel.resource.")}
        }
    if span.kind != CONSUMER:
        service.pop("links", None)
    return [dependency, service]


def _fields(span: Span) -> dict[str, Any]:
    return {name: getattr(span, name) for name in Span.__slots__}


def to_documents(spans: Iterable[Span]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every span's segment documents, and the spans that cannot become any (bad ids)."""
    documents: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for span in spans:
        reason = span_problem(span)
        if reason is not None:
            problems.append(Problem(span.span_id, reason))
            continue
        documents.extend(span_documents(span))
    return documents, problems
