"""The knob schema: one declaration gives the flags, the keywords, the checks and the docs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import digitnet
from conftest import run_cli
from digitnet.errors import DigitnetError
from digitnet.interfaces.cli import build_parser
from digitnet.recipes import FAST, get_recipe
from digitnet.recipes.catalog import RECIPES
from digitnet.recipes.knobs import as_flags, knob_table
from digitnet.recipes.recipe import KNOBS

DOCS = Path(__file__).parents[1] / "docs" / "training.md"


def test_the_docs_table_is_the_declared_one():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("<!-- knob table")) + 4
    end = text.index("<!-- end of knob table -->")
    assert text[start:end] == knob_table(KNOBS), "run: digitnet recipes --knobs"


def test_every_knob_is_a_train_flag_of_the_same_name():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    for each in KNOBS:
        assert each.flag in flags
        assert each.flag == "--" + each.name.replace("_", "-")


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("learning_rate", math.nan, "--learning-rate nan: must be a finite number > 0"),
        ("learning_rate", "0.1", "--learning-rate '0.1': must be a number"),
        ("momentum", 1.0, "--momentum 1.0: must be a finite number >= 0 and < 1"),
        ("epochs", 2.5, "--epochs 2.5: must be a whole number from 1 to 100000"),
        ("epochs", True, "--epochs True: must be a whole number from 1 to 100000"),
        # a longer run's history would outgrow what a model file may hold
        ("epochs", 10**9, "--epochs 1000000000: must be a whole number from 1 to 100000"),
        ("batch_size", 0, "--batch-size 0: must be a whole number >= 1"),
        ("optimizer", "rmsprop", "--optimizer 'rmsprop': choose from gd, sgd"),
        ("augment", "yes", "--augment 'yes': must be true or false"),
        ("hidden", (128, 0), "--hidden '128,0': must be one or more whole numbers >= 1"),
        ("hidden", [], "--hidden []: must be one or more whole numbers >= 1"),
        ("dropout", 1, "--dropout 1: must be a finite number >= 0 and < 1"),
        ("dtype", "float16", "choose from float32, float64"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_flag(keyword, value, message):
    with pytest.raises(DigitnetError) as caught, as_flags():  # as inside `digitnet train`
        FAST.with_overrides(**{keyword: value})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (
            {"hidden": "64"},
            "hidden='64': must be one or more whole numbers >= 1, such as "
            "hidden=(512, 256), or hidden=64 for one",
        ),  # fmt: skip
        ({"epochs": 2.5}, "epochs=2.5: must be a whole number from 1 to 100000, such as epochs=10"),
        ({"learning_rate": math.nan}, "learning_rate=nan: must be a finite number > 0"),
        (
            {"schedule": "cos"},
            "schedule='cos': choose from constant, step, cosine (such as schedule='constant')",
        ),  # fmt: skip
        (
            {"augment": "yes"},
            "augment='yes': must be true or false (augment=True or augment=False)",
        ),  # fmt: skip
        ({"batch_size": 32, "full_batch": True}, "give batch_size or full_batch=True, not both"),
    ],
)
def test_from_python_an_error_names_the_keyword_and_a_value_that_works(keywords, message):
    """`DigitClassifier("fast", hidden="64")` speaks Python, not the command line."""
    with pytest.raises(DigitnetError) as caught:
        digitnet.DigitClassifier("fast", **keywords).fit(np.zeros((20, 784)), np.arange(20) % 10)
    assert message in str(caught.value) and "--" not in str(caught.value)
    with pytest.raises(DigitnetError) as caught:
        digitnet.train("fast", log=None, **keywords)
    assert message in str(caught.value)


def test_on_the_command_line_an_error_names_the_flag_and_a_value_that_works():
    shown = run_cli("train", "--hidden", "0")
    assert shown.returncode == 2
    assert "--hidden '0': must be one or more whole numbers >= 1, such as --hidden 512,256" in (
        shown.stderr
    )


def test_numpy_numbers_are_numbers_too():
    """A GridSearchCV grid made with np.arange holds numpy scalars."""
    recipe = FAST.with_overrides(epochs=np.int64(3), learning_rate=np.float32(0.5))
    assert recipe.epochs == 3 and type(recipe.epochs) is int
    assert recipe.learning_rate == 0.5 and type(recipe.learning_rate) is float


def test_full_batch_is_a_plain_switch_on_the_command_line():
    parser = build_parser()
    assert parser.parse_args(["train", "--full-batch"]).full_batch is True
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--no-full-batch"])  # meant nothing: there is none


def test_keywords_are_the_command_line_names():
    recipe = FAST.with_overrides(hidden=[64, 32], learning_rate=0.2, full_batch=True)
    assert recipe.layers == get_recipe("fast").with_overrides(hidden=(64, 32)).layers
    assert "dense64" in recipe.layers and recipe.learning_rate == 0.2
    assert recipe.batch_size is None
    with pytest.raises(
        DigitnetError, match="unknown recipe setting.*hidden_sizes.*known: .*hidden"
    ):
        digitnet.train(data="sample", hidden_sizes=(64,), log=None)
    with pytest.raises(DigitnetError, match=re.escape("epochz; did you mean epochs (for epochz)?")):
        digitnet.train(data="sample", epochz=3, log=None)  # a slip gets the name it meant
    with pytest.raises(DigitnetError, match="--batch-size or --full-batch, not both"), as_flags():
        FAST.with_overrides(batch_size=32, full_batch=True)


def test_command_line_text_becomes_the_same_value(tmp_path):
    parser = build_parser()
    args = parser.parse_args(["train", "--hidden", "64,32", "--learning-rate", "0.2",
                              "--epochs", "3", "--no-augment", "--full-batch"])  # fmt: skip
    overrides = {each.name: getattr(args, each.name) for each in KNOBS}
    assert overrides["hidden"] == (64, 32) and overrides["epochs"] == 3
    assert overrides["augment"] is False and overrides["full_batch"] is True
    assert overrides["momentum"] is None  # not given: the recipe's own value


def test_no_module_imports_one_that_imports_it_back():
    """The package's import graph has no cycle: a cycle makes import order matter and
    hides which module depends on which.  Every `from digitnet... import` counts,
    those inside functions too."""
    import ast

    root = Path(digitnet.__file__).parent
    trees = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        trees[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = ast.parse(
            path.read_text(encoding="utf-8")
        )
    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        graph[name] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("digitnet"):
                for alias in node.names:  # `from digitnet.data import download`: a module
                    submodule = f"{node.module}.{alias.name}"
                    graph[name].add(submodule if submodule in trees else node.module)

    def path_back(start: str, module: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for following in sorted(graph.get(module, ())):
            if following == start:
                return (*seen, following)
            if following not in seen:
                found = path_back(start, following, (*seen, following))
                if found:
                    return found
        return None

    cycles = [cycle for name in graph if (cycle := path_back(name, name, (name,)))]
    assert not cycles, cycles[0]


def test_hidden_sizes_with_one_left_out_are_refused_not_skipped():
    shown = run_cli("train", "--hidden", "8,,8")
    assert shown.returncode == 2 and "'8,,8' is not a list of sizes" in shown.stderr


def test_none_sets_what_the_knob_table_says_none_means(tmp_path):
    """The table says `--patience` takes none (off) and `--batch-size` none (full batch)."""
    from digitnet.interfaces.cli import main
    from digitnet.model_file import load_model

    table = knob_table(KNOBS)
    assert "none: off" in table and "none: full batch" in table
    patient = FAST.with_overrides(patience=3)
    assert patient.with_overrides(patience="none").patience is None
    out = tmp_path / "m.npz"
    args = ["train", "--batch-size", "none", "--patience", "none", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    recipe = load_model(out).recipe
    assert recipe["batch_size"] is None and recipe["patience"] is None


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--patience", "2"], "--patience acts"),
        (["--restore-best"], "--restore-best acts"),
        (["--patience", "2", "--restore-best"], "--patience and --restore-best act"),
    ],
)
def test_knobs_that_act_on_dev_measurements_are_refused_without_a_dev_set(
    tmp_path, capsys, flags, named
):
    """They were accepted and silently did nothing with --dev-size 0."""
    from digitnet.interfaces.cli import main

    out = tmp_path / "m.npz"
    assert main(["train", "--dev-size", "0", *flags, "--epochs", "1", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{named} on the dev measurements, and --dev-size 0 holds no rows" in error
    assert not out.exists()


def test_a_recipe_that_restores_its_best_by_default_still_trains_without_a_dev_set(sample):
    from digitnet.recipes import get_recipe

    recipe = get_recipe("best-mlp").with_overrides(dev_size=0, epochs=1, hidden=(16,))
    assert recipe.restore_best and recipe.dev_size == 0  # off in effect: nothing measured
    with pytest.raises(DigitnetError, match="dev_size=2.5: a count of rows is whole"):
        recipe.with_overrides(dev_size=2.5)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_recipe_summary_quotes_its_own_epochs(name):
    """A summary that names a number of epochs names the recipe's (a stale '20 epochs'
    once contradicted the settings printed under it)."""
    recipe = RECIPES[name]
    for quoted in re.findall(r"(\d+) epochs", recipe.summary):
        assert int(quoted) == recipe.epochs, (name, recipe.summary)
