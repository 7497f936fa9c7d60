"""The job contract: what a job's input must look like before the worker touches it.

The rules are not written here. ``libs/common`` declares them once, as the TypeScript classes the
API and the gpu-node validate with, and generates ``job-contract.schema.json`` from them; this
module validates against that very file, so the three components refuse the same inputs and name
the same fields. ``JOB_CONTRACT_SCHEMA`` points at another copy of it (in an image built without
the TypeScript tree, say).

Field paths read like ``images[0].duracao`` or ``style.font.size``; only the outermost offending
field of a branch is reported (an ``images`` that is not an array hides its items), as on the
TypeScript side. Messages name the field and never echo its value, which may be a signed URL.
"""

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, ValidationError

SCHEMA_ENV = "JOB_CONTRACT_SCHEMA"
_REPO_SCHEMA = Path(__file__).resolve().parents[2] / "libs/common/contract/job-contract.schema.json"

PathSegment = str | int

# Mirrors PATTERN_RULE_KEYWORD in libs/common/src/contract/fields.ts.
PATTERN_RULE_KEYWORD = "x-rule"


class ContractError(ValueError):
    """A job the contract refuses: ``field`` is the first offending field, ``errors`` all."""

    def __init__(
        self, field: str, message: str, errors: Sequence[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors: tuple[tuple[str, str], ...] = tuple(errors or [(field, message)])


def schema_path() -> Path:
    """The schema file in use: ``JOB_CONTRACT_SCHEMA`` if set, else the one in this repository."""
    return Path(os.environ.get(SCHEMA_ENV) or _REPO_SCHEMA)


def validate_job(job: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Checks a worker input, ``{"operation": ..., **fields}``; returns the operation and fields.

    Raises ContractError for an unknown operation (field ``operation``) or any invalid field.
    """
    if not isinstance(job, Mapping):
        raise ContractError("", "the job input must be a JSON object")
    validators = _validators(schema_path())
    operation = job.get("operation")
    if not isinstance(operation, str) or operation not in validators:
        raise ContractError("operation", f"operation must be one of {', '.join(validators)}")
    fields = {key: value for key, value in job.items() if key != "operation"}
    located = [
        *_non_finite_numbers(fields, ()),
        *(
            (path, message)
            for error in validators[operation].iter_errors(fields)
            for path, message in _locate(error)
        ),
    ]
    if located:
        errors = _outermost(located)
        raise ContractError(errors[0][0], errors[0][1], errors)
    return operation, fields


def caption_presets() -> dict[str, dict[str, Any]]:
    """The caption style presets, declared in libs/common and written into the schema file."""
    return _schema(schema_path()).get("captionPresets", {})


@cache
def _schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validators(path: Path) -> dict[str, Draft7Validator]:
    schema = _schema(path)
    Draft7Validator.check_schema(schema)
    # Each operation's entry is a "#/definitions/..." reference; as a root schema of its own next
    # to the definitions, it resolves with no registry or base URI to set up.
    return {
        operation: Draft7Validator({**reference, "definitions": schema["definitions"]})
        for operation, reference in schema["operations"].items()
    }


def _non_finite_numbers(
    value: Any, path: tuple[PathSegment, ...]
) -> Iterator[tuple[tuple[PathSegment, ...], str]]:
    """NaN and infinities, which Python's json accepts and JSON Schema cannot refuse.

    NaN compares false with every bound, so ``"duracao": NaN`` would pass ``maximum``.
    """
    if isinstance(value, float) and not math.isfinite(value):
        yield path, "must be a finite number"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite_numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite_numbers(item, (*path, index))


def _locate(error: ValidationError) -> Iterator[tuple[tuple[PathSegment, ...], str]]:
    path = tuple(error.absolute_path)
    match error.validator:
        case "required":
            for name in error.validator_value:
                if name not in error.instance:
                    yield (*path, name), "is required"
        case "additionalProperties":
            known = error.schema.get("properties", {})
            for name in error.instance:
                if name not in known:
                    yield (*path, name), "is not an allowed property"
        case "anyOf":
            yield from _any_of(error, path)
        case _:
            yield path, _describe(error)


def _any_of(
    error: ValidationError, path: tuple[PathSegment, ...]
) -> Iterator[tuple[tuple[PathSegment, ...], str]]:
    """compose's ``captions``: one of several properties required (named at the first, as the
    TypeScript side does), and ``captions.auto``: true or an options object (an object's own
    mistakes are reported inside it). jsonschema's own message would echo the value."""
    branches = error.validator_value
    if all(set(branch) == {"required"} for branch in branches):
        names = [name for branch in branches for name in branch["required"]]
        yield (*path, names[0]), f"is required unless {' or '.join(names[1:])} is given"
        return
    if isinstance(error.instance, Mapping):
        inside = [sub for sub in error.context if "$ref" in branches[sub.relative_schema_path[0]]]
        if inside:
            for sub in inside:
                yield from _locate(sub)
            return
    kinds = [
        "an object" if "$ref" in branch else " or ".join(json.dumps(v) for v in branch["enum"])
        for branch in branches
    ]
    yield path, f"must be {' or '.join(kinds)}"


def _describe(error: ValidationError) -> str:
    bound = error.validator_value
    match error.validator:
        case "type":
            return f"must be of type {bound}"
        case "pattern":
            # The schema states the rule in words (as the TypeScript side words it) next to the
            # regex; a raw regex means nothing to the client reading the message.
            return error.schema.get(PATTERN_RULE_KEYWORD) or f"does not match the pattern {bound}"
        case "minLength":
            return f"must be at least {bound} characters long"
        case "maxLength":
            return f"must be at most {bound} characters long"
        case "minimum":
            return f"must not be less than {bound}"
        case "exclusiveMinimum":
            return f"must be greater than {bound}"
        case "maximum":
            return f"must not be greater than {bound}"
        case "enum":
            return f"must be one of {', '.join(json.dumps(each) for each in bound)}"
        case "minItems":
            return f"must contain at least {bound} items"
        case "maxItems":
            return f"must contain at most {bound} items"
        case _:
            return error.message


def _outermost(
    located: Sequence[tuple[tuple[PathSegment, ...], str]],
) -> list[tuple[str, str]]:
    paths = {path for path, _ in located}
    by_field: dict[str, list[str]] = {}
    for path, message in located:
        if any(path[:depth] in paths for depth in range(len(path))):
            continue
        field = _format_path(path)
        text = f"{field} {message}" if field else message
        messages = by_field.setdefault(field, [])
        # jsonschema reports "required" once per missing property, each listing them all.
        if text not in messages:
            messages.append(text)
    return [(field, "; ".join(messages)) for field, messages in by_field.items()]


def _format_path(path: Sequence[PathSegment]) -> str:
    """``images[0].duracao``: array indices in brackets, property names joined by dots."""
    field = ""
    for segment in path:
        if isinstance(segment, int):
            field += f"[{segment}]"
        else:
            field = f"{field}.{segment}" if field else segment
    return field
