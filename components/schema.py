"""One schema per component: Args dataclass fields carry their config key, default, validator and doc line.

Declare a field with :func:`knob`; call :func:`validate` from ``__post_init__``. Then, from that one declaration:

* Python users get the check when they build the Args (``ScheduledComputationArgs(schedule="cron(99 ...)")``
  raises :class:`~handlers.runtime.validators.Invalid` naming the field: ``schedule: ...``);
* :func:`from_config` reads stack config generically (camelCase key <-> field name, nested dataclasses, lists,
  mappings; unknown keys rejected with the closest match) and reports :class:`ConfigError` with the full key
  path (``sciflow:computations[0].schedule: ...``), running the very same validators, once;
* :func:`markdown_table` renders the README's component tables (checked by ``tests/components/test_docs.py``;
  rewrite them with ``python -m components.schema README.md``).

Example
-------
>>> from dataclasses import dataclass
>>> from handlers.runtime import validators as v
>>> @dataclass
... class DemoArgs:
...     timeout_s: int = knob(30, check=v.timeout_s, doc="seconds")
...     def __post_init__(self) -> None:
...         validate(self)
>>> from_config(DemoArgs, {"timeoutS": "60"}, root="sciflow:demo.").timeout_s
60
>>> from_config(DemoArgs, {"timeoutS": 901}, root="sciflow:demo.")
Traceback (most recent call last):
...
components.schema.ConfigError: sciflow:demo.timeoutS: 901 is outside 1..900
>>> DemoArgs(timeout_s=0)
Traceback (most recent call last):
...
handlers.runtime.validators.Invalid: timeout_s: 0 is outside 1..900
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from handlers.runtime.validators import Check, Invalid, closest, render_path, show

T = TypeVar("T")
_META = "sciflow"
_MISSING: Any = dataclasses.MISSING


class ConfigError(Invalid):
    """A stack configuration value is invalid; ``path`` is the full key path (``sciflow:layers[0].runtime``).

    Example
    -------
    >>> str(ConfigError("sciflow:budgetUsdMonth", "-1 must be at least 0"))
    'sciflow:budgetUsdMonth: -1 must be at least 0'
    """

    def __init__(self, path: str, message: str) -> None:
        self.config_path = path
        super().__init__(message)

    @property
    def path(self) -> str:
        return self.config_path

    def __str__(self) -> str:
        return f"{self.config_path}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.config_path, self.message)


@dataclasses.dataclass(frozen=True)
class Knob:
    """What :func:`knob` stores in a field's metadata."""

    doc: str
    check: Check | None = None
    key: str | None = ""
    """Config key; ``""`` = derived from the field name (camelCase), ``None`` = not settable from config."""
    inline: bool = False
    """A nested dataclass whose keys sit in the parent's mapping (a config entry's ``name`` beside its Args)."""


def knob(default: Any = _MISSING, *, doc: str, check: Check | None = None, key: str | None = "",
         inline: bool = False) -> Any:
    """A dataclass field with its doc line, validator and config key (derived from the name unless given;
    ``key=None`` keeps it out of stack config). Mutable defaults (``{}``, ``[]``) and dataclass instances
    become default factories.

    Example
    -------
    >>> camel("max_event_age_s")
    'maxEventAgeS'
    """
    meta = {_META: Knob(doc=doc, check=check, key=key, inline=inline)}
    if isinstance(default, dict | list | set) or dataclasses.is_dataclass(default):
        factory = functools.partial(_copy, default)
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value)
    return type(value)(value)


def camel(field_name: str) -> str:
    """``memory_mb`` -> ``memoryMb``."""
    head, *rest = field_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def knob_of(field: dataclasses.Field[Any]) -> Knob:
    meta = field.metadata.get(_META)
    if meta is None:
        raise TypeError(f"field {field.name!r} is not declared with components.schema.knob()")
    return typing.cast(Knob, meta)


def config_key(field: dataclasses.Field[Any]) -> str | None:
    """The config key of a field, or ``None`` when config cannot set it."""
    meta = knob_of(field)
    if meta.key is None:
        return None
    return meta.key or camel(field.name)


def validate(obj: Any) -> None:
    """Run every field's validator on ``obj`` (call it from ``__post_init__``); an error names the field.
    A nested Args field (``retry``) must hold an instance of its default's class (it validated itself)."""
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        nested = _nested_class(field)
        if nested is not None and not isinstance(value, nested):
            raise Invalid(f"{show(value)} is not an instance of {nested.__name__}", (field.name,))
        check = knob_of(field).check
        if check is None:
            continue
        try:
            check(value)
        except Invalid as err:
            raise err.at(field.name) from None


@functools.cache
def _nested_class(field: dataclasses.Field[Any]) -> type | None:
    if field.default_factory is _MISSING:
        return None
    kind = type(typing.cast(Callable[[], Any], field.default_factory)())
    return kind if dataclasses.is_dataclass(kind) else None


# --------------------------------------------------------------------------- reading stack config
def from_config(cls: type[T], raw: Any, *, root: str = "", parts: Sequence[str | int] = (), **python: Any) -> T:
    """Build ``cls`` from a config mapping at ``root``+``parts``; ``python`` gives fields config does not set.

    Values may be the JSON-decoded structures or the strings ``pulumi config set`` stores (``"60"``, ``"true"``).
    A ``null`` value means "use the default".
    """
    where = tuple(parts)
    if not isinstance(raw, Mapping):
        raise ConfigError(render_path(where, root), f"expected a mapping, got {show(raw)}")
    known = config_keys(cls)
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(render_path((*where, unknown[0]), root),
                          f"unknown key{closest(unknown[0], known)} (known: {', '.join(known)})")
    kwargs: dict[str, Any] = dict(python)
    for field in dataclasses.fields(typing.cast(Any, cls)):
        meta = knob_of(field)
        if meta.inline:
            inner = _resolve_type(cls, field)
            keys = config_keys(inner)
            kwargs[field.name] = from_config(inner, {k: v for k, v in raw.items() if k in keys}, root=root,
                                             parts=where)
            continue
        key = config_key(field)
        if key is None or field.name in kwargs:
            continue
        if raw.get(key) is None:
            if field.default is _MISSING and field.default_factory is _MISSING:
                raise ConfigError(render_path((*where, key), root), "is required")
            continue
        kwargs[field.name] = _coerce(_resolve_type(cls, field), raw[key], root, (*where, key))
    try:
        return cls(**kwargs)
    except Invalid as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(render_path((*where, *_config_parts(cls, err.parts)), root), err.message) from None


def config_keys(cls: type) -> list[str]:
    """Every config key ``cls`` accepts, in declaration order (inline fields contribute theirs)."""
    keys: list[str] = []
    for field in dataclasses.fields(cls):
        if knob_of(field).inline:
            keys += config_keys(_resolve_type(cls, field))
        elif (key := config_key(field)) is not None:
            keys.append(key)
    return keys


def _config_parts(cls: type, parts: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Field names in an Args error path -> config keys (``retry.max_attempts`` -> ``retry.maxAttempts``)."""
    if not parts or not isinstance(parts[0], str):
        return parts
    fields = {f.name: f for f in dataclasses.fields(cls)}
    field = fields.get(parts[0])
    if field is None:
        return parts
    key = config_key(field) or field.name
    nested = _resolve_type(cls, field) if key else None
    rest = parts[1:]
    if isinstance(nested, type) and dataclasses.is_dataclass(nested):
        rest = _config_parts(nested, rest)
    return (key, *rest)


def _resolve_type(cls: Any, field: dataclasses.Field[Any]) -> Any:
    return _resolve(cls, field)


@functools.cache
def _resolve(cls: Any, field: dataclasses.Field[Any]) -> Any:
    hint = field.type
    if isinstance(hint, str):
        namespace = dict(vars(sys.modules[cls.__module__]))
        try:
            hint = eval(hint, namespace)  # a dataclass annotation of our own code
        except (NameError, AttributeError) as err:
            raise TypeError(f"{cls.__name__}.{field.name}: cannot resolve annotation {field.type!r}: {err}") from err
    return hint


def _plain(hint: Any) -> list[Any]:
    """The members of a union a config value can be (drops ``None``, ``Awaitable``, ``Output``)."""
    origin = typing.get_origin(hint)
    members = typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)
    out = []
    for member in members:
        base = typing.get_origin(member) or member
        if member is type(None):
            continue
        if base in (str, int, float, bool, list, tuple, dict) or (isinstance(base, type) and (
                dataclasses.is_dataclass(base) or issubclass(base, Sequence | Mapping))):
            if base.__module__.startswith("pulumi") or getattr(base, "__name__", "") == "Awaitable":
                continue
            out.append(member)
    return out


def _coerce(hint: Any, value: Any, root: str, where: tuple[str | int, ...]) -> Any:
    members = _plain(hint)
    if not members:  # Any, or a type config cannot spell: take the value as it is
        return value
    hint = members[0]
    base = typing.get_origin(hint) or hint
    path = functools.partial(render_path, where, root)
    if isinstance(base, type) and dataclasses.is_dataclass(base):
        return from_config(base, value, root=root, parts=where)
    if base is bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ConfigError(path(), f"{show(value)} is not true or false")
    if base is int:
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path(), f"{show(value)} is not an integer")
        return value
    if base is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ConfigError(path(), f"{show(value)} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path(), f"{show(value)} is not a number")
        return float(value)
    if base is str:
        if not isinstance(value, str):
            raise ConfigError(path(), f"{show(value)} is not a string")
        return value
    args = typing.get_args(hint)
    if issubclass(base, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(path(), f"expected a mapping, got {show(value)}")
        item = args[1] if len(args) == 2 else Any
        if str in _plain(item) and len(_plain(item)) == 1:
            return {str(k): _scalar_text(v, root, (*where, str(k))) for k, v in sorted(value.items())}
        return {str(k): _coerce(item, v, root, (*where, str(k))) for k, v in sorted(value.items())}
    if issubclass(base, Sequence):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ConfigError(path(), f"expected a list, got {show(value)}")
        item = args[0] if args else Any
        items = [_coerce(item, v, root, (*where, i)) for i, v in enumerate(value)]
        return tuple(items) if base is tuple else items
    return value


def _scalar_text(value: Any, root: str, where: tuple[str | int, ...]) -> str:
    """A mapping value that must be a string; scalars are written as YAML/JSON spells them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise ConfigError(render_path(where, root), f"{show(value)} is not a string")


# --------------------------------------------------------------------------- docs
def rows(cls: type, prefix: str = "", key_prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    """``(arg, config key, type, default, doc)`` per field; nested dataclasses add their fields below."""
    out = []
    for field in dataclasses.fields(cls):
        meta = knob_of(field)
        key = config_key(field)
        if field.default is not _MISSING:
            default = f"`{field.default!r}`"
        elif field.default_factory is not _MISSING:
            value = typing.cast(Callable[[], Any], field.default_factory)()
            kind: Any = type(value)
            plain = dataclasses.is_dataclass(value) and value == kind()
            default = f"`{type(value).__name__}()`" if plain else f"`{value!r}`"
        else:
            default = "required"
        type_text = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
        if meta.inline:
            out += rows(_resolve_type(cls, field), prefix, key_prefix)
            continue
        out.append((f"{prefix}{field.name}", f"{key_prefix}{key}" if key else "", type_text, default, meta.doc))
        nested = _resolve_type(cls, field) if key is not None else None
        if isinstance(nested, type) and dataclasses.is_dataclass(nested):
            out += rows(nested, f"{prefix}{field.name}.", f"{key_prefix}{key}.")
    return out


def markdown_table(cls: type, key_prefix: str = "") -> str:
    """The README table of an Args class: Python arg, stack config key (``—``: Python only), type, default, doc.

    Example
    -------
    >>> from components.functions import RetryArgs
    >>> print(markdown_table(RetryArgs).splitlines()[2])
    | `max_attempts` | `maxAttempts` | `int` | `3` | retries before the event goes to the DLQ (0..185) |
    """
    lines = ["| arg | config key | type | default | meaning |", "|---|---|---|---|---|"]
    for arg, key, type_text, default, doc in rows(cls, key_prefix=key_prefix):
        shown_key = f"`{key}`" if key else "—"
        lines.append(f"| `{arg}` | {shown_key} | `{_escape(type_text)}` | {_escape(default)} | {doc} |")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


BEGIN = "<!-- generated by python -m components.schema: {name} -->"
END = "<!-- end generated -->"


def documented() -> dict[str, tuple[type, str]]:
    """The classes whose tables the README carries, by name, with the prefix of their config keys."""
    from components.config import StackConfig
    from components.connections import InputArgs, OutputArgs
    from components.etl_batch import BatchArgs
    from components.etl_pipeline import EtlPipelineArgs
    from components.layer_bundle import LayerBundleArgs
    from components.scheduled_computation import ScheduledComputationArgs

    return {"LayerBundleArgs": (LayerBundleArgs, ""), "ScheduledComputationArgs": (ScheduledComputationArgs, ""),
            "InputArgs": (InputArgs, ""), "OutputArgs": (OutputArgs, ""), "EtlPipelineArgs": (EtlPipelineArgs, ""),
            "BatchArgs": (BatchArgs, ""), "StackConfig": (StackConfig, "sciflow:")}


def render_readme(text: str, classes: Mapping[str, tuple[type, str]] | None = None) -> str:
    """``text`` with every generated block replaced by the current table of its class."""
    classes = classes or documented()

    def block(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in classes:
            raise KeyError(f"README block for unknown class {name!r}")
        cls, key_prefix = classes[name]
        return f"{BEGIN.format(name=name)}\n{markdown_table(cls, key_prefix)}\n{END}"

    pattern = re.escape(BEGIN).replace(re.escape("{name}"), r"(?P<name>\w+)") + r"\n.*?" + re.escape(END)
    return re.sub(pattern, block, text, flags=re.S)


def main(argv: Sequence[str] | None = None, out: Callable[[str], Any] = print) -> int:
    """``python -m components.schema [README.md]``: print the tables, or rewrite the README's blocks."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        for name, (cls, key_prefix) in documented().items():
            out(f"### {name}\n\n{markdown_table(cls, key_prefix)}\n")
        return 0
    path = Path(args[0])
    path.write_text(render_readme(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
