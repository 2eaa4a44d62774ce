"""LINE's OpenAPI specs turned into fast request validators.

The YAML files are read once; every component schema becomes a JSON-schema definition and each operation's
request body, query, path and header parameters get a validator compiled by fastjsonschema.

OpenAPI discriminators (``Message`` → ``TextMessage`` via ``type``) have no JSON-schema equivalent, so each
discriminated base schema gets two definitions: ``<Base>__base`` (its own properties, referenced from the
subclasses' ``allOf``) and ``<Base>`` (the base plus a dispatch on the discriminator value to the subclass,
rejecting unknown values). A text message without ``text`` is thereby rejected, as LINE does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
import yaml

SPEC_FILES = ("messaging-api.yml", "insight.yml", "manage-audience.yml")
_DROPPED_KEYS = {
    "description",
    "example",
    "examples",
    "externalDocs",
    "discriminator",
    "nullable",
    "readOnly",
    "writeOnly",
    "deprecated",
    "xml",
    "summary",
}
_KEPT_FORMATS = {"uri"}
_REF_PREFIX = "#/components/schemas/"
# Discriminator values in the order a bot typically uses them.
_COMMON_FIRST = {
    value: rank
    for rank, value in enumerate(
        ("text", "box", "bubble", "flex", "button", "postback", "message", "uri", "image", "separator", "carousel")
    )
}


SHARED_SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "line-openapi"
BUNDLED_SPEC_DIR = Path(__file__).resolve().parent / "openapi"


def default_spec_dir() -> Path:
    """``<repo>/../shared/line-openapi`` when shared/ lies beside the repository, else the bundled copy."""
    return SHARED_SPEC_DIR if (SHARED_SPEC_DIR / "messaging-api.yml").is_file() else BUNDLED_SPEC_DIR


@dataclass(frozen=True)
class Violation:
    message: str
    property: str

    def as_detail(self) -> dict[str, str]:
        return {"message": self.message, "property": self.property}


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str
    body_validator: Any = None
    body_required: bool = False
    body_is_json: bool = False
    params: list[dict[str, Any]] = field(default_factory=list)
    param_validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    def check_body(self, body: Any) -> Violation | None:
        if self.body_validator is None:
            return None
        try:
            self.body_validator(body)
        except fastjsonschema.JsonSchemaValueException as exc:
            return _violation_from(exc)
        return None

    def check_params(self, *, query: Any, path: dict[str, str], headers: Any) -> Violation | None:
        sources = {"query": query, "path": path, "header": headers}
        for param in self.params:
            location, name = param["in"], param["name"]
            value = sources[location].get(name)
            if value is None:
                if param.get("required"):
                    return Violation("must be specified", name)
                continue
            validator = self.param_validators.get((location, name))
            if validator is None:
                continue
            try:
                validator(_coerce(value, param.get("schema", {})))
            except (fastjsonschema.JsonSchemaValueException, ValueError):
                return Violation(f"The value for the '{name}' {_LOCATION_WORDS[location]} is invalid", name)
        return None


_LOCATION_WORDS = {"query": "query parameter", "path": "path parameter", "header": "header"}


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value == "true"
    return value


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def _violation_from(exc: fastjsonschema.JsonSchemaValueException) -> Violation:
    prop = exc.name[len("data") :].lstrip(".") if exc.name.startswith("data") else exc.name
    definition = exc.definition or {}
    rule = exc.rule
    if rule == "required":
        present = exc.value if isinstance(exc.value, dict) else {}
        missing = next((name for name in definition.get("required", []) if name not in present), "")
        return Violation("must be specified", f"{prop}.{missing}" if prop else missing)
    if rule in ("minItems", "maxItems"):
        low, high = definition.get("minItems", 0), definition.get("maxItems")
        return Violation(f"Size must be between {low} and {high}" if high else f"Size must be at least {low}", prop)
    if rule in ("minLength", "maxLength"):
        low, high = definition.get("minLength", 0), definition.get("maxLength")
        return Violation(f"Length must be between {low} and {high}" if high else f"Length must be at least {low}", prop)
    if rule == "enum":
        return Violation(f"Must be one of the following values: {definition.get('enum')}", prop)
    if rule == "type":
        return Violation(
            f"The property, '{prop}', in the request body is invalid: must be {definition.get('type')}", prop
        )
    if rule in ("minimum", "maximum"):
        return Violation(f"Must be between {definition.get('minimum')} and {definition.get('maximum')}", prop)
    return Violation(f"The property, '{prop}', in the request body is invalid: {exc.message}", prop)


class SpecBook:
    """All operations of the LINE specs, indexed by (METHOD, path template)."""

    def __init__(self, spec_dir: Path | None = None) -> None:
        self.spec_dir = Path(spec_dir) if spec_dir else default_spec_dir()
        self.definitions: dict[str, Any] = {}
        self.operations: dict[tuple[str, str], Operation] = {}
        documents = {}
        for filename in SPEC_FILES:
            with (self.spec_dir / filename).open(encoding="utf-8") as handle:
                documents[filename] = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
        for filename, document in documents.items():
            self._add_definitions(_namespace(filename), document.get("components", {}).get("schemas", {}))
        self._compiled: dict[str, Any] = {}
        for filename, document in documents.items():
            self._add_operations(_namespace(filename), document.get("paths", {}))

    def operation(self, method: str, path: str) -> Operation:
        return self.operations[(method.upper(), path)]

    def _add_definitions(self, namespace: str, schemas: dict[str, Any]) -> None:
        bases_with_discriminator = {name for name, schema in schemas.items() if "discriminator" in schema}
        for name, schema in schemas.items():
            converted = _convert(schema, namespace, bases_with_discriminator)
            mapping = schema.get("discriminator", {}).get("mapping")
            if not mapping:
                self.definitions[f"{namespace}.{name}"] = converted
                continue
            prop = schema["discriminator"]["propertyName"]
            self.definitions[f"{namespace}.{name}__base"] = converted
            known = {value: ref for value, ref in mapping.items() if ref.removeprefix(_REF_PREFIX) in schemas}
            # An if/else chain, most used values first: fastjsonschema evaluates an "if" by raising on a miss,
            # so a chain that stops at the first match is several times cheaper than one "if" per value.
            ordered = sorted(known.items(), key=lambda item: _COMMON_FIRST.get(item[0], len(_COMMON_FIRST)))
            # Each step is its own definition, so the generated code stays shallow.
            for position, (value, ref) in enumerate(ordered):
                step: dict[str, Any] = {
                    "if": {"properties": {prop: {"enum": [value]}}, "required": [prop]},
                    "then": {"$ref": f"#/definitions/{namespace}.{ref.removeprefix(_REF_PREFIX)}"},
                }
                if position + 1 < len(ordered):
                    step["else"] = {"$ref": f"#/definitions/{namespace}.{name}__dispatch{position + 1}"}
                self.definitions[f"{namespace}.{name}__dispatch{position}"] = step
            self.definitions[f"{namespace}.{name}"] = {
                "allOf": [
                    {"$ref": f"#/definitions/{namespace}.{name}__base"},
                    {"properties": {prop: {"enum": sorted(known)}}},
                    {"$ref": f"#/definitions/{namespace}.{name}__dispatch0"},
                ]
            }

    def _add_operations(self, namespace: str, paths: dict[str, Any]) -> None:
        for path, item in paths.items():
            shared_params = item.get("parameters", [])
            for method, spec in item.items():
                if method not in ("get", "post", "put", "delete", "patch"):
                    continue
                op = Operation(operation_id=spec["operationId"], method=method.upper(), path=path)
                op.params = [*shared_params, *spec.get("parameters", [])]
                for param in op.params:
                    schema = _convert(param.get("schema", {}), namespace, set())
                    if schema.get("format") == "uuid" or param.get("schema", {}).get("format") == "uuid":
                        schema = {**schema, "pattern": _UUID.pattern}
                    op.param_validators[(param["in"], param["name"])] = self._compile(schema)
                body = spec.get("requestBody")
                if body:
                    op.body_required = bool(body.get("required"))
                    json_content = body.get("content", {}).get("application/json")
                    if json_content and "schema" in json_content:
                        op.body_is_json = True
                        op.body_validator = self._compile(_convert(json_content["schema"], namespace, set()))
                self.operations[(op.method, path)] = op

    def _compile(self, schema: dict[str, Any]) -> Any:
        """A pair of validators: a fast one for the common, valid case and a detailed one to explain a rejection."""
        key = repr(schema)
        if key not in self._compiled:
            document = {"$schema": "http://json-schema.org/draft-07/schema#", **schema}
            if "$ref" in key:
                document["definitions"] = self.definitions
            options = {"use_formats": True, "use_default": False}
            fast = _compile_with_direct_dispatch(document, options)
            detailed = fastjsonschema.compile(document, **options)
            self._compiled[key] = _Validator(fast, detailed)
        return self._compiled[key]


_DISPATCH_FUNCTION = re.compile(
    r"^def (?P<name>validate_\w+?__dispatch(?P<step>\d+))\(data, custom_formats=\{\}, name_prefix=None\):\n"
    r"(?P<body>(?:(?!^def ).*\n)*)",
    re.MULTILINE,
)
_DISPATCH_VALUE = re.compile(r"data__\w+ == '(?P<value>[^']*)'\)")
_DISPATCH_PROPERTY = re.compile(r'data\["(?P<prop>[^"]+)"\]')
_DISPATCH_TARGET = re.compile(r"else:\n\s+(?P<target>validate_\w+)\(data, ")


def _compile_with_direct_dispatch(document: dict[str, Any], options: dict[str, Any]) -> Any:
    """The fast validator, with each discriminator chain replaced by a dict lookup.

    fastjsonschema evaluates every "if" of the chain by raising an exception on a miss, which dominates the cost of
    a Flex message. The generated code is regular: each ``…__dispatchN`` function tests one value and calls the
    subclass validator in its ``else:`` branch. Those are read back into ``{value: validator}`` and the chain's
    first function is rewritten as a lookup. If the code does not look as expected, the chain is left as it is.
    """
    code = fastjsonschema.compile_to_code(document, detailed_exceptions=False, **options)
    chains: dict[str, dict[str, str]] = {}
    properties: dict[str, str] = {}
    unreadable: set[str] = set()
    for match in _DISPATCH_FUNCTION.finditer(code):
        base = match["name"][: -len(f"__dispatch{match['step']}")]
        value = _DISPATCH_VALUE.search(match["body"])
        prop = _DISPATCH_PROPERTY.search(match["body"])
        target = _DISPATCH_TARGET.search(match["body"])
        if value is None or prop is None or target is None or properties.setdefault(base, prop["prop"]) != prop["prop"]:
            unreadable.add(base)
            continue
        chains.setdefault(base, {})[value["value"]] = target["target"]
    lookups = []
    for base, mapping in chains.items():
        if base in unreadable:
            continue
        first = f"{base}__dispatch0"
        direct = (
            f"def {first}(data, custom_formats={{}}, name_prefix=None):\n"
            f"    if isinstance(data, dict):\n"
            f"        target = DIRECT_{first}.get(data.get({properties[base]!r}))\n"
            f"        if target is not None:\n"
            f"            target(data, custom_formats, (name_prefix or 'data') + '')\n"
            f"    return data\n\n"
        )
        code = _DISPATCH_FUNCTION.sub(lambda m, f=first, d=direct: d if m["name"] == f else m[0], code)
        entries = ", ".join(f"{value!r}: {target}" for value, target in mapping.items())
        lookups.append(f"DIRECT_{first} = {{{entries}}}")
    namespace: dict[str, Any] = {}
    exec(compile(code + "\n" + "\n".join(lookups) + "\n", "<line-openapi>", "exec"), namespace)  # noqa: S102 - code generated from the specs
    return namespace["validate"]


class _Validator:
    __slots__ = ("detailed", "fast")

    def __init__(self, fast: Any, detailed: Any) -> None:
        self.fast, self.detailed = fast, detailed

    def __call__(self, data: Any) -> None:
        try:
            self.fast(data)
        except fastjsonschema.JsonSchemaValueException:
            self.detailed(data)
            raise


def _namespace(filename: str) -> str:
    return filename.removesuffix(".yml")


def _convert(node: Any, namespace: str, discriminated: set[str], *, in_all_of: bool = False) -> Any:
    """OpenAPI 3.0 schema → draft-07 JSON schema, with refs renamed into the shared definitions."""
    if isinstance(node, list):
        return [_convert(item, namespace, discriminated, in_all_of=in_all_of) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or key.startswith("x-"):
            continue
        if key == "$ref":
            name = value.removeprefix(_REF_PREFIX)
            # A subclass's allOf points at the base's own properties, not at the dispatcher.
            suffix = "__base" if in_all_of and name in discriminated else ""
            out["$ref"] = f"#/definitions/{namespace}.{name}{suffix}"
        elif key == "properties":
            out[key] = {name: _convert(sub, namespace, discriminated) for name, sub in value.items()}
        elif key == "allOf":
            out[key] = [_convert(sub, namespace, discriminated, in_all_of=True) for sub in value]
        elif key == "format":
            if value in _KEPT_FORMATS:
                out[key] = value
        else:
            out[key] = _convert(value, namespace, discriminated)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out
