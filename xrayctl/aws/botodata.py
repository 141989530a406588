"""Settings of botocore's session that make commands cheaper: how it loads its data, how it parses timestamps,
and (for list-annotations) which members of a trace summary it parses. All go through botocore's own
components; botocore still loads every model and parses every response.

The data loader, without the scan of every service that costs each command ~25 ms.

Before botocore loads a service's model it lists every service it has data for, only to check that the one
asked for is among them: a walk over ~400 directories of botocore/data (~900 listdir and ~2,700 stat calls),
about a tenth of `show-trace`. This loader hands botocore a list that answers `in` by looking for that one
service where botocore would (AWS_DATA_PATH, ~/.aws/models, then its own data), and does the full scan only
if something reads the whole list (botocore's error for an unknown service name does). Any service still
works: credential providers create sts, sso and sso-oidc clients through the same session. Everything else
is botocore's own loading.

The timestamp parser, for the epoch numbers every X-Ray answer holds (a trace summary has two): botocore's
default turns each into a datetime in a new `dateutil.tz.tzlocal()`, a quarter of what parsing a page of
summaries costs, and every later conversion of such a datetime calls back into dateutil. The same instant in
`timezone.utc` is a C call. xrayctl shows every time in UTC, so the one visible change is that JSON output
carries `+00:00` on every machine instead of the machine's offset. Anything else (a string, a number outside
what `datetime` holds) is botocore's own parser's, as the AWS CLI does with the same hook
(`set_parser_defaults`). Imported only where botocore is.

The rows model, for the client list-annotations reads summaries through. botocore parses a response by
walking its model: every member of every structure is looked for in the JSON and parsed by its type. A trace
summary has ~25 members, and each annotation value carries a list of services, each a structure of four:
~90 us a summary here, which made botocore's walk most of reading 100,000 summaries. A table of annotations
shows eight members and no annotation's services. The loader also serves X-Ray's model, asked for with the
api_version ROWS_API_VERSION, with `TraceSummary` and `ValueWithServiceIds` cut to those members
(ROW_MEMBERS): botocore parses the answers of a client of it as always, with every member it knows of, and
leaves the rest of the JSON alone, as it does with fields newer than its model (~40 us a summary). The service
name, endpoints, signing and events are X-Ray's; only the shape of a summary differs.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, overload

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader
from botocore.session import Session
from botocore.utils import parse_timestamp


class ServiceNames(Sequence[str]):
    """The services `loader` has `type_name` data for: `in` checks one name, anything else lists them all."""

    def __init__(self, loader: LazyListingLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._loader.list_api_versions(name, self._type_name)
        except DataNotFoundError:
            return False
        return True

    @cached_property
    def _names(self) -> list[str]:
        return self._loader.scan_services(self._type_name)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._names[index]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)


# `api_version` for a client whose trace summaries are parsed for annotation rows (X-Ray's latest model).
ROWS_API_VERSION = "latest+rows"
# The members kept, of the structures cut in the rows model: what `xrayctl.trace.annotations` reads.
ROW_MEMBERS = {
    "TraceSummary": (
        "Id",
        "StartTime",
        "Duration",
        "ResponseTime",
        "HasFault",
        "HasError",
        "HasThrottle",
        "Annotations",
    ),
    "ValueWithServiceIds": ("AnnotationValue",),
}


class LazyListingLoader(Loader):
    def __init__(self, data_path: str | None) -> None:
        # As botocore.loaders.create_loader reads the data_path setting (AWS_DATA_PATH).
        paths = data_path.split(os.pathsep) if data_path else []
        super().__init__(extra_search_paths=[os.path.expanduser(os.path.expandvars(p)) for p in paths])
        self._rows_models: dict[str, Any] = {}

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        if api_version != ROWS_API_VERSION:
            return super().load_service_model(service_name, type_name, api_version)
        model = super().load_service_model(service_name, type_name, None)
        if type_name != "service-2":  # endpoints, rule sets: X-Ray's own
            return model
        if service_name not in self._rows_models:
            self._rows_models[service_name] = rows_model(model)
        return self._rows_models[service_name]

    def list_available_services(self, type_name: str) -> list[str]:
        return ServiceNames(self, type_name)  # type: ignore[return-value]  # a list in all but its type

    def scan_services(self, type_name: str) -> list[str]:
        """botocore's own listing: every service directory on the search path."""
        return list(super().list_available_services(type_name))


def rows_model(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of the service model `model` with the structures of ROW_MEMBERS cut to those members (botocore's
    loader shares the dict it loaded: it is not changed)."""
    shapes = model.get("shapes", {})
    cut = {**model, "shapes": dict(shapes)}
    for name, kept in ROW_MEMBERS.items():
        if name in shapes:
            shape = copy.deepcopy(shapes[name])
            shape["members"] = {key: value for key, value in shape["members"].items() if key in kept}
            shape["required"] = [key for key in shape.get("required", []) if key in kept]
            cut["shapes"][name] = shape
    return cut


def utc_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with epoch numbers read straight into UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):  # out of datetime's range, or NaN: botocore decides
            pass
    result: datetime = parse_timestamp(value)
    return result


def install(session: Session) -> None:
    """Make `session` load its data through a LazyListingLoader and parse timestamps with utc_timestamp."""
    session.register_component("data_loader", LazyListingLoader(session.get_config_variable("data_path")))
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=utc_timestamp)
