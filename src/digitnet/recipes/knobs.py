"""The knobs of a recipe, each declared once: its type, range, default and help.

A Recipe field declared with `knob(...)` is a knob (recipes/recipe.py).  Everything
that speaks about knobs reads that one declaration:

- the command line's flags: `--learning-rate` for `learning_rate` (add_flags);
- the Python keywords of `digitnet.train`, `DigitClassifier` and
  `Recipe.with_overrides`, which are the same names;
- validation (`Knob.check`): one DigitnetError that names the flag;
- the knob table in docs/training.md (`knob_table`; a test keeps the page equal).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any

from digitnet.errors import DigitnetError


class _EachRecipe:
    """The default of a knob that every recipe sets itself (learning rate, epochs...)."""

    def __repr__(self) -> str:
        return "set by each recipe"


EACH_RECIPE = _EachRecipe()


@dataclass(frozen=True)
class Knob:
    """One setting: what values it takes and what it means.

    kind: 'number' (a float), 'count' (a whole number >= 1), 'switch' (true or
    false), 'choice' (one of `choices`), 'text', or 'sizes' (whole numbers >= 1,
    written 512,256).  minimum/maximum bound a number; `open_minimum` excludes the
    minimum itself.  `none` says what None means where None is allowed.
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

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """`value` if it fits this knob (a list of sizes made a tuple); otherwise
        one DigitnetError naming the flag."""
        if value is None and self.none:
            return None
        shown = f"{self.flag} {value!r}"
        if self.kind == "switch":
            if not isinstance(value, bool):
                raise DigitnetError(f"{shown}: must be true or false")
            return value
        if self.kind in ("choice", "text"):
            if not isinstance(value, str):
                raise DigitnetError(f"{shown}: must be text")
            if self.choices and value not in self.choices:
                raise DigitnetError(f"{shown}: choose from {', '.join(self.choices)}")
            return value
        if self.kind == "sizes":
            sizes = (value,) if isinstance(value, int) else value
            if not isinstance(sizes, tuple | list) or not all(_is_count(n) for n in sizes):
                raise DigitnetError(f"{shown}: must be whole numbers >= 1, e.g. 512,256")
            return tuple(int(n) for n in sizes)
        if self.kind == "count":
            if not _is_count(value):
                raise DigitnetError(f"{shown}: must be a whole number >= 1")
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DigitnetError(f"{shown}: must be a number")
        if not math.isfinite(value) or not self._in_range(value):
            raise DigitnetError(f"{shown}: must be a finite number {self.range_text()}")
        return value

    def _in_range(self, value: float) -> bool:
        low, high = self.minimum, self.maximum
        above = low is None or value > low or (value == low and not self.open_minimum)
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
        return {
            "count": "whole number >= 1",
            "switch": "true or false",
            "choice": ", ".join(self.choices),
            "sizes": "whole numbers >= 1",
            "text": "text",
        }[self.kind]

    def parse(self, text: str) -> Any:
        """This knob's command-line text as a value (argparse's `type`).  Only the
        conversion: the range is checked with the other knobs, by the recipe."""
        converters = {"count": int, "number": float, "sizes": _sizes}
        try:
            return converters.get(self.kind, str)(text)
        except ValueError:
            noun = {"count": "whole number", "number": "number"}.get(self.kind, "list of sizes")
            raise argparse.ArgumentTypeError(f"'{text}' is not a {noun}") from None


def _sizes(text: str) -> tuple[int, ...]:
    """'512,256' as (512, 256)."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def knob(help: str, *, kind: str, default: Any = EACH_RECIPE, **limits: Any) -> Any:
    """A Recipe field that is a knob: `field()` carrying its Knob (name filled in later)."""
    declared = Knob(name="", kind=kind, help=help, default=default, **limits)
    if default is EACH_RECIPE:
        return field(metadata={"knob": declared})
    return field(default=default, metadata={"knob": declared})


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def add_flags(group: Any, knobs: tuple[Knob, ...]) -> None:
    """One command-line option per knob, each defaulting to None: the recipe's value.

    A switch gets --name and --no-name; a choice lists its choices in --help.
    """
    for each in knobs:
        if each.kind == "switch":
            group.add_argument(each.flag, action=argparse.BooleanOptionalAction, help=each.help)
        elif each.kind == "choice":
            group.add_argument(each.flag, choices=each.choices, help=each.help)
        else:
            group.add_argument(each.flag, type=each.parse, help=each.help)


def knob_table(knobs: tuple[Knob, ...]) -> str:
    """The knobs as a Markdown table: flag and keyword, values, default, meaning."""
    lines = [
        "| command line | Python keyword | values | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for each in knobs:
        values = each.range_text() + (f"; none: {each.none}" if each.none else "")
        default = "each recipe's" if each.default is EACH_RECIPE else f"`{each.default}`"
        lines.append(f"| `{each.flag}` | `{each.name}` | {values} | {default} | {each.help} |")
    return "\n".join(lines) + "\n"
