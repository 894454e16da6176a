"""The one set of validators. Each raises ``ValueError("<name>=<value> is invalid: expected ...")``
naming the parameter, so a bad notebook parameter, config field or constructor argument fails at
once with what to pass instead, and returns the (normalised) value."""

from __future__ import annotations

import ast
import json
import math
import operator
from typing import Any, Iterable, NoReturn, Sequence


def fail(name: str, value: Any, expected: str) -> NoReturn:
    """Raise the validators' ``ValueError`` for ``name=value``."""
    raise ValueError(f"{name}={value!r} is invalid: expected {expected}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        fail(name, value, f"one of {choices}")
    return value


def check_int(name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None,
              optional: bool = False) -> int | None:
    """``value`` as an int (Python or NumPy integer, never bool) within ``[min_value, max_value]``;
    None passes when ``optional``."""
    if optional and value is None:
        return None
    bounds = (f" >= {min_value}" if min_value is not None else "") + (
        f"{' and' if min_value is not None else ''} <= {max_value}" if max_value is not None else "")
    expected = f"an integer{bounds}" + (" or None" if optional else "")
    try:
        v = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        v = None
    if v is None or (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
        fail(name, value, expected)
    return v


def check_float(name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None,
                positive: bool = False, optional: bool = False) -> float | None:
    """``value`` as a finite float within ``[min_value, max_value]`` (``> 0`` when ``positive``);
    None passes when ``optional``."""
    if optional and value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (min_value is None or value >= min_value) and (max_value is None or value <= max_value)
    ok = ok and (not positive or value > 0)
    if not ok:
        parts = (["> 0"] if positive else []) + ([f">= {min_value}"] if min_value is not None else []) + (
            [f"<= {max_value}"] if max_value is not None else [])
        fail(name, value, " ".join(["a finite number", " and ".join(parts)]).strip() + (" or None" if optional else ""))
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        fail(name, value, "True or False")
    return value


def check_kwargs(name: str, value: Any) -> dict:
    """``value`` if it is a dict of plain JSON values (keyword arguments stored in a config)."""
    if not isinstance(value, dict):
        fail(name, value, "a dict of keyword arguments")
    try:
        json.dumps(value)
    except TypeError as e:
        fail(name, value, f"plain JSON values (numbers, strings, lists, dicts): {e}")
    return value


def check_list(name: str, value: Any, *, item: str = "float", min_value: float | None = None,
               max_value: float | None = None, choices: Sequence[Any] | None = None, length: int | None = None,
               non_empty: bool = True, unique: bool = True) -> list:
    """A list of numbers (``item`` = "float" | "int") within bounds or among ``choices``, or of
    strings (``item="str"``, usually with ``choices``).

    A string holding a list literal (``"[1, 8]"``, what papermill's ``-p`` passes) is parsed first.
    """
    if item not in ("float", "int", "str"):
        raise ValueError(f"check_list: item={item!r} must be 'float', 'int' or 'str'")
    value = parse_list_string(value)
    if not isinstance(value, (list, tuple)):
        fail(name, value, f"a list of {item}s, e.g. [1, 2]")
    if non_empty and len(value) == 0:
        fail(name, value, "a non-empty list")
    if length is not None and len(value) != length:
        fail(name, value, f"a list of exactly {length} {item}s")
    out = []
    for v in value:
        if item == "str":
            if not isinstance(v, str):
                fail(name, value, "a list of strings" + (f" among {list(choices)}" if choices is not None else ""))
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or (item == "int" and not isinstance(v, int)):
            fail(name, value, f"a list of {item}s")
        if choices is not None and v not in choices:
            fail(name, value, f"values among {list(choices)}")
        if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
            fail(name, value, f"values in [{min_value}, {max_value}]")
        out.append(v)
    if unique and len(set(out)) != len(out):
        fail(name, value, "a list without duplicates")
    return out


def parse_list_string(value: Any) -> Any:
    """``value`` parsed when it is a string holding a JSON / Python list literal (``"[1, 8]"``,
    ``"['a', 'b']"``), else ``value`` unchanged. papermill's ``-p name '[1, 8]'`` passes such strings."""
    if not isinstance(value, str) or not value.strip().startswith("["):
        return value
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return value
    return parsed if isinstance(parsed, list) else value
