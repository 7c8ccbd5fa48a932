"""Recipes: named training configurations, and the function that runs one."""

from digitnet.recipes.catalog import (
    BEST,
    BEST_MLP,
    CNN,
    DEFAULT_RECIPE,
    FAST,
    RECIPES,
    SEED,
    get_recipe,
)
from digitnet.recipes.recipe import Recipe, held_out_rows, run

__all__ = [
    "BEST",
    "BEST_MLP",
    "CNN",
    "DEFAULT_RECIPE",
    "FAST",
    "RECIPES",
    "Recipe",
    "SEED",
    "get_recipe",
    "held_out_rows",
    "run",
]
