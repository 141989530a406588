"""X-Ray filter expressions: a parser and an evaluator over trace summaries.

Covers the part of the real syntax a terminal user reaches for: `annotation.KEY` (alone: the key exists; or
compared with =, !=, <, <=, >, >=, CONTAINS, BEGINSWITH, ENDSWITH), `service("name")`, `service()`,
`service(id(name: "x", type: "AWS::Lambda", account.id: "123"))` (any of the three keys),
`http.status|url|method|useragent|clientip`, `responsetime`, `duration`, the flags `ok`, `error`, `fault`,
`throttle`, `partial` (bare or `= true|false`), and `AND`, `OR`, `!`, parentheses. Keywords are
case-insensitive; values are not. The rest of the real syntax (`edge()`, `service() { filter }`,
`rootcause.*`, `user`, `group.*`, ...) is rejected by name.

The expression comes from a request, so the parser is recursive descent with a hard nesting bound instead of
an unbounded recursion, and every rejection names the position and the token it could not read.
Expressions evaluate against a summary in GetTraceSummaries' `TraceSummary` shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xrayctl.errors import UsageError

MAX_NESTING = 100

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<op><=|>=|!=|=|<|>|!|\(|\)|\{|\}|\[|\]|,|:)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    """,
    re.VERBOSE,
)
_UNESCAPE = re.compile(r"\\(.)")

_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("contains", "beginswith", "endswith")
_FLAGS = ("ok", "error", "fault", "throttle", "partial")
_NUMBER_FIELDS = ("responsetime", "duration", "http.status")
_STRING_FIELDS = ("http.url", "http.method", "http.useragent", "http.clientip")
_HTTP_FIELDS = {
    "http.status": "HttpStatus",
    "http.url": "HttpURL",
    "http.method": "HttpMethod",
    "http.useragent": "UserAgent",
    "http.clientip": "ClientIp",
}
_ID_FIELDS = {"name": "Name", "type": "Type", "account.id": "AccountId"}  # id(...) key -> ServiceId field
# Real keywords (and keyword prefixes) this evaluator does not have: rejected by name, not as unreadable.
_UNSUPPORTED = ("edge", "user", "json", "availabilityzone", "instance.id", "resource.arn")
_UNSUPPORTED_PREFIXES = ("group.", "rootcause.")

Value = str | float | bool
Summary = Mapping[str, Any]


class FilterError(UsageError):
    """A filter expression that cannot be read; the message names the position and the token."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string" | "number" | "op" | "word" | "end"
    text: str
    pos: int

    @property
    def keyword(self) -> str:
        return self.text.lower() if self.kind == "word" else self.text


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterError(f"Filter expression: cannot read {text[pos : pos + 20]!r} at position {pos}.")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "end of expression", len(text)))
    return tokens


def _compare(op: str, left: Value, right: Value) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if isinstance(left, bool) or isinstance(right, bool) or type(left) is not type(right):
        return False  # ordering and substrings only make sense between two numbers or two strings
    if op in _STRING_OPS:
        assert isinstance(left, str) and isinstance(right, str)
        return {
            "contains": right in left,
            "beginswith": left.startswith(right),
            "endswith": left.endswith(right),
        }[op]
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]  # type: ignore[operator]


def _annotation_values(summary: Summary, key: str) -> list[Value]:
    values: list[Value] = []
    for entry in summary.get("Annotations", {}).get(key, []):
        raw = entry.get("AnnotationValue", {})
        if "NumberValue" in raw:
            values.append(float(raw["NumberValue"]))
        elif "BooleanValue" in raw:
            values.append(bool(raw["BooleanValue"]))
        elif "StringValue" in raw:
            values.append(str(raw["StringValue"]))
    return values


def _field_value(summary: Summary, field: str) -> Value | None:
    if field == "responsetime":
        value = summary.get("ResponseTime")
    elif field == "duration":
        value = summary.get("Duration")
    else:
        value = (summary.get("Http") or {}).get(_HTTP_FIELDS[field])
    if value is None:
        return None
    return float(value) if field in _NUMBER_FIELDS else str(value)


def _flag(summary: Summary, name: str) -> bool:
    if name == "ok":
        return not (summary.get("HasError") or summary.get("HasFault") or summary.get("HasThrottle"))
    key = {"error": "HasError", "fault": "HasFault", "throttle": "HasThrottle", "partial": "IsPartial"}[name]
    return bool(summary.get(key))


def _is_service(service: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    """Whether a ServiceId is the one `wanted` names: by Name or any of its Names, Type, AccountId."""
    for field, value in wanted.items():
        if field == "Name":
            if value != service.get("Name") and value not in service.get("Names", []):
                return False
        elif service.get(field) != value:
            return False
    return True


Predicate = Callable[[Summary], bool]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def fail(self, expected: str) -> FilterError:
        token = self.current
        return FilterError(
            f"Filter expression: expected {expected} at position {token.pos}, found {token.text!r}."
        )

    def expect(self, kind: str, text: str) -> None:
        if self.current.kind != kind or self.current.keyword != text:
            raise self.fail(repr(text))
        self.advance()

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        if self.current.kind != "end":
            raise self.fail("AND, OR or the end of the expression")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.current.keyword == "or" and self.current.kind == "word":
            self.advance()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda s: any(p(s) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.current.keyword == "and" and self.current.kind == "word":
            self.advance()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else (lambda s: all(p(s) for p in parts))

    def parse_unary(self) -> Predicate:
        token = self.current
        if token.kind == "op" and token.text in ("!", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise FilterError(
                    f"Filter expression: nested more than {MAX_NESTING} levels deep at position {token.pos}."
                )
            self.advance()
            if token.text == "!":
                inner = self.parse_unary()
                predicate: Predicate = lambda s: not inner(s)  # noqa: E731 - a closure is the node
            else:
                predicate = self.parse_or()
                self.expect("op", ")")
            self.depth -= 1
            return predicate
        return self.parse_term()

    def parse_value(self) -> Value:
        token = self.current
        if token.kind == "string":
            value: Value = _UNESCAPE.sub(r"\1", token.text[1:-1])
        elif token.kind == "number":
            value = float(token.text)
        elif token.kind == "word" and token.keyword in ("true", "false"):
            value = token.keyword == "true"
        else:
            raise self.fail('a value (a number, a "string", true or false)')
        self.advance()
        return value

    def parse_operator(self, allowed: tuple[str, ...]) -> str | None:
        token = self.current
        op = token.keyword
        if (token.kind == "op" and op in _COMPARISONS) or (token.kind == "word" and op in _STRING_OPS):
            if op not in allowed:
                raise self.fail("one of " + ", ".join(a.upper() for a in allowed))
            self.advance()
            return op
        return None

    def parse_term(self) -> Predicate:
        token = self.current
        word = token.keyword
        known = (
            word == "annotation"
            or word.startswith("annotation.")
            or word in ("service", *_FLAGS, *_NUMBER_FIELDS, *_STRING_FIELDS)
        )
        if token.kind == "word" and (word in _UNSUPPORTED or word.startswith(_UNSUPPORTED_PREFIXES)):
            raise FilterError(
                f"Filter expression: {token.text!r} at position {token.pos} is X-Ray syntax that the local "
                "X-Ray API does not evaluate."
            )
        if token.kind != "word" or not known:
            raise self.fail("a condition (annotation.KEY, service(...), http.status, responsetime, ok, ...)")
        self.advance()
        if word == "service":
            return self.parse_service()
        if word in _FLAGS:
            op = self.parse_operator(("=", "!="))
            if op is None:
                return lambda s: _flag(s, word)
            expected = self.parse_value()
            if not isinstance(expected, bool):
                raise FilterError(
                    f"Filter expression: {word} compares only with true or false (position {token.pos})."
                )
            return lambda s: _flag(s, word) == (expected if op == "=" else not expected)
        if word in _NUMBER_FIELDS or word in _STRING_FIELDS:
            ops = _COMPARISONS + (_STRING_OPS if word in _STRING_FIELDS else ())
            op = self.parse_operator(ops)
            if op is None:
                raise self.fail(f"an operator after {token.text}")
            value = self.parse_value()
            if (word in _NUMBER_FIELDS) != isinstance(value, float):
                kind = "a number" if word in _NUMBER_FIELDS else 'a "string"'
                raise FilterError(
                    f"Filter expression: {token.text} compares with {kind} (position {token.pos})."
                )
            return lambda s: (v := _field_value(s, word)) is not None and _compare(op, v, value)
        return self.parse_annotation(token)

    def parse_annotation(self, token: _Token) -> Predicate:
        if token.keyword == "annotation":  # annotation[key], for keys the dotted form cannot spell
            self.expect("op", "[")
            if self.current.kind not in ("word", "string"):
                raise self.fail("an annotation key")
            key = self.advance().text.strip('"')
            self.expect("op", "]")
        else:
            key = token.text[len("annotation.") :]
            if not key:
                raise FilterError(f"Filter expression: annotation without a key at position {token.pos}.")
        op = self.parse_operator(_COMPARISONS + _STRING_OPS)
        if op is None:
            return lambda s: key in s.get("Annotations", {})
        value = self.parse_value()
        if op == "!=":
            return lambda s: key in s.get("Annotations", {}) and value not in _annotation_values(s, key)
        return lambda s: any(_compare(op, v, value) for v in _annotation_values(s, key))

    def parse_string(self) -> str:
        if self.current.kind != "string":
            raise self.fail('a "string"')
        return _UNESCAPE.sub(r"\1", self.advance().text[1:-1])

    def parse_service(self) -> Predicate:
        self.expect("op", "(")
        wanted: dict[str, str] = {}
        if self.current.kind == "string":
            wanted["Name"] = self.parse_string()
        elif self.current.kind == "word" and self.current.keyword == "id":
            self.advance()
            wanted = self.parse_id()
        self.expect("op", ")")
        if self.current.kind == "op" and self.current.text == "{":
            raise FilterError(
                f"Filter expression: a service's own filter ({{ ... }} at position {self.current.pos}) "
                "is X-Ray syntax that the local X-Ray API does not evaluate."
            )
        if not wanted:
            return lambda s: bool(s.get("ServiceIds"))
        return lambda s: any(_is_service(service, wanted) for service in s.get("ServiceIds", []))

    def parse_id(self) -> dict[str, str]:
        """`id(name: "x", type: "T", account.id: "N")`, any of the keys, each once, in any order."""
        self.expect("op", "(")
        wanted: dict[str, str] = {}
        while True:
            token = self.current
            field = _ID_FIELDS.get(token.keyword) if token.kind == "word" else None
            if field is None or field in wanted:
                raise self.fail("name, type or account.id, each once")
            self.advance()
            self.expect("op", ":")
            wanted[field] = self.parse_string()
            if self.current.kind != "op" or self.current.text != ",":
                break
            self.advance()
        self.expect("op", ")")
        return wanted


def parse_filter(text: str) -> Predicate:
    """Compile `text` into a predicate over a TraceSummary; raise FilterError naming what cannot be read."""
    return _Parser(text).parse()
