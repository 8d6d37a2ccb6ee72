"""OpenAPI 3.0 schema machinery for LINE's specs (private to :mod:`.contracts`).

LINE puts each ``discriminator`` on the *base* schema (``Message``, ``Event``,
``Source``, ``Action`` …) and lets every subtype ``allOf`` that base.
openapi-schema-validator (and so openapi-core 0.23) only honours a discriminator
that sits next to ``oneOf``/``anyOf``/``allOf``, so it accepts ``{"type": "text"}``
without ``text`` and even ``{"type": "bogus"}``. Here a ``discriminator`` keyword
dispatches to the mapped subtype, and subtypes are rewritten to ``allOf`` a
discriminator-free copy of their base (``<Base>__base``) plus a constraint pinning
the discriminator value, so dispatch cannot recurse forever.
"""
from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

import yaml
from jsonschema import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

_BASE_SUFFIX = "__base"


def _load_yaml(path: Path) -> dict[str, Any]:
    """Load YAML keeping timestamps as strings (examples hold ISO dates; JSON has no datetime)."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def _rewrite_discriminators(doc: dict[str, Any]) -> dict[str, Any]:
    """Make base-schema discriminators safe to dispatch (see module docstring)."""
    doc = copy.deepcopy(doc)
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    prefix = "#/components/schemas/"
    for name, base in list(schemas.items()):
        disc = base.get("discriminator")
        if not disc or any(k in base for k in ("oneOf", "anyOf", "allOf")):
            continue
        schemas[name + _BASE_SUFFIX] = {k: v for k, v in base.items() if k != "discriminator"}
        values_by_target: dict[str, list[str]] = {}
        for value, ref in disc.get("mapping", {}).items():
            values_by_target.setdefault(ref.removeprefix(prefix), []).append(value)
        for target, values in values_by_target.items():
            sub = schemas.get(target)
            if sub is None:
                continue
            parts = sub.get("allOf", [])
            for i, part in enumerate(parts):
                if part.get("$ref") == prefix + name:
                    parts[i] = {"$ref": prefix + name + _BASE_SUFFIX}
            parts.append({"properties": {disc["propertyName"]: {"enum": values}}})
            sub["allOf"] = parts
    return doc


def _discriminator(validator: Any, disc: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """Dispatch a base schema to the subtype its discriminator value maps to (strict: mapped values only)."""
    if any(k in schema for k in ("oneOf", "anyOf", "allOf")) or not isinstance(instance, dict):
        return  # handled by openapi-schema-validator's combinators / by `type`
    prop = disc["propertyName"]
    mapping: Mapping[str, str] = disc.get("mapping", {})
    if prop not in instance:
        if prop not in schema.get("required", []):  # `required` already reports it otherwise
            yield ValidationError(f"{prop!r} is a required property", path=[prop])
        return
    ref = mapping.get(instance[prop]) if isinstance(instance[prop], str) else None
    if ref is None:
        yield ValidationError(
            f"{instance[prop]!r} is not a supported {prop}; expected one of {sorted(mapping)}", path=[prop]
        )
        return
    yield from validator.descend(instance, {"$ref": ref})


def _required(validator: Any, required: list[str], instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """Like OAS ``required`` but points the error at the missing property (as LINE's details do).

    Drops the readOnly/writeOnly exemptions of the OAS keyword; LINE's specs use neither.
    """
    if not isinstance(instance, dict):
        return
    for prop in required:
        if prop not in instance:
            yield ValidationError(f"{prop!r} is a required property", path=[prop])


def _make_format_checker() -> Any:
    """OAS 3.0 formats plus the two LINE relies on (``uuid`` retry keys, ``uri`` media URLs)."""
    checker = copy.deepcopy(oas30_format_checker)

    @checker.checks("uuid", raises=ValueError)
    def _is_uuid(value: object) -> bool:
        return not isinstance(value, str) or (len(value) == 36 and bool(uuid.UUID(value)))

    @checker.checks("uri")
    def _is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc)

    return checker


Validator = extend(OAS30Validator, {"discriminator": _discriminator, "required": _required})
FORMATS = _make_format_checker()


def pointer(*parts: str) -> str:
    """JSON-pointer fragment into the spec; validating by pointer keeps every local ``$ref`` resolvable."""
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def prop_path(path: Iterable[str | int]) -> str:
    """``messages[0].text`` style location, the form LINE uses in error ``details[].property``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(message: str, limit: int = 240) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


@dataclass
class LoadedSpec:
    """One loaded spec: rewritten document, ``$ref`` registry and compiled path templates."""

    name: str
    doc: dict[str, Any]
    uri: str
    registry: Any
    paths: list[tuple[int, re.Pattern[str], str]] = field(default_factory=list)

    def errors(self, where: str, instance: Any) -> list[tuple[str, str]]:
        """(message, property) for every failure of ``instance`` against the schema at JSON pointer ``where``.

        Duplicates are dropped: a discriminated value is checked against the base and
        again (via ``<Base>__base``) inside the subtype.
        """
        validator = Validator({"$ref": self.uri + where}, registry=self.registry, format_checker=FORMATS)
        seen: dict[tuple[str, str], None] = {}
        for err in validator.iter_errors(instance):
            seen.setdefault((_short(err.message), prop_path(err.absolute_path)), None)
        return list(seen)

    def inline_errors(self, schema: Mapping[str, Any], instance: Any) -> list[str]:
        """Messages for an inline (parameter) schema whose local ``$ref``s point into this spec."""
        validator = Validator(_absolute_refs(schema, self.uri), registry=self.registry, format_checker=FORMATS)
        return [_short(e.message) for e in validator.iter_errors(instance)]


def _build_spec(name: str, path: Path) -> LoadedSpec:
    doc = _rewrite_discriminators(_load_yaml(path))
    uri = f"urn:line-contracts:{name}"
    registry = Registry().with_resource(uri, DRAFT4.create_resource(doc))
    compiled = []
    for template in doc.get("paths", {}):
        rx = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        compiled.append((template.count("{"), re.compile(f"^{rx}$"), template))
    compiled.sort(key=lambda t: t[0])  # literal paths win over templated ones
    return LoadedSpec(name, doc, uri, registry, compiled)


@lru_cache(maxsize=8)
def load(file_name: str, directory: str) -> LoadedSpec:
    """Parse and prepare one spec file; cached per (file, folder) so each is read once."""
    path = Path(directory) / file_name
    if not path.is_file():
        raise FileNotFoundError(f"LINE contract {path} not found; set WPA_LINE_CONTRACTS to the folder holding it")
    return _build_spec(file_name.removesuffix(".yml"), path)


def _absolute_refs(node: Any, uri: str) -> Any:
    """Point document-local ``$ref``s of an inline schema at the spec resource so they resolve."""
    if isinstance(node, dict):
        return {k: (uri + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _absolute_refs(v, uri)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_refs(v, uri) for v in node]
    return node
