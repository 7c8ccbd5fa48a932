"""How messages write counts: '1 image', '2 images' (not '1 images')."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and `noun`, the noun in the plural unless the number is 1
    (`plural` for nouns that do not just add an s)."""
    word = noun if number == 1 else (plural or f"{noun}s")
    return f"{number} {word}"
