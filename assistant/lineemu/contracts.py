"""Validate traffic against LINE's own OpenAPI files (messaging-api.yml, webhook.yml).

The emulator uses :func:`validate_request` on every call the service makes, and
tests use :func:`validate_webhook_body` on every webhook they send, so both sides
of the LINE boundary are held to the published contract. Validation is jsonschema
with the OAS 3.0 dialect plus discriminator support (see :mod:`._oas` for why
openapi-core alone is not enough for these specs).

The specs are read at run time from ``$WPA_LINE_CONTRACTS`` (default
``<repo root>/../shared/contracts/line``) and never copied into the repository.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import unquote

from ._oas import LoadedSpec, load, pointer

SpecName = Literal["messaging-api", "webhook"]
_SPEC_FILES: dict[str, str] = {"messaging-api": "messaging-api.yml", "webhook": "webhook.yml"}


def contracts_dir() -> Path:
    """Folder holding LINE's spec files: ``$WPA_LINE_CONTRACTS`` or the shared checkout."""
    env = os.environ.get("WPA_LINE_CONTRACTS")
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parents[2]  # parent of the `assistant` package
    return repo_root.parent / "shared" / "contracts" / "line"


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One failed check, shaped like an entry of LINE's error ``details`` array."""

    message: str
    property: str = ""

    def as_detail(self) -> dict[str, str]:
        return {"message": self.message, "property": self.property} if self.property else {"message": self.message}


class ContractViolation(ValueError):
    """Raised when a request or webhook body breaks the spec; lists every problem found.

    ``kind`` lets the emulator choose LINE's status code: ``not_found`` (404),
    ``method`` (405), ``auth`` (401) or ``invalid`` (400).
    """

    def __init__(self, what: str, problems: list[Problem], kind: str = "invalid") -> None:
        self.what = what
        self.problems = problems
        self.kind = kind
        lines = [f"  - {p.property + ': ' if p.property else ''}{p.message}" for p in problems]
        super().__init__(f"{what}: {len(problems)} problem(s)\n" + "\n".join(lines))

    @property
    def details(self) -> list[dict[str, str]]:
        return [p.as_detail() for p in self.problems]


# ------------------------------------------------------------------ loading


def _spec(name: SpecName) -> LoadedSpec:
    return load(_SPEC_FILES[name], str(contracts_dir().resolve()))


def load_spec(name: SpecName) -> dict[str, Any]:
    """The prepared (discriminator-rewritten) spec document, loaded once per contracts folder."""
    return _spec(name).doc


def _problems(errors: list[tuple[str, str]]) -> list[Problem]:
    return [Problem(message, prop) for message, prop in errors]


# ------------------------------------------------------------------ public checks


def validate_schema(spec: SpecName, schema_name: str, instance: Any) -> None:
    """Validate ``instance`` against ``components/schemas/<schema_name>`` of one spec."""
    if schema_name not in _spec(spec).doc.get("components", {}).get("schemas", {}):
        raise KeyError(f"{spec}.yml has no schema {schema_name!r}")
    problems = _problems(_spec(spec).errors(pointer("components", "schemas", schema_name), instance))
    if problems:
        raise ContractViolation(f"{schema_name} does not match {spec}.yml", problems)


def validate_webhook_body(body: Any) -> None:
    """Check a webhook payload against webhook.yml's ``CallbackRequest`` (events, sources, contents by ``type``)."""
    validate_schema("webhook", "CallbackRequest", body)


@dataclass(frozen=True)
class Operation:
    """What a request resolved to in messaging-api.yml."""

    operation_id: str
    method: str
    template: str
    path_params: dict[str, str]
    definition: dict[str, Any] = field(repr=False, compare=False)

    def accepts_header(self, name: str) -> bool:
        """True when the spec declares header ``name`` for this operation (e.g. X-Line-Retry-Key)."""
        return any(p.get("in") == "header" and p["name"].lower() == name.lower() for p in self.definition.get("parameters", []))


def resolve_operation(method: str, path: str) -> Operation:
    """Map a concrete method + path onto messaging-api.yml (templated paths included)."""
    spec = _spec("messaging-api")
    matched = False
    for _, rx, template in spec.paths:
        m = rx.match(path)
        if not m:
            continue
        matched = True
        item = spec.doc["paths"][template]
        op = item.get(method.lower())
        if op is not None:
            params = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
            params.update({(p["in"], p["name"]): p for p in op.get("parameters", [])})  # operation overrides path item
            merged = dict(op, parameters=list(params.values()))
            values = {k: unquote(v) for k, v in m.groupdict().items()}
            return Operation(op.get("operationId", template), method.upper(), template, values, merged)
    if matched:
        raise ContractViolation(f"{method.upper()} {path}", [Problem("Method not allowed")], kind="method")
    raise ContractViolation(f"{method.upper()} {path}", [Problem("Not found")], kind="not_found")


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """Headers and query strings arrive as text; turn them into the scalar type the schema wants."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
    except ValueError:
        pass
    return value


def _auth_problems(spec: LoadedSpec, op: Operation, headers: Mapping[str, str]) -> list[Problem]:
    requirements = op.definition.get("security", spec.doc.get("security", []))
    if not requirements:
        return []
    schemes = spec.doc.get("components", {}).get("securitySchemes", {})
    auth = headers.get("authorization", "")
    for requirement in requirements:
        ok = True
        for scheme_name in requirement:
            scheme = schemes.get(scheme_name, {})
            if scheme.get("type") == "http":
                word, _, token = auth.partition(" ")
                ok &= word.lower() == scheme.get("scheme", "").lower() and bool(token.strip())
            elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                ok &= bool(headers.get(scheme["name"].lower()))
        if ok:
            return []
    return [Problem("Authentication failed: missing or malformed Authorization: Bearer <channel access token>", "Authorization")]


def _parameter_problems(spec: LoadedSpec, op: Operation, headers: Mapping[str, str], query: Mapping[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    sources = {"header": headers, "query": query, "path": op.path_params}
    for p in op.definition.get("parameters", []):
        where = p.get("in")
        if where not in sources:
            continue
        key = p["name"].lower() if where == "header" else p["name"]
        if key not in sources[where]:
            if p.get("required"):
                problems.append(Problem(f"Required {where} parameter is missing", p["name"]))
            continue
        schema = p.get("schema", {})
        value = _coerce(sources[where][key], schema)
        problems += [Problem(message, p["name"]) for message in spec.inline_errors(schema, value)]
    return problems


def _body_problems(spec: LoadedSpec, op: Operation, headers: Mapping[str, str], body: Any) -> list[Problem]:
    request_body = op.definition.get("requestBody")
    if not request_body:
        return []
    content: Mapping[str, Any] = request_body.get("content", {})
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8") if body else None
    if body is None or body == "":
        return [Problem("The request body is required")] if request_body.get("required") else []
    if "application/json" not in content:
        return []  # binary uploads (rich menu images): presence is all the spec can say
    problems: list[Problem] = []
    ctype = headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        problems.append(Problem(f"Content-Type must be application/json, got {ctype!r}", "Content-Type"))
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return problems + [Problem("The request body could not be parsed as JSON")]
    where = pointer("paths", op.template, op.method.lower(), "requestBody", "content", "application/json", "schema")
    return problems + _problems(spec.errors(where, body))


def validate_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: Any = None,
    *,
    query: Mapping[str, str] | None = None,
) -> Operation:
    """Check one outgoing Messaging API call against messaging-api.yml and return its operation.

    ``body`` may be parsed JSON, or the raw ``bytes``/``str`` as sent. Checks the path
    (templates included), method, Bearer auth, declared header/query/path parameters
    (e.g. ``X-Line-Retry-Key`` must be a UUID) and the JSON body schema with
    discriminators. Raises :class:`ContractViolation` listing every failure.
    """
    spec = _spec("messaging-api")
    op = resolve_operation(method, path)
    lower = {k.lower(): v for k, v in headers.items()}
    what = f"{op.method} {path} ({op.operation_id})"
    auth = _auth_problems(spec, op, lower)
    if auth:
        raise ContractViolation(what, auth, kind="auth")
    problems = _parameter_problems(spec, op, lower, dict(query or {}))
    problems += _body_problems(spec, op, lower, body)
    if problems:
        raise ContractViolation(what, problems)
    return op
