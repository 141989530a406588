"""Two settings of botocore's session that make every command cheaper: how it loads its data and how it
parses timestamps. Both go through botocore's own components; botocore still loads every model and parses
every response.

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
"""

from __future__ import annotations

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


class LazyListingLoader(Loader):
    def __init__(self, data_path: str | None) -> None:
        # As botocore.loaders.create_loader reads the data_path setting (AWS_DATA_PATH).
        paths = data_path.split(os.pathsep) if data_path else []
        super().__init__(extra_search_paths=[os.path.expanduser(os.path.expandvars(p)) for p in paths])

    def list_available_services(self, type_name: str) -> list[str]:
        return ServiceNames(self, type_name)  # type: ignore[return-value]  # a list in all but its type

    def scan_services(self, type_name: str) -> list[str]:
        """botocore's own listing: every service directory on the search path."""
        return list(super().list_available_services(type_name))


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
