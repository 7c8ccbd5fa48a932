"""The knobs of a recipe, each declared once: its type, range, default and help.

A Recipe field declared with `knob(...)` is a knob (recipes/recipe.py).  Everything
that speaks about knobs reads that one declaration:

- the command line's flags: `--learning-rate` for `learning_rate` (add_flags);
- the Python keywords of `digitnet.train`, `DigitClassifier` and
  `Recipe.with_overrides`, which are the same names;
- validation (`Knob.check`): one DigitnetError that names the knob as its reader
  knows it: the Python keyword and a Python value that works (`hidden=(512, 256)`),
  or, inside the command line (`as_flags`), the flag (`--hidden 512,256`);
- the knob table in docs/training.md (`knob_table`; a test keeps the page equal).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.errors import DigitnetError


class _EachRecipe:
    """The default of a knob that every recipe sets itself (learning rate, epochs...)."""

    def __repr__(self) -> str:
        return "set by each recipe"


EACH_RECIPE = _EachRecipe()

# Whether errors speak of flags (inside `digitnet ...`) or of Python keywords.
_FLAGS = contextvars.ContextVar("knob_errors_name_flags", default=False)


@contextlib.contextmanager
def as_flags() -> Iterator[None]:
    """Within this block, knob errors name command-line flags (`--hidden '64'`);
    outside it, the Python keywords (`hidden='64'`).  The command line runs in one."""
    token = _FLAGS.set(True)
    try:
        yield
    finally:
        _FLAGS.reset(token)


@contextlib.contextmanager
def as_keywords() -> Iterator[None]:
    """Within this block, knob errors name the Python keywords again, even inside the
    command line: `digitnet serve`'s training API takes JSON fields of those names."""
    token = _FLAGS.set(False)
    try:
        yield
    finally:
        _FLAGS.reset(token)


def speaks_flags() -> bool:
    """Whether an error should name a command-line flag rather than a Python keyword."""
    return _FLAGS.get()


@dataclass(frozen=True)
class Knob:
    """One setting: what values it takes and what it means.

    kind: 'number' (a float), 'count' (a whole number >= 1, up to `maximum` if
    given), 'whole' (a whole
    number from minimum to maximum, both included), 'switch' (true or false),
    'choice' (one of `choices`), 'text', or 'sizes' (whole numbers >= 1, written
    512,256).  minimum/maximum bound a number (a number's maximum is excluded);
    `open_minimum` excludes the minimum itself.  `none` says what None means where
    None is allowed.
    """

    name: str
    kind: str
    help: str
    default: Any = EACH_RECIPE
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    choices: tuple[str, ...] = ()
    none: str = ""  # e.g. batch_size None: "full batch"; "" where None is not allowed
    negatable: bool = True  # a switch: also --no-name

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """`value` if it fits this knob (a list of sizes made a tuple); otherwise one
        DigitnetError naming the knob as the caller writes it (see `as_flags`), with
        a value that works in the same form."""
        if self.none and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None  # `--patience none` (or patience="none"): what None means for it
        flags = speaks_flags()
        shown = f"{self.flag} {value!r}" if flags else f"{self.name}={value!r}"
        if flags and self.kind == "sizes" and isinstance(value, tuple):  # as it was typed
            shown = f"{self.flag} '{','.join(map(str, value))}'"
        if self.kind == "switch":
            if not isinstance(value, bool):
                works = f"{self.flag} or --no-{self.flag[2:]}" if flags else (
                    f"{self.name}=True or {self.name}=False")  # fmt: skip
                raise DigitnetError(f"{shown}: must be true or false ({works})")
            return value
        if self.kind in ("choice", "text"):
            if not isinstance(value, str):
                raise DigitnetError(f"{shown}: must be text")
            if self.choices and value not in self.choices:
                example = f"{self.flag} {self.choices[0]}" if flags else (
                    f"{self.name}={self.choices[0]!r}")  # fmt: skip
                raise DigitnetError(f"{shown}: choose from {', '.join(self.choices)} "
                                    f"(such as {example})")  # fmt: skip
            return value
        if self.kind == "sizes":
            sizes = (value,) if _is_count(value) else value
            if not isinstance(sizes, tuple | list) or not sizes or not all(map(_is_count, sizes)):
                example = f"{self.flag} 512,256" if flags else (
                    f"{self.name}=(512, 256), or {self.name}=64 for one")  # fmt: skip
                raise DigitnetError(
                    f"{shown}: must be one or more whole numbers >= 1, such as {example}"
                )
            return tuple(int(n) for n in sizes)
        if self.kind == "whole":
            whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
            if not whole or not self._in_range(value):
                example = f"{self.flag} 2" if flags else f"{self.name}=2"
                raise DigitnetError(
                    f"{shown}: must be a whole number {self.range_text()}, such as {example}"
                )
            return int(value)
        if self.kind == "count":
            if not _is_count(value) or (self.maximum is not None and value > self.maximum):
                example = f"{self.flag} 10" if flags else f"{self.name}=10"
                raise DigitnetError(f"{shown}: must be a {self.range_text()}, such as {example}")
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise DigitnetError(f"{shown}: must be a number")
        value = value.item() if isinstance(value, np.generic) else value
        if not math.isfinite(value) or not self._in_range(value):
            raise DigitnetError(f"{shown}: must be a finite number {self.range_text()}")
        return value

    def _in_range(self, value: float) -> bool:
        low, high = self.minimum, self.maximum
        above = low is None or value > low or (value == low and not self.open_minimum)
        if self.kind == "whole":
            return above and (high is None or value <= high)
        return above and (high is None or value < high)

    def range_text(self) -> str:
        """The allowed range in words: '> 0', '>= 0 and < 1', 'one of a, b'."""
        if self.kind == "number":
            parts = []
            if self.minimum is not None:
                parts.append(f"{'>' if self.open_minimum else '>='} {self.minimum:g}")
            if self.maximum is not None:
                parts.append(f"< {self.maximum:g}")
            return " and ".join(parts)
        if self.kind == "whole":
            return f">= {self.minimum:g} and <= {self.maximum:g}"
        if self.kind == "count" and self.maximum is not None:
            return f"whole number from 1 to {self.maximum:g}"
        return {
            "count": "whole number >= 1",
            "switch": "on or off",
            "choice": ", ".join(self.choices),
            "sizes": "whole numbers >= 1",
            "text": "text",
        }[self.kind]

    def parse(self, text: str) -> Any:
        """This knob's command-line text as a value (argparse's `type`).  Only the
        conversion: the range is checked with the other knobs, by the recipe."""
        converters = {"count": int, "whole": int, "number": float, "sizes": _sizes}
        if self.none and text.strip().lower() == "none":
            return "none"  # check() makes it None: set, unlike a flag not given at all
        try:
            return converters.get(self.kind, str)(text)
        except ValueError:
            noun = {"count": "whole number", "whole": "whole number", "number": "number"}.get(
                self.kind, "list of sizes"
            )
            raise argparse.ArgumentTypeError(f"'{text}' is not a {noun}") from None


def _sizes(text: str) -> tuple[int, ...]:
    """'512,256' as (512, 256); '512,,256' is a slip (a size left out), not two sizes."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if any(not part for part in parts):
        raise ValueError(f"'{text}': an empty size between commas")
    return tuple(int(part) for part in parts)


def knob(help: str, *, kind: str, default: Any = EACH_RECIPE, **limits: Any) -> Any:
    """A Recipe field that is a knob: `field()` carrying its Knob (name filled in later)."""
    declared = Knob(name="", kind=kind, help=help, default=default, **limits)
    if default is EACH_RECIPE:
        return field(metadata={"knob": declared})
    return field(default=default, metadata={"knob": declared})


def _is_count(value: Any) -> bool:
    """A whole number >= 1: Python's or numpy's (a grid from np.arange), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def add_flags(group: Any, knobs: tuple[Knob, ...]) -> None:
    """One command-line option per knob, each defaulting to None: the recipe's value.

    A switch gets --name and --no-name (only --name where its default is off and
    turning it off means nothing, like --full-batch); a choice lists its choices.
    """
    for each in knobs:
        if each.kind == "switch" and each.default is False and not each.negatable:
            group.add_argument(each.flag, action="store_true", default=None, help=each.help)
        elif each.kind == "switch":
            group.add_argument(each.flag, action=argparse.BooleanOptionalAction, help=each.help)
        elif each.kind == "choice":
            group.add_argument(each.flag, choices=each.choices, help=each.help)
        else:
            group.add_argument(each.flag, type=each.parse, help=each.help)


def knob_table(knobs: tuple[Knob, ...]) -> str:
    """The knobs as a Markdown table: flag and keyword, values, default, meaning."""
    lines = [
        "| command line | Python keyword | values | where a recipe sets none | what it does |",
        "|---|---|---|---|---|",
    ]
    for each in knobs:
        flag = f"`{each.flag}`"
        if each.kind == "switch" and each.negatable:
            flag += f" / `--no-{each.flag[2:]}`"
        values = each.range_text() + (f"; none: {each.none}" if each.none else "")
        lines.append(f"| {flag} | `{each.name}` | {values} | {_shown(each)} | {each.help} |")
    return "\n".join(lines) + "\n"


def _shown(each: Knob) -> str:
    """A knob's default as the table shows it: what a recipe that does not set it gets."""
    if each.default is EACH_RECIPE:
        return "each recipe's"
    if each.default is None:
        return each.none or "none"
    if isinstance(each.default, bool):
        return "on" if each.default else "off"
    return f"`{each.default}`"
