"""Files a user hands a command (`show-trace --input`, `invoke --payload @file`): read no more than their
limit, and decoded as JSON may be encoded.

A file can be anything a path names: a device (`/dev/zero` never ends), a pipe, a file of many gigabytes. Each
is read up to its limit and one byte more, never further, and refused past it (`InputError`, exit 1). A
regular file larger than the limit is refused from its size, without reading it.

JSON exchanged between systems is UTF-8, and a reader may take UTF-16 and UTF-32 too (RFC 8259, and RFC 7159
before it); Windows PowerShell's `>` writes UTF-16 with a byte order mark. `json_text` decodes those, with or
without a BOM, and refuses any other bytes (Latin-1, a binary file) in one line naming where they stop being
text.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import BinaryIO

from xrayctl.errors import InputError, UsageError

MB = 1024 * 1024
# X-Ray keeps a trace's documents to about 500 KB (BatchGetTraces marks a larger one LimitExceeded and returns
# part of it), so a saved BatchGetTraces answer is a few MB, and xrayctl's own -o json of the largest trace
# (every field written, indented) about 10 MB: 64 MB holds several of either. Parsing it costs several times
# its size in memory, which is what the limit bounds.
INPUT_LIMIT = 64 * MB
# Lambda takes at most 6 MB in a synchronous invocation's request.
PAYLOAD_LIMIT = 6 * MB
_CHUNK = MB


def size_text(limit: int) -> str:
    return f"{limit // MB} MB" if limit % MB == 0 else f"{limit:,} bytes"


def read_limited(source: str, limit: int, *, what: str, fix: str) -> bytes:
    """The bytes of the file `source` names (`-`: standard input), refused past `limit` bytes; `what` names
    it in a message, `fix` says what to do about a file too large."""
    try:
        if source == "-":
            return _read(sys.stdin.buffer, limit, what=what, fix=fix)
        with open(source, "rb") as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise _too_large(what, limit, fix)
            return _read(stream, limit, what=what, fix=fix)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        # A file option naming no file is a usage error, as click says of --input's (exit 2).
        raise UsageError(
            f"{what}: no such file ({exc.strerror or exc}).", "Give the path of a file, or - for stdin."
        ) from exc
    except OSError as exc:
        raise InputError(
            f"Cannot read {what}: {exc.strerror or exc}.", "Give the path of a readable file, or - for stdin."
        ) from exc


def _read(stream: BinaryIO, limit: int, *, what: str, fix: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(what, limit, fix)


def _too_large(what: str, limit: int, fix: str) -> InputError:
    return InputError(f"{what} is larger than {size_text(limit)}, the limit for it.", fix)


def check_size(data: bytes, limit: int, *, what: str, fix: str) -> None:
    if len(data) > limit:
        raise _too_large(what, limit, fix)


def json_text(data: bytes, *, what: str) -> str:
    """`data` as text, decoded from UTF-8, UTF-16 or UTF-32 (the encoding told by a byte order mark, or by
    where the zero bytes of the first characters fall, as RFC 4627 says); InputError for anything else."""
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} is not UTF-8, UTF-16 or UTF-32 text: byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start} is not {exc.encoding.upper()}.",
            "JSON is Unicode text (RFC 8259): save the file as UTF-8.",
        ) from None
