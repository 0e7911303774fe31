"""Reading the config YAML and reporting what is wrong with it, each issue at its YAML path.

:class:`ConfigError` is the only exception the config raises; its ``issues`` are every problem
found (pydantic reports all of a document's errors at once, and so do our own checks). An
issue reads like starlette's "Config 'X' has value 'Y'. Not a valid int.", with the YAML path
(``machines[1].source.signals.count.type``) and, from a file, the line.

The YAML reader follows YAML 1.2 for plain scalars, so ``NO``, ``on`` or ``off`` stay strings
(state maps like ``{ON: running}`` keep their keys) and ``14:00`` is not the base-60 number
840, and it rejects duplicated keys, which PyYAML silently collapses to the last one.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from edge.config_sources import Loc, Problems, show


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: ``path`` in the YAML ("" for the whole file), what is wrong, its line.
    ``parts`` is the path as keys and indexes (a key may itself contain dots)."""

    path: str
    message: str
    line: int | None = None
    parts: tuple[str | int, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def at(cls, parts: Sequence[str | int], message: str) -> ConfigIssue:
        return cls(format_path(parts), message, parts=tuple(parts))


def format_path(parts: Sequence[str | int]) -> str:
    """``("machines", 1, "source")`` -> ``machines[1].source``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            text += f"[{part!r}]"  # an odd key (space, newline, empty): visible, one line
        else:
            text += f".{part}" if text else part
    return text


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


class ConfigError(Exception):
    """The config is unusable; ``issues`` lists every problem found, ``source`` the file."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per issue: ``path: message (line N)``."""
        out = []
        for issue in self.issues:
            if not issue.path:
                where = self.source if issue.line is None else f"{self.source}:{issue.line}"
                out.append(f"{where}: {issue.message}")
            else:
                at = "" if issue.line is None else f" (line {issue.line})"
                out.append(f"{issue.path}: {issue.message}{at}")
        return out

    def with_lines(self, root: yaml.Node | None) -> ConfigError:
        """The same issues, each with the line of its path in the YAML node tree ``root``."""
        issues = [replace(i, line=_line(root, i.parts)) if i.parts else i for i in self.issues]
        return ConfigError(self.source, sorted(issues, key=lambda i: i.line or 0))


# -- reading --------------------------------------------------------------------------------


class _Yaml12Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r} (first at line "
                        f"{seen[key_node.value]})",
                        key_node.start_mark,
                    )
                seen[key_node.value] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 16) if text.startswith("0x") else int(text, 10)


_RESOLVED_BY_US = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _RESOLVED_BY_US]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The data in the YAML file and its node tree (for line numbers); ConfigError if unreadable."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, (ConfigIssue("", "file not found"),)) from None
    except IsADirectoryError:
        raise ConfigError(source, (ConfigIssue("", "is a directory, not a file"),)) from None
    except UnicodeDecodeError as exc:
        issue = ConfigIssue("", f"is not UTF-8 text (byte {exc.start})")
        raise ConfigError(source, (issue,)) from None
    except OSError as exc:
        raise ConfigError(source, (ConfigIssue("", f"cannot be read: {exc.strerror}"),)) from None
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        return (None if node is None else loader.construct_document(node)), node
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(source, (_yaml_issue(exc),)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, (ConfigIssue("", f"YAML error: {exc}"),)) from None
    finally:
        loader.dispose()


def _yaml_issue(exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return ConfigIssue("", f"YAML syntax error: {problem}")
    return ConfigIssue(
        "", f"YAML syntax error: {problem} (column {mark.column + 1})", line=mark.line + 1
    )


# -- pydantic errors -> issues -------------------------------------------------------------

_SECRET_KEYS = ("token", "password", "secret", "api_key")


def issues_from(
    exc: ValidationError, data: Mapping[str, Any], root: type[BaseModel]
) -> list[ConfigIssue]:
    """Every error of ``exc`` as an issue at its YAML path, naming the bad value."""
    issues: list[ConfigIssue] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        for sub, message in _messages(error, loc, root):
            issues.append(ConfigIssue.at(_parts(loc + sub, data), message))
    return issues


def _messages(error: Any, loc: Loc, root: type[BaseModel]) -> Iterator[tuple[Loc, str]]:
    kind, value, ctx = error["type"], error["input"], error.get("ctx") or {}
    if isinstance(ctx.get("error"), Problems):
        yield from ctx["error"].items
    elif kind == "missing":
        yield (), "is required"
    elif kind == "extra_forbidden":
        yield (), _unknown_key(str(loc[-1]), value, _fields_at(root, loc[:-1]))
    elif kind == "union_tag_invalid":
        yield ("protocol",), f"has value {show(ctx['tag'])}. Must be one of {ctx['expected_tags']}"
    elif kind == "union_tag_not_found" and isinstance(value, Mapping):
        yield ("protocol",), "is required: opcua, modbus or mqtt"
    elif kind in ("value_error", "assertion_error"):
        yield (), str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        yield (), f"has value {show(value)}. {_tidy(str(error['msg']))}"


_WORDING = (  # pydantic's words -> the YAML author's
    (re.compile(r"^Input should be"), "Must be"),
    (re.compile(r"^Input is not a valid path.*"), "Must be a path"),
    (re.compile(r"a valid tuple"), "a list"),
    (
        re.compile(r"a valid dictionary( or (instance of \w+|object to extract fields from))?"),
        "a mapping",
    ),
)


def _tidy(msg: str) -> str:
    for pattern, words in _WORDING:
        msg = pattern.sub(words, msg)
    return msg.rstrip(".")


def _unknown_key(key: str, value: object, known: list[str] | None) -> str:
    if key == "pin":
        return (
            "is not read from the file: give the salted hash printed by "
            "`atelier-edge hash-pin` as pin_hash"
        )
    if key in _SECRET_KEYS:
        # The value is a secret: never echo it.
        return (
            f"is a secret, and secrets are not read from the file. Put it in an environment "
            f"variable and give that variable's name with {key}_env"
        )
    message = f"is not a known key (value {show(value)})"
    if not known:
        return message
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"{message}. Did you mean {close[0]!r}?"
    return f"{message}. Known keys: {', '.join(known)}"


def _parts(loc: Loc, data: Any) -> list[str | int]:
    """``loc`` as YAML keys and indexes, leaving out what pydantic adds (union tags, ``[key]``)."""
    parts: list[str | int] = []
    current: Any = data
    for elem in loc:
        tag = (
            isinstance(current, Mapping) and elem not in current and current.get("protocol") == elem
        )
        if tag or elem == "[key]":
            continue  # what pydantic adds to a location: the union's tag, a dict key marker
        if isinstance(elem, int) and isinstance(current, list | tuple):
            parts.append(elem)
            current = current[elem] if elem < len(current) else None
        else:
            parts.append(str(elem))
            current = current.get(elem) if isinstance(current, Mapping) else None
    return parts


def _fields_at(root: type[BaseModel], loc: Loc) -> list[str] | None:
    """The keys allowed at ``loc`` (a pydantic location), if a model lives there."""
    tp: Any = root
    for elem in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(elem))
            tp = None if field is None else field.annotation
        elif origin is tuple:
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (typing.Union, types.UnionType):
            tp = next((m for m in typing.get_args(tp) if _tag(m) == elem), None)
        else:
            return None
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return tp


def _tag(model: Any) -> object:
    fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
    if "protocol" in fields:
        args = typing.get_args(fields["protocol"].annotation)
        return args[0] if args else None
    return None


def _line(root: yaml.Node | None, parts: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of the path ``parts`` found in the YAML tree."""
    if root is None:
        return None
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in parts:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(part)]
            if not found:
                break
            key, node = found[0]
            line = key.start_mark.line + 1
        else:
            break
    return line
