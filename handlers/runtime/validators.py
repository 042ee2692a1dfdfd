"""Every value check of sciflow, once: schedules, time zones, names, S3 prefixes, ranges, Lambda facts.

A validator takes a value and returns it (unchanged) or raises :class:`Invalid` with a message that names the
bad value but not *where* it is: the caller adds the location (``sciflow:computations[0].schedule`` for stack
config, ``schedule`` for Args built in Python, ``SCIFLOW_TIMEZONE`` for a handler's environment). Validators
of containers locate the bad item themselves (``Invalid.parts``: list indexes, mapping keys).

The same functions check stack config, component Args (``components.schema`` runs them from field metadata)
and the handlers' settings, so this module is pure Python with no imports beyond the standard library: it
ships in the handlers zip and never imports pulumi.

Example
-------
>>> schedule("cron(0 16 * * ? *)")
'cron(0 16 * * ? *)'
>>> schedule("cron(99 16 * * ? *)")
Traceback (most recent call last):
...
handlers.runtime.validators.Invalid: 'cron(99 16 * * ? *)': minutes 99 is outside 0..59
>>> int_range(1, 900)(901)
Traceback (most recent call last):
...
handlers.runtime.validators.Invalid: 901 is outside 1..900
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

Check = Callable[[Any], Any]
"""A validator: returns its argument or raises :class:`Invalid`."""

LAMBDA_RUNTIMES = ("python3.11", "python3.12", "python3.13")
"""Python runtimes sciflow builds layers and functions for."""
LAMBDA_ARCHITECTURES = ("x86_64", "arm64")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
"""The retention periods CloudWatch Logs accepts (``PutRetentionPolicy``); "never expire" is not offered."""
LAMBDA_MAX_LAYERS = 5
HANDLERS_DIR = Path(__file__).resolve().parents[1]


class Invalid(ValueError):
    """A value failed a check. ``parts`` locates it below the checked value (list indexes, mapping keys,
    field names); ``message`` says what is wrong with it.

    Example
    -------
    >>> str(Invalid("5 is outside 0..2", ("retry", "max_attempts")))
    'retry.max_attempts: 5 is outside 0..2'
    >>> str(Invalid("'x' is not an IANA time zone", ("layers", 2)))
    "layers[2]: 'x' is not an IANA time zone"
    """

    def __init__(self, message: str, parts: Sequence[str | int] = ()) -> None:
        self.message = message
        self.parts = tuple(parts)
        super().__init__(str(self))

    def at(self, *outer: str | int) -> Invalid:
        """The same error, located ``outer`` levels further up."""
        return type(self)(self.message, (*outer, *self.parts))

    @property
    def path(self) -> str:
        return render_path(self.parts)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.parts else self.message


def render_path(parts: Iterable[str | int], root: str = "") -> str:
    """``("layers", 2, "name")`` -> ``layers[2].name``; a ``root`` ending in ``:`` joins without a dot.

    Example
    -------
    >>> render_path(["computations", 0, "retry", "maxAttempts"], root="sciflow:")
    'sciflow:computations[0].retry.maxAttempts'
    """
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += part if not out or out.endswith((":", ".")) else f".{part}"
    return out


def show(value: Any) -> str:
    """A value as an error message shows it: strings quoted, other types named.

    Example
    -------
    >>> show("x"), show(1.5), show(None)
    ("'x'", '1.5 (float)', 'None')
    """
    if isinstance(value, str) or value is None:
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


def closest(word: str, options: Iterable[str]) -> str:
    """``"; did you mean 'memoryMb'?"`` when an option is close to ``word``, else ``""``.

    Example
    -------
    >>> closest("memoryMB", ["memoryMb", "timeoutS"])
    "; did you mean 'memoryMb'?"
    """
    by_folded = {option.casefold(): option for option in options}
    match = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"; did you mean {by_folded[match[0]]!r}?" if match else ""


# --------------------------------------------------------------------------- generic building blocks
def text(value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{show(value)} is not a non-empty string")
    return value


def integer(value: Any) -> int:
    """An ``int`` (``bool`` is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{show(value)} is not an integer")
    return value


def int_range(lo: int, hi: int) -> Check:
    """An integer in ``lo..hi``."""
    def check(value: Any) -> int:
        if not lo <= integer(value) <= hi:
            raise Invalid(f"{value} is outside {lo}..{hi}")
        return value

    check.__doc__ = f"an integer in {lo}..{hi}"
    return check


def optional(inner: Check) -> Check:
    """``None`` or a value ``inner`` accepts."""
    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


def number_at_least(lo: float) -> Check:
    """A real number (int or float, not bool) of at least ``lo``."""
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise Invalid(f"{show(value)} is not a number")
        if value < lo:
            raise Invalid(f"{value} must be at least {lo}")
        return value

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{show(value)} is not true or false")
    return value


def one_of(*options: Any) -> Check:
    """One of ``options`` (with a did-you-mean hint for near misses).

    Example
    -------
    >>> one_of("STANDARD", "EXPRESS")("standard")
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 'standard' is not one of STANDARD, EXPRESS; did you mean 'STANDARD'?
    """
    def check(value: Any) -> Any:
        if value not in options:
            hint = closest(value, [str(o) for o in options]) if isinstance(value, str) else ""
            raise Invalid(f"{show(value)} is not one of {', '.join(str(o) for o in options)}{hint}")
        return value

    return check


def each(item: Check, *, max_items: int | None = None, min_items: int = 0, unique: bool = False) -> Check:
    """A list/tuple whose items ``item`` accepts; an error names the item's index."""
    def check(value: Any) -> Any:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise Invalid(f"expected a list, got {show(value)}")
        if len(value) < min_items:
            raise Invalid(f"must list at least {min_items} item(s)")
        if max_items is not None and len(value) > max_items:
            raise Invalid(f"{len(value)} items, at most {max_items} allowed")
        seen: set[Any] = set()
        for index, entry in enumerate(value):
            try:
                item(entry)
            except Invalid as err:
                raise err.at(index) from None
            if unique and isinstance(entry, str):
                if entry in seen:
                    raise Invalid(f"{entry!r} is listed twice", (index,))
                seen.add(entry)
        return value

    return check


def mapping(key: Check, value: Check) -> Check:
    """A mapping whose keys ``key`` and values ``value`` accept; an error names the key.

    Example
    -------
    >>> mapping(one_of("ingest"), int_range(1, 9))({"ingest": 10})
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: ingest: 10 is outside 1..9
    """
    def check(raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            raise Invalid(f"expected a mapping, got {show(raw)}")
        for name, entry in raw.items():
            try:
                key(name)
            except Invalid as err:
                raise Invalid(f"key {err.message}", (str(name),)) from None
            try:
                value(entry)
            except Invalid as err:
                raise err.at(str(name)) from None
        return raw

    return check


def input_text(value: Any) -> Any:
    """A string, or a value only known at deploy time (a Pulumi ``Output``); numbers and ``None`` are not.

    Example
    -------
    >>> input_text(3)
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 3 (int) is not a string
    """
    if value is None or isinstance(value, bool | int | float | bytes | Mapping | list | tuple):
        raise Invalid(f"{show(value)} is not a string")
    return value


def when_str(inner: Check) -> Check:
    """Apply ``inner`` to strings only: other values (a Pulumi ``Output`` known at deploy time) pass."""
    def check(value: Any) -> Any:
        return inner(value) if isinstance(value, str) else value

    return check


# --------------------------------------------------------------------------- names and paths
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$")


def name(value: Any) -> str:
    """A component or layer name: lowercase letters, digits and ``-``, 2-32 characters, starting with a letter.

    Example
    -------
    >>> name("daily-stats")
    'daily-stats'
    """
    if not _NAME.match(text(value)):
        raise Invalid(f"{value!r} is not a valid name (lowercase letters, digits and '-', 2-32 chars, "
                      "starting with a letter)")
    return value


def handler_path(value: Any) -> str:
    """A dotted path inside ``handlers/``, e.g. ``computations.daily_stats.handler``."""
    if not _DOTTED.match(text(value)):
        raise Invalid(f"{value!r} is not a dotted path inside handlers/ (e.g. computations.daily_stats.handler)")
    return value


def module_name(value: Any) -> str:
    """An importable module name (``matplotlib.pyplot``)."""
    if not _MODULE.match(text(value)):
        raise Invalid(f"{value!r} is not a module name")
    return value


def dataset(value: Any, root: Path = HANDLERS_DIR) -> str:
    """A module in ``handlers/etl/datasets/``. The file must exist; it is not imported (that would load pandas
    into the Pulumi program for a check the dataset's own tests make).

    Example
    -------
    >>> dataset("sensor_readings")
    'sensor_readings'
    """
    folder = root / "etl" / "datasets"
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", text(value)) or not (folder / f"{value}.py").is_file():
        known = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
        raise Invalid(f"{value!r}: no module handlers/etl/datasets/{value}.py (known: {', '.join(known)})"
                      f"{closest(value, known)}")
    return value


def s3_prefix(value: Any) -> str:
    """A relative S3 key prefix: ``""`` or ending in ``/``, no leading ``/``, no ``..``, no ``*``.

    Example
    -------
    >>> s3_prefix("incoming")
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 'incoming' is not a relative S3 prefix ending with '/'
    """
    if not isinstance(value, str):
        raise Invalid(f"{show(value)} is not a string")
    if value.startswith("/") or ".." in value.split("/") or "*" in value or (value and not value.endswith("/")):
        raise Invalid(f"{value!r} is not a relative S3 prefix ending with '/'")
    return value


def key_suffix(value: Any) -> str:
    """The end of an S3 key (``.csv``, ``.json``, ``.jsonl``; ``""`` = any), without ``*`` or ``/``."""
    if not isinstance(value, str):
        raise Invalid(f"{show(value)} is not a string")
    if "*" in value or "/" in value or len(value) > 64:
        raise Invalid(f"{value!r} is not a key suffix (no '*' or '/', at most 64 characters)")
    return value


def arn(value: Any) -> str:
    """An ARN (checked when it is a string; an ``Output`` is checked by AWS).

    Example
    -------
    >>> arn("arn:aws:sns:ap-south-1:123456789012:oncall")
    'arn:aws:sns:ap-south-1:123456789012:oncall'
    """
    if not _ARN.match(text(value)):
        raise Invalid(f"{value!r} is not an ARN (arn:aws:<service>:<region>:<account>:<resource>)")
    return value


def requirement(value: Any) -> str:
    """A PEP 508 requirement string (``numpy==2.2.6``)."""
    text(value)
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # inside Lambda: nothing there builds layers
        return value
    try:
        Requirement(value)
    except InvalidRequirement as err:
        raise Invalid(f"{value!r} is not a PEP 508 requirement ({err})") from None
    return value


def env_var_name(value: Any) -> str:
    """An environment variable name Lambda accepts and does not reserve (``AWS_*`` and the runtime's own).

    Example
    -------
    >>> env_var_name("AWS_REGION")
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 'AWS_REGION' is reserved by Lambda
    """
    if not _ENV_NAME.match(text(value)):
        raise Invalid(f"{value!r} is not an environment variable name (letters, digits, '_')")
    if value.startswith("AWS_") or value in ("_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT",
                                             "LAMBDA_RUNTIME_DIR", "TZ"):
        raise Invalid(f"{value!r} is reserved by Lambda")
    return value


def not_in(reserved: Iterable[str], why: str) -> Check:
    """A value other than the ``reserved`` ones (``why`` says who owns them)."""
    taken = frozenset(reserved)

    def check(value: Any) -> Any:
        if value in taken:
            raise Invalid(f"{value!r} {why}")
        return value

    return check


def all_of(*checks: Check) -> Check:
    """Every check in turn."""
    def check(value: Any) -> Any:
        for inner in checks:
            inner(value)
        return value

    return check


# --------------------------------------------------------------------------- AWS facts
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def aws_region(value: Any) -> str:
    """An AWS region code (``ap-south-1``, ``us-gov-west-1``, ``cn-north-1``)."""
    if not _REGION.match(text(value)):
        raise Invalid(f"{value!r} is not an AWS region code (e.g. ap-south-1)")
    return value


def timezone(value: Any) -> str:
    """An IANA time zone known to this Python (``Asia/Kolkata``; ``UTC``).

    Example
    -------
    >>> timezone("Asia/Kolkatta")
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 'Asia/Kolkatta' is not an IANA time zone; did you mean 'Asia/Kolkata'?
    """
    text(value)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{value!r} is not an IANA time zone{closest(value, zoneinfo.available_timezones())}") \
            from None
    return value


def log_retention_days(value: Any) -> int:
    """A CloudWatch Logs retention period (see :data:`LOG_RETENTION_DAYS`)."""
    if integer(value) not in LOG_RETENTION_DAYS:
        raise Invalid(f"{value} is not a CloudWatch Logs retention period "
                      f"({', '.join(map(str, LOG_RETENTION_DAYS))})")
    return value


runtime = one_of(*LAMBDA_RUNTIMES)
runtime.__doc__ = f"a Lambda Python runtime ({', '.join(LAMBDA_RUNTIMES)})"
architecture = one_of(*LAMBDA_ARCHITECTURES)
architecture.__doc__ = "a Lambda architecture (x86_64 or arm64)"
log_level = one_of(*LOG_LEVELS)
memory_mb = int_range(128, 10_240)
timeout_s = int_range(1, 900)
layers = each(when_str(text), max_items=LAMBDA_MAX_LAYERS)


# --------------------------------------------------------------------------- schedule expressions
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (field name, low, high, names for low.., extra wildcards allowed besides , - * /)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2199, (), ""),
)
_RATE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_AT = re.compile(r"^at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


def schedule(value: Any) -> str:
    """An EventBridge Scheduler expression: ``cron(min hour dom month dow year)`` with AWS's field ranges and
    wildcards (exactly one of day-of-month and day-of-week is ``?``), ``rate(N unit)`` or
    ``at(yyyy-mm-ddThh:mm:ss)``.

    Example
    -------
    >>> schedule("cron(0/15 8-17 ? * MON-FRI *)")
    'cron(0/15 8-17 ? * MON-FRI *)'
    >>> schedule("rate(1 hours)")
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: 'rate(1 hours)': use rate(1 hour) or rate(N hours) with N > 1
    """
    expression = text(value)
    if expression.startswith("cron(") and expression.endswith(")"):
        try:
            _cron(expression[5:-1].split())
        except Invalid as err:
            raise Invalid(f"{expression!r}: {err.message}") from None
        return expression
    rate = _RATE.match(expression)
    if rate:
        n, unit = int(rate.group("n")), rate.group("unit").rstrip("s")
        if n < 1 or (n == 1) != (not rate.group("unit").endswith("s")):
            raise Invalid(f"{expression!r}: use rate(1 {unit}) or rate(N {unit}s) with N > 1")
        return expression
    at = _AT.match(expression)
    if at:
        try:
            datetime.fromisoformat(at.group("when"))
        except ValueError:
            raise Invalid(f"{expression!r}: {at.group('when')} is not a date and time") from None
        return expression
    raise Invalid(f"{expression!r} is not a schedule expression: use cron(...), rate(N unit) or at(...)")


def _cron(fields: list[str]) -> None:
    if len(fields) != 6:
        raise Invalid(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise Invalid("exactly one of day-of-month and day-of-week must be '?'")
    for value, (label, lo, hi, names, extra) in zip(fields, _CRON_FIELDS, strict=True):
        _cron_field(value, label, lo, hi, names, extra)


def _cron_field(value: str, label: str, lo: int, hi: int, names: tuple[str, ...], extra: str) -> None:
    if value == "?" and "?" in extra:
        return
    if "#" in value:  # day-of-week only: exactly one "<day>#<1..5>"
        day, _, nth = value.partition("#")
        _cron_value(day, label, lo, hi, names)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise Invalid(f"{label} {value!r}: '#' needs a week 1..5 (e.g. 3#2)")
        return
    for item in value.split(","):
        if not item:
            raise Invalid(f"{label} {value!r} has an empty list item")
        if "L" in extra and (item == "L" or (label == "day-of-week" and item.endswith("L") and len(item) > 1)):
            if item != "L":
                _cron_value(item[:-1], label, lo, hi, names)
            continue
        if "W" in extra and item.endswith("W") and len(item) > 1:
            if item != "LW":
                _cron_value(item[:-1], label, lo, hi, names)
            continue
        base, slash, step = item.partition("/")
        if slash:
            if label == "day-of-week":
                raise Invalid(f"{label} {value!r}: '/' is not allowed in day-of-week")
            if not step.isdigit() or not 1 <= int(step) <= hi:
                raise Invalid(f"{label} {value!r}: increment {step!r} is not 1..{hi}")
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        first = _cron_value(start, label, lo, hi, names)
        if dash:
            last = _cron_value(end, label, lo, hi, names)
            if label not in ("month", "day-of-week") and last < first:
                raise Invalid(f"{label} range {base!r} runs backwards")


def _cron_value(token: str, label: str, lo: int, hi: int, names: tuple[str, ...]) -> int:
    if token.upper() in names:
        return names.index(token.upper()) + lo
    if not token.isdigit():
        allowed = f"{lo}..{hi}" + (f" or {names[0]}-{names[-1]}" if names else "")
        raise Invalid(f"{label} {token!r} is not a value ({allowed})")
    if not lo <= int(token) <= hi:
        raise Invalid(f"{label} {int(token)} is outside {lo}..{hi}")
    return int(token)
