"""The `digitnet` command: train, evaluate, predict, recipes.

Every user-caused problem ends in one line on stderr and exit status 2; Ctrl-C
ends with status 130, after saving what training had reached.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import difflib
import errno
import functools
import io
import ipaddress
import os
import re
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from digitnet.atomic import check_output, check_output_folder, output_folder, refuse_an_input
from digitnet.data import load_data
from digitnet.data.dataset import PIXELS, Dataset
from digitnet.data.dataset_table import DATASETS, get_dataset_spec
from digitnet.data.download import dataset_folder, download, is_present, presence
from digitnet.data.recorded import is_named
from digitnet.data.sources import data_files
from digitnet.errors import DigitnetError, DownloadError, check_seed
from digitnet.interfaces.evaluation_text import evaluation_report
from digitnet.interfaces.predictions import (
    ACCEPTED,
    STDIN,
    image_inputs,
    is_stdout,
    prediction_table,
    standard_input,
    write_table,
)
from digitnet.interfaces.training_data import (
    class_mismatch,
    find_training_data,
    held_out_dataset,
    is_training_data,
    scored_overlap,
)
from digitnet.metrics import confusion_matrix
from digitnet.model import Model, kept_row
from digitnet.model_file import load_model, save_model
from digitnet.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, run
from digitnet.recipes.knobs import add_flags, as_flags, as_keywords, knob_table
from digitnet.recipes.recipe import KNOBS, adapted, as_settings, dev_size_fitted
from digitnet.speed import using_threads
from digitnet.wording import count

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


def printable(text: str) -> str:
    """`text` with control characters shown as escapes (\\x1b, \\n...), so that a
    file name or a cell of a stranger's file cannot drive the terminal (colours,
    cursor moves, a fake second line) when an error message quotes it."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


LONGEST_ERROR = 2000  # characters: a message quoting a 500 KB layer spec stays one line to read


def _shortened(message: str) -> str:
    """`message`, its middle cut out if it is too long to read (a quoted spec or cell)."""
    if len(message) <= LONGEST_ERROR:
        return message
    keep = LONGEST_ERROR // 2
    cut = len(message) - 2 * keep
    return f"{message[:keep]} ...({cut:,} characters cut)... {message[-keep:]}"


class Terminated(BaseException):
    """SIGTERM outside training: unwinds like Ctrl-C, so temporary files are removed."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class _ReaderMayLeave(io.TextIOBase):
    """stdout that survives its reader going away (`digitnet train ... | head -2`).

    The first write to a closed pipe raises BrokenPipeError, which would end the
    command before it saved its work.  Instead the rest of the output is dropped
    and the command carries on: the model or submission is still written.

    And what is written cannot drive the terminal: control characters other than
    newline and tab (a recipe name or class name from a stranger's model file,
    say) are written as escapes, as `printable` does for errors.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream, self.closed_by_reader = stream, False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                self.stream.write(_CONTROL.sub(lambda found: printable(found[0]), text))
                self.stream.flush()
            except BrokenPipeError:
                self.closed_by_reader = True
                # Python's own final flush of the real stdout must not fail either.
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        return len(text)

    def isatty(self) -> bool:
        return not self.closed_by_reader and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


def _bytes_or_replaced(error: UnicodeError) -> tuple[str | bytes, int]:
    """A file name's own bytes (held as surrogates) as they are; any other character
    the terminal's encoding lacks (ASCII, Latin-1: a drawing's blocks, an 'é') as '?'."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start : error.end]
    if all(0xDC80 <= ord(char) <= 0xDCFF for char in bad):
        return codecs.lookup_error("surrogateescape")(error)
    return codecs.lookup_error("replace")(error)


codecs.register_error("digitnet-stdout", _bytes_or_replaced)


def _tolerant(stream: IO[str] | None, errors: str) -> None:
    """`stream` made to write unencodable characters by `errors`, if it is strict
    (or, as Python sets it in the C locale, strict for all but file names' bytes)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if getattr(stream, "errors", None) in ("strict", "surrogateescape") and callable(reconfigure):
        with contextlib.suppress(ValueError, io.UnsupportedOperation):
            reconfigure(errors=errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # a bare `digitnet`: what can it do?
        parser.print_help()
        # Nothing was done: a script that forgot its command must not read success.
        print("digitnet: error: give a command, such as: digitnet train", file=sys.stderr)
        return EXIT_USER_ERROR
    args = _parse(parser, argv)
    # A file name that is not UTF-8 (b'tr\xfe.csv', held as 'tr\udcfe.csv') is printed
    # as its own bytes on stdout (a CSV of names stays true to the files) and escaped
    # on stderr, never a UnicodeEncodeError: in a UTF-8 locale Python's are strict.
    _tolerant(sys.stdout, "digitnet-stdout")
    _tolerant(sys.stderr, "backslashreplace")
    original_stdout = sys.stdout
    try:
        sys.stdout.fileno()
        sys.stdout = _ReaderMayLeave(sys.stdout)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass  # not a real file (captured by a test or a notebook): no pipe to lose
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        with using_threads(args.threads, say=_note), as_flags():  # errors name --flags
            return args.command(args)
    except DigitnetError as error:
        print(f"digitnet: error: {_shortened(printable(str(error)))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:  # numpy could not allocate an array: say so, not a traceback
        print(
            "digitnet: error: out of memory: this needs more than the machine can give; "
            "try smaller layers or a smaller --batch-size",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("digitnet: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`digitnet evaluate ... | head`): not an error of ours.
        # Point stdout at devnull so Python's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a path the system refuses (permission, name too long...)
        reason = error.strerror or str(error)
        where = "" if error.filename is None else f"{printable(str(error.filename))}: "
        print(f"digitnet: error: {where}{reason}", file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        sys.stdout = original_stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an unknown option is reported by its command's own parser (its
    usage, not the top level's), with the nearest option it has: `--hidden-sizes` and
    `--hidden_sizes` suggest `--hidden`, `--epoch` suggests `--epochs`."""
    args, unknown = parser.parse_known_args(argv)
    if not unknown:
        return args
    command = args.command_parser
    options = [flag for action in command._actions for flag in action.option_strings]
    typed = unknown[0].split("=", 1)[0].replace("_", "-")  # --learning_rate: Python's name
    near = [flag for flag in options if typed == flag or typed.startswith(flag + "-")][:1]
    near = near or difflib.get_close_matches(typed, options, n=1, cutoff=0.75)
    hint = f" (did you mean {near[0]}?)" if near else ""
    command.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    raise AssertionError("unreachable: error() exits")


class _OneLineErrors(argparse.ArgumentParser):
    """argparse's parser, its errors one line (what was wrong, and where help is), as
    every other error of digitnet's, not the whole usage block first."""

    def error(self, message: str) -> NoReturn:
        # "digitnet: error:" as every other error begins; the command is in the hint.
        self.exit(EXIT_USER_ERROR, f"digitnet: error: {message} (see {self.prog} --help)\n")


class _DefaultsShown(argparse.HelpFormatter):
    """Help that ends each option with its default, where it has one of its own.

    Recipe overrides have none: they default to the chosen recipe's value, which
    their group's description says (and `digitnet recipes` lists)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        if not action.option_strings and action.nargs not in ("?", "*"):
            return text  # a required positional argument has no default
        return text + " (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: `--epoch 3` is an unknown flag, not a guess at --epochs.
    parser = _OneLineErrors(
        prog="digitnet",
        description="A handwritten-digit neural network in plain numpy.",
        formatter_class=_DefaultsShown,
        allow_abbrev=False,
    )
    from digitnet import __version__

    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    # Every command's parser shows its defaults too.
    command_parser = functools.partial(
        _OneLineErrors, formatter_class=_DefaultsShown, allow_abbrev=False
    )
    commands = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=command_parser
    )
    threads = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    threads.add_argument(
        "--data-dir",
        help="where datasets and caches live (default: $DIGITNET_DATA_DIR, else the user cache)",
    )
    threads.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="cores to compute on (default: every core this process may use; see the "
        "README's Threads)",
    )
    data_help = (
        "'sample' (bundled), a dataset name (mnist, fashion-mnist, kmnist; add :test or "
        ":train), a Kaggle CSV, or a folder of IDX files"
    )

    train = commands.add_parser(
        "train",
        parents=[threads],
        help="train a model and save it",
        description="Train a network with a recipe; every recipe knob can be overridden.",
    )
    train.add_argument(
        "--data",
        help=f"{data_help} (default: sample; with --resume, the data the model was trained on)",
    )
    train.add_argument(
        "--recipe",
        help=f"{', '.join(RECIPES)} (default: {DEFAULT_RECIPE}; with --resume, the model's own)",
    )
    train.add_argument("--seed", type=_whole_number, default=0,
                       help="shuffle, split and init seed")  # fmt: skip
    train.add_argument(
        "--resume",
        metavar="MODEL",
        help="continue training this model: its recipe (+ overrides), data and split; "
        "--epochs N: N more epochs (default: the rest of its run)",
    )
    train.add_argument(
        "--out",
        help="model file to write (.npz; default: model.npz, or with --resume the "
        "resumed model, updated in place)",
    )
    knobs = train.add_argument_group(
        "recipe overrides",
        "Each defaults to the chosen recipe's value; `digitnet recipes` lists the recipes.",
    )
    add_flags(knobs, KNOBS)
    train.add_argument("--plots", metavar="DIR", help="also draw the training curves into DIR")
    train.add_argument("--quiet", action="store_true", help="print only the result")
    train.set_defaults(command=command_train)

    evaluate = commands.add_parser(
        "evaluate", parents=[threads], help="accuracy and confusion matrix of a model"
    )
    evaluate.add_argument("model", help="a model file written by 'digitnet train'")
    evaluate.add_argument(
        "--data",
        help=f"labelled {data_help} (default: the rows the model held out of its own "
        "training data, its dev set)",
    )
    evaluate.add_argument(
        "--held-out",
        action="store_true",
        help="only the rows of --data that the model held out in training (the same data)",
    )
    evaluate.set_defaults(command=command_evaluate)

    predict = commands.add_parser(
        "predict",
        parents=[threads],
        help="label images: a Kaggle submission, or your own pictures",
        description="Label images: Kaggle's test.csv (or any data) into a submission "
        "(ImageId,Label), or pictures of digits, files or folders of PNG/JPG (file,label), "
        "each prepared as show --image prepares one.",
    )
    predict.add_argument("model", help="a model file written by 'digitnet train'")
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="IMAGES",
        help="pictures (PNG, JPG...) or folders of them (subfolders too); or one Kaggle "
        f"test.csv (- reads it from stdin), or {data_help}",
    )
    predict.add_argument(
        "--out",
        help="CSV to write; - for stdout (default: submission.csv for data, "
        "predictions.csv for pictures)",
    )
    predict.add_argument(
        "--proba", action="store_true", help="add each class's probability (columns p_0...)"
    )
    predict.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="leave out, with a warning each, pictures that cannot be read or hold no digit "
        "(without it, one such picture stops the run and nothing is written)",
    )
    predict.set_defaults(command=command_predict)

    explore = commands.add_parser("explore", help="pictures of the data: examples, counts...")
    explore.add_argument("--data", default="sample", help=data_help)
    explore.add_argument("--out", default="explore", help="folder for the PNG files")
    explore.add_argument("--data-dir", help="where datasets and caches live")
    explore.set_defaults(command=command_explore, threads=None)

    download = commands.add_parser(
        "download", help="download a dataset (checked against its SHA-256 checksums)"
    )
    download.add_argument("name", nargs="?", help=", ".join(DATASETS))
    download.add_argument("--data-dir", help="where datasets live (default: user cache)")
    download.add_argument("--list", action="store_true", help="list the datasets and their state")
    download.set_defaults(command=command_download, threads=None)

    show = commands.add_parser(
        "show", parents=[threads], help="one prediction, drawn in the terminal and as a PNG"
    )
    show.add_argument("model", help="a model file written by 'digitnet train'")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, default=0, help="row of --data to show")
    which.add_argument("--random", action="store_true", help="a random row of --data")
    which.add_argument("--image", help="your own digit: a PNG/JPG file (dark on light is fine)")
    show.add_argument("--data", default="sample", help=data_help)
    show.add_argument("--out", help="also write the picture to this PNG file")
    show.set_defaults(command=command_show)

    report = commands.add_parser(
        "report", parents=[threads], help="every picture plus one self-contained index.html"
    )
    report.add_argument("model", help="a model file written by 'digitnet train'")
    report.add_argument(
        "--data",
        help=f"labelled {data_help} (default: the rows the model held out of its own "
        "training data, its dev set)",
    )
    report.add_argument(
        "--held-out",
        action="store_true",
        help="only the rows of --data that the model held out in training (the same data)",
    )
    report.add_argument("--out", default="report", help="folder to write")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    report.set_defaults(command=command_report)

    serve = commands.add_parser(
        "serve",
        parents=[threads],
        help="a web page to draw digits on, read live by the network, and a JSON API",
        description="Serve the drawing page and its JSON API (docs/serve.md). Needs the extra: "
        f"{_serve_extra()}.",
    )
    serve.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help="model files to offer (default: the small CNN shipped in the package)",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 lets anyone on your network use it",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on")
    serve.add_argument("--train-data", metavar="DATA", help="data the page may train on, "
                       "besides the bundled sample (as train's --data)")  # fmt: skip
    serve.add_argument(
        "--save-dir",
        metavar="DIR",
        default=".",
        help="folder where the page saves models in training",
    )
    serve.add_argument(
        "--allow-remote-training",
        action="store_true",
        help="allow training from the page when listening beyond 127.0.0.1",
    )
    serve.set_defaults(command=command_serve)

    recipes = commands.add_parser("recipes", help="list the training recipes")
    tables = recipes.add_mutually_exclusive_group()  # one table at a time, not one ignored
    tables.add_argument(
        "--knobs", action="store_true", help="list every knob instead (a Markdown table)"
    )
    tables.add_argument(
        "--layers",
        action="store_true",
        help="list every layer token that --layers takes instead (a Markdown table)",
    )
    recipes.set_defaults(command=command_recipes, threads=None)
    _add_export_command(commands)
    for name, command in commands.choices.items():
        command.set_defaults(command_parser=command)  # so that errors speak of the command used
        command.description = command.description or _DESCRIPTIONS[name]
        command.epilog = f"example: {_EXAMPLES[name]}"
    return parser


# What `digitnet COMMAND --help` says first, where the command's parser says nothing more.
_DESCRIPTIONS = {
    "evaluate": "Accuracy, accuracy per class and the confusion matrix of a model: by default "
    "on the rows it held out of its own training data (its dev set).",
    "explore": "Pictures of a dataset before any training: examples of each class, how many "
    "images each class has, the average image of each, and the pixel values, as PNG files.",
    "download": "Download a dataset into the cache folder, keeping a file only when its "
    "SHA-256 checksum matches; without a name (or with --list), list the datasets and "
    "whether each is present.",
    "show": "One prediction, drawn in the terminal with the top three guesses: a row of "
    "--data, or your own picture of a digit (--image); --out also draws it as a PNG.",
    "report": "Every picture of a model in one folder (curves, confusion matrix, mistakes, "
    "calibration, weights, hidden layers) plus a self-contained index.html: by default on "
    "the rows it held out.",
    "recipes": "List the named training recipes, each with the network it trains; --knobs "
    "lists every knob that train can override, --layers every layer token, as Markdown tables.",
}
# One example a command, shown at the end of its --help.
_EXAMPLES = {
    "export": "digitnet export model.npz page.html",
    "train": "digitnet train --data train.csv --recipe cnn --out cnn.npz",
    "evaluate": "digitnet evaluate model.npz --data mnist:test",
    "predict": "digitnet predict model.npz test.csv --out submission.csv",
    "explore": "digitnet explore --data fashion-mnist --out explore/",
    "download": "digitnet download mnist",
    "show": "digitnet show model.npz --image my_digit.jpg --out guess.png",
    "report": "digitnet report model.npz --out report/",
    "serve": "digitnet serve model.npz cnn.npz --port 8000",
    "recipes": "digitnet recipes --knobs",
}


def _add_export_command(commands: argparse._SubParsersAction) -> None:
    """`digitnet export MODEL OUT`: ONNX, PyTorch, or the drawing page as one file."""
    from digitnet.interfaces.export import FORMATS

    export = commands.add_parser(
        "export",
        help="write a model as ONNX, PyTorch, or a drawing page that needs no server",
        description="Write MODEL in a form that runs without digitnet (docs/export.md): "
        "OUT.onnx (ONNX), OUT.pt2 or OUT.pt (a torch.export program), FOLDER/ (a PyTorch module, "
        "its architecture and state_dict), OUT.html (the drawing page as one file). "
        'ONNX and PyTorch need the extra: pip install "digitnet[export]".',
    )
    export.add_argument("model", metavar="MODEL", help="a digitnet model file (.npz)")
    export.add_argument("out", metavar="OUT", help="the file (or folder) to write")
    export.add_argument("--to", choices=list(FORMATS), help="the format (default: OUT's name says)")
    export.set_defaults(command=command_export, threads=None)


def command_export(args: argparse.Namespace) -> int:
    from digitnet.interfaces.export import (
        check_destination,
        export_format,
        export_model,
        require_extra,
    )

    refuse_an_input(args.out, [args.model])
    fmt = export_format(args.out, args.to)
    require_extra(fmt)
    check_destination(args.out, fmt, [args.model])  # before reading the model: nothing written
    model = load_model(args.model)
    if fmt == "html":  # the page draws 28x28 digits: a model of other inputs cannot read them
        _check_inputs(model, args.model)
    export_model(model, args.out, fmt, inputs=[args.model])
    print(f"wrote {args.out} ({fmt}: {model.network.layer_spec})")
    return 0


def command_train(args: argparse.Namespace) -> int:
    # Before an hour of training, not after.  Writing over the model being resumed is
    # allowed, and what `--resume model.npz` does without --out: the write is atomic.
    if args.resume is not None and not args.resume.lower().endswith(".npz"):
        raise DigitnetError(f"--resume {args.resume}: give the model file (.npz) to train on; "
                            "the data goes to --data")  # fmt: skip
    if args.out is None:
        args.out = args.resume or "model.npz"
    _not_stdout(args.out, "a model file")
    check_seed(args.seed, "--seed ")
    data_read = data_files(args.data if args.data or args.resume else "sample", args.data_dir)
    check_output(args.out, [args.data, *data_read] if args.resume else
                 [args.data, *data_read, args.resume])  # fmt: skip
    _named_as(args.out, ".npz", "a model file (.npz)")
    if args.plots:
        output_folder(args.plots)
    start = load_model(args.resume) if args.resume else None
    if start is None:
        base = get_recipe(args.recipe or DEFAULT_RECIPE)
    else:
        base = _saved_recipe(start, args.resume)
        if args.recipe is not None and args.recipe != base.name:  # not silently ignored
            raise DigitnetError(
                f"--recipe {args.recipe}: {args.resume} goes on with its own recipe "
                f"({base.name}); leave --recipe out (knobs such as --epochs still apply), "
                "or train a new model without --resume"
            )
    overrides = {each.name: getattr(args, each.name) for each in KNOBS}
    if start is not None:
        overrides["epochs"] = _resumed_epochs(start, args.resume, base, args.epochs)
    recipe = base.with_overrides(**overrides)
    if start is not None and recipe.layers != start.network.layer_spec:
        raise DigitnetError(
            f"{args.resume}: cannot resume with other layers ({recipe.layers}); its network "
            f"is {start.network.layer_spec}: train a new model without --resume"
        )
    say = (lambda _line: None) if args.quiet else print
    progress = False if args.quiet else None
    try:
        if start is not None and args.data is None:  # the model's own data, found again
            dataset = find_training_data(start, args.resume, data_dir=args.data_dir,
                                         progress=progress)  # fmt: skip
        else:
            data = "sample" if args.data is None else args.data
            dataset = load_data(data, data_dir=args.data_dir, progress=progress)
    except DownloadError as error:  # no silent stand-in: a script must be able to tell
        if start is not None:  # resuming: other data would not continue this model
            raise
        raise DownloadError(f"{error}; or train on the bundled sample: --data sample") from None
    if start is None:
        say(f"data: {dataset.source}")
    elif args.data is None:
        say(f"data: {dataset.source} (what {args.resume} was trained on; its split again)")
    else:
        trained_on = start.info.get("data", "other data")
        same = is_training_data(start, dataset)
        origin = f"what {args.resume} was trained on" if same else (
            f"{args.resume} was trained on {trained_on}")  # fmt: skip
        say(f"data: {dataset.source} (from --data; {origin})")
        mismatch = class_mismatch(start, args.resume, dataset)
        if mismatch:
            _warn(f"{mismatch}; training on, the model will predict {dataset.noun}s")
    recipe = adapted(recipe, dataset.kind, say)  # run() would; said before the settings
    if start is None:  # so would this (a resumed run keeps its dev rows)
        recipe = dev_size_fitted(recipe, len(dataset), say)
    say(f"recipe: {recipe.name}: {recipe.settings()}")
    if start is not None:
        done = start.history["epoch"][-1]
        last = done + recipe.epochs
        span = f"epoch {last}" if recipe.epochs == 1 else f"epochs {done + 1} to {last}"
        say(f"resuming: {args.resume} after epoch {done}: {span}, the schedule going on "
            "where it stopped (the optimizer's momentum starts afresh)")  # fmt: skip
    seed = start.info.get("seed", args.seed) if start is not None else args.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:  # a model's, checked
        raise DigitnetError(f"{args.resume}: its seed {seed!r} is not a whole number >= 0")
    model = run(recipe, dataset, seed, log=say, progress=progress, start_from=start)
    if model.info["interrupted"] and kept_row(model) is None:
        # Stopped before anything was measured: these weights are no "best so far", and
        # --out may hold a good model (the one resumed, or an earlier run's).
        kept = f"{args.out} is untouched" if os.path.exists(args.out) else "no model written"
        print(f"interrupted before the first measurement: nothing saved ({kept})")
        return _interrupted_exit(model)
    save_model(model, args.out)
    print(_trained_summary(model, args.out))
    if args.plots:
        from digitnet.pictures import save_training_curves

        path = save_training_curves(model, args.plots)
        say(f"wrote {path}")
    return _interrupted_exit(model) if model.info["interrupted"] else 0


def _interrupted_exit(model: Model) -> int:
    return EXIT_TERMINATED if model.info.get("stop_signal") == signal.SIGTERM else EXIT_INTERRUPTED


def _resumed_epochs(model: Model, path: str, recipe: Recipe, more: int | None) -> int:
    """The epochs a resumed run trains: `more` (--epochs), or without it, the rest
    of the run the model's recipe planned (after a Ctrl-C)."""
    epochs = model.history.get("epoch") or []
    if not epochs:
        raise DigitnetError(f"{path}: cannot resume: it records no finished epoch")
    done = epochs[-1]
    if more is not None:
        return more
    if recipe.epochs > done:
        return recipe.epochs - done
    raise DigitnetError(f"{path}: has trained all {done} epochs of its recipe; "
                        "--epochs N trains N more")  # fmt: skip


def _not_stdout(out: str, what: str) -> None:
    """Refuse `--out -` where the output is not text for a pipe (predict's CSV is)."""
    if is_stdout(out):
        raise DigitnetError(f"--out {out}: this command writes {what}; give a file name")


def _named_as(out: str, suffix: str, what: str) -> None:
    """Refuse an --out whose name says another format (`--out model.csv`, `--out g.jpg`):
    the file would hold this command's format under a name that promises another."""
    if out and not out.lower().endswith(suffix):
        raise DigitnetError(f"--out {out}: this command writes {what}; give a name ending "
                            f"in {suffix}")  # fmt: skip


def _warn(line: str) -> None:
    print(f"digitnet: warning: {printable(line)}", file=sys.stderr)


def command_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    _check_inputs(model, args.model)
    dataset, _ = _scored_data(model, args)
    print(f"model: {args.model} ({_describe(model)})")
    assert dataset.labels is not None
    predicted = model.predict(dataset.images, progress=None)
    print(evaluation_report(confusion_matrix(predicted, dataset.labels), model.class_names))
    return 0


def _scored_data(model: Model, args: argparse.Namespace) -> tuple[Dataset, str]:
    """What `evaluate` and `report` score: the rows the model held out of its own
    training data (by default, or of --data with --held-out), or all of --data.
    Says which on stdout; warns when the images include ones the model trained on
    (the warning is returned too, '' if none); refuses data whose classes are not
    the model's."""
    if args.held_out or args.data is None:
        training = find_training_data(model, args.model, args.data, data_dir=args.data_dir,
                                      flag="--data PATH --held-out")  # fmt: skip
        dataset = held_out_dataset(model, args.model, training)
    else:  # a dataset name means its test split here: the images no model trained on
        dataset = load_data(args.data, split="test", data_dir=args.data_dir)
    mismatch = class_mismatch(model, args.model, dataset)
    if mismatch:
        raise DigitnetError(f"{mismatch}: scores would mean nothing; give data of its classes")
    print(f"data: {dataset.source}")
    overlap = ""
    if not (args.held_out or args.data is None):
        overlap = scored_overlap(model, args.model, dataset, args.data_dir)
        if overlap:
            print(overlap)
    return dataset, overlap


def command_predict(args: argparse.Namespace) -> int:
    args.inputs = [standard_input(text) for text in args.inputs]
    pictures = image_inputs(args.inputs)
    to_stdout = is_stdout(args.out or "")
    default = "submission.csv" if pictures is None else "predictions.csv"
    out = default if args.out is None else args.out  # '' is refused by check_output
    if not to_stdout:
        read = pictures if pictures is not None else data_files(args.inputs[0], args.data_dir)
        check_output(out, [args.model, *args.inputs, *read])
    tell = functools.partial(print, file=sys.stderr if to_stdout else sys.stdout)  # not in the CSV
    try:
        model = load_model(args.model)
    except DigitnetError as error:  # `predict test.csv model.npz`: the order, not the file
        swapped = any(str(given).lower().endswith(".npz") for given in args.inputs)
        hint = " (the model comes first: digitnet predict MODEL IMAGES...)" if swapped else ""
        raise DigitnetError(f"{error}{hint}") from None
    _check_inputs(model, args.model)
    if pictures is None:
        try:
            dataset = load_data(args.inputs[0], need_labels=False, split="test",
                                data_dir=args.data_dir)  # fmt: skip
        except DigitnetError as error:  # not a CSV after all? say what else predict takes
            given = args.inputs[0]  # a CSV piped in ('-') is known to be meant as a CSV
            named = given.lower().endswith(".csv") or is_named(given) or given == STDIN
            raise DigitnetError(str(error) if named else f"{error}; {ACCEPTED}") from None
        tell(f"data: {dataset.source}")
        if dataset.labels is not None:  # a train.csv: its labels are not predictions' input
            tell(f"note: its labels are left out (predict only guesses); to score the guesses: "
                 f"digitnet evaluate {shlex.quote(args.model)} --data "
                 f"{shlex.quote(args.inputs[0])}")  # fmt: skip
        mismatch = class_mismatch(model, args.model, dataset)
        if mismatch:
            # A submission's labels are numbers: say what they stand for where it is not
            # plain (a clothes model's 0 is a T-shirt; a digit model's 0 is the digit).
            first = model.class_names[0]
            meaning = "" if first == "0" else f", 0 meaning {first}"
            _warn(f"{mismatch}: its labels 0..9 are the model's own classes{meaning}")
        images, names = dataset.images, [str(row) for row in range(1, len(dataset) + 1)]
    else:
        read, skipped = _read_pictures(pictures, args.skip_unreadable)
        images = np.stack([pixels for _, pixels in read]).reshape(-1, PIXELS)
        names = [str(path) for path, _ in read]
        left_out = f"; {count(skipped, 'unreadable picture')} left out" if skipped else ""
        tell(f"images: {count(len(read), 'picture')} (each prepared as show --image prepares "
             f"one{left_out})")  # fmt: skip
    probabilities = model.predict_proba(images, progress=None)
    kaggle = pictures is None
    table = prediction_table(names, probabilities, model.class_names, kaggle=kaggle,
                             proba=args.proba)  # fmt: skip
    write_table(out, table)
    form = ("Kaggle format: ImageId,Label" if kaggle else "file,label") + (
        ", then each class's probability" if args.proba else "")  # fmt: skip
    tell(f"wrote {count(len(images), 'prediction')} to {'stdout' if to_stdout else out} ({form})")
    return 0


def _read_pictures(pictures: list[Path], skip: bool) -> tuple[list[tuple[Path, np.ndarray]], int]:
    """Each picture prepared for the network, and how many were left out.  One that cannot
    be read (corrupt, blank) stops the run, unless `skip`: then it is left out with a
    warning naming it, and the run stops only if none can be read."""
    from digitnet.data.image_file import read_digit_image

    read: list[tuple[Path, np.ndarray]] = []
    skip = skip and len(pictures) > 1  # one picture: its own error says it best
    for path in pictures:
        try:
            read.append((path, read_digit_image(path)))
        except DigitnetError as error:
            if not skip:
                hint = "; --skip-unreadable predicts the others" if len(pictures) > 1 else ""
                raise DigitnetError(f"{error}{hint}") from None
            _warn(f"left out: {error}")
    if not read:
        raise DigitnetError(f"none of the {count(len(pictures), 'picture')} could be read")
    return read, len(pictures) - len(read)


def command_explore(args: argparse.Namespace) -> int:
    from digitnet.pictures import write_data_pictures

    check_output_folder(args.out)  # a bad --out is refused before the data is read
    dataset = load_data(args.data, data_dir=args.data_dir)
    print(f"data: {dataset.source}")
    assert dataset.labels is not None
    counts = np.bincount(dataset.labels, minlength=10)
    named = zip(dataset.class_names, counts)
    print(f"images per {dataset.noun}: " + "  ".join(f"{name}:{n}" for name, n in named))
    for path in write_data_pictures(dataset, args.out):
        print(f"wrote {path}")
    return 0


def command_show(args: argparse.Namespace) -> int:
    from digitnet.data.image_file import read_digit_image
    from digitnet.pictures import prediction_figure, save_png, terminal_prediction

    if args.out:
        _not_stdout(args.out, "a PNG picture (the terminal drawing is what goes to stdout)")
        _named_as(args.out, ".png", "a PNG picture")
        check_output(args.out, [args.model, args.image, args.data,
                                *data_files(args.data, args.data_dir)])  # fmt: skip
    model = load_model(args.model)
    _check_inputs(model, args.model)
    label: int | None = None
    if args.image:
        pixels = read_digit_image(args.image)
        print(f"image: {args.image} (paper and lighting removed, the digit found, 20x20 box, "
              "centred by mass: docs/serve.md)")  # fmt: skip
    else:
        dataset = load_data(args.data, need_labels=False, split="test", data_dir=args.data_dir)
        index = int(np.random.default_rng().integers(len(dataset))) if args.random else args.index
        if not -len(dataset) <= index < len(dataset):
            raise DigitnetError(f"--index {index}: {dataset.source} has rows 0..{len(dataset) - 1} "
                                f"(or -{len(dataset)}..-1, counted from the end)")  # fmt: skip
        index %= len(dataset)
        pixels = dataset.images[index]
        label = None if dataset.labels is None else int(dataset.labels[index])
        print(f"data: {dataset.source}, row {index}")
        mismatch = class_mismatch(model, args.model, dataset)
        if mismatch:  # still worth a look: what does a clothes model make of a digit?
            _warn(f"{mismatch}: its guesses cannot be right or wrong")
            if label is not None:
                print(f"true {dataset.noun}: {dataset.class_names[label]}")
            label = None
    probabilities = model.predict_proba(pixels.reshape(1, -1))[0]
    print(terminal_prediction(pixels, probabilities, label, model.class_names))
    if args.out:
        save_png(prediction_figure(pixels, probabilities, label, model.class_names), args.out)
        print(f"wrote {args.out}")
    return 0


def command_report(args: argparse.Namespace) -> int:
    from digitnet.pictures.report import build_report

    check_output_folder(args.out)  # a bad --out is refused before any work
    model = load_model(args.model)
    _check_inputs(model, args.model)
    dataset, overlap = _scored_data(model, args)
    paths = build_report(model, dataset, args.out, progress=False if args.quiet else None,
                         warning=overlap)  # fmt: skip
    print(f"wrote {count(len(paths) - 1, 'picture')} and {paths[-1]} (open it in a browser)")
    return 0


def command_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from digitnet.interfaces.serve import ServedModel, create_app
        from digitnet.interfaces.serve_guard import server_config
        from digitnet.interfaces.serve_limits import ServeLimits
        from digitnet.interfaces.serve_origin import loopback_hosts
        from digitnet.interfaces.training_view import end_with, training_view_for
    except ImportError as error:
        raise DigitnetError(
            f"digitnet serve needs its extra ({error.name or 'a package'} is missing): "
            f"{_serve_extra()}"
        ) from None
    served = [ServedModel(name, model) for name, model in _models_to_serve(args.models)]
    listener = _listen(args.host, args.port)
    try:
        address = ipaddress.ip_address(args.host)
    except ValueError:  # a name: localhost, or this machine's name on the network
        address = ipaddress.ip_address("127.0.0.1" if args.host == "localhost" else "0.0.0.0")
    if not address.is_loopback:
        print(f"digitnet: warning: listening on {args.host}: anyone who can reach this "
              "machine can use the page and the API", file=sys.stderr)  # fmt: skip
    # A browser cannot open 0.0.0.0 everywhere: show this machine's own address for it.
    shown = "127.0.0.1" if address.is_unspecified else args.host
    shown = f"[{shown}]" if ":" in shown else shown
    beyond = None if address.is_loopback else args.host
    training = training_view_for(args.train_data, args.save_dir, beyond,
                                 args.allow_remote_training)  # fmt: skip
    names = ", ".join(model.name for model in served)
    print(f"serving {names} at http://{shown}:{args.port}/ (Ctrl-C stops)", flush=True)
    limits = ServeLimits()  # deadlines for slow clients, caps on work: docs/serve.md
    # On a loopback address only this machine's names reach it (DNS rebinding: serve_origin.py).
    hosts = loopback_hosts(args.port, args.host) if address.is_loopback else None
    app = create_app(served, limits=limits, training=training, hosts=hosts)
    config = server_config(app, limits)
    server = uvicorn.Server(config)
    end_with(server, training)  # Ctrl-C also ends the event streams and stops training
    try:
        with as_keywords():  # its training API's fields are `learning_rate`, not --flags
            server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then passes the Ctrl-C on
        pass
    print("stopped")
    return 0


def _serve_extra() -> str:
    """The command that installs serve's extra, one that works here: from the checkout
    this digitnet runs from or was installed from (pip records it), if there is one;
    `pip install "digitnet[serve]"` works only once digitnet is on an index."""
    checkout = _checkout()
    if checkout is not None:
        here = f'python -m pip install "{checkout}[serve]" (this checkout)'
    else:
        here = 'python -m pip install ".[serve]" in a checkout of digitnet'
    return here + ', or pip install "digitnet[serve]" once digitnet is on an index'


def _checkout() -> str | None:
    """The folder of the digitnet checkout in use: the source tree this file lies in
    (src/digitnet/interfaces/cli.py), or the folder `pip install .` was run on."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    places = [os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))]
    try:
        origin = json.loads(metadata.distribution("digitnet").read_text("direct_url.json") or "")
        if isinstance(origin, dict) and str(origin.get("url", "")).startswith("file://"):
            places.append(unquote(urlparse(origin["url"]).path))
    except (metadata.PackageNotFoundError, ValueError, OSError):
        pass  # not installed by pip, or it recorded nothing: the source tree alone
    for place in places:
        if os.path.isfile(os.path.join(place, "pyproject.toml")):
            return place
    return None


def _models_to_serve(paths: list[str]) -> list[tuple[str, Model]]:
    """(name, model) for each file, named by its file name; the shipped model if none."""
    if not paths:
        from digitnet.data.bundled import SERVED_MODEL, served_model_path

        with served_model_path() as path:
            return [(SERVED_MODEL, load_model(path))]
    from digitnet.interfaces.training_view import LIVE_MODEL

    chosen: list[tuple[str, Model]] = []
    for path in paths:
        model = load_model(path)
        _check_inputs(model, path)
        name = os.path.basename(path)
        taken = {existing for existing, _ in chosen} | {LIVE_MODEL}  # the page's live run
        while name in taken:  # the same file name from two folders
            name = f"{name} ({len(taken)})"
        chosen.append((name, model))
    return chosen


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or one clear error (port in use, no such address)."""
    try:
        family, _, _, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise DigitnetError(f"--host {host}: not an address to listen on ({error})") from None
    if os.name == "posix":  # lets a restart reuse the port at once; on Windows it would
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # share a busy one
    try:
        listener.bind(where)
    except OSError as error:
        listener.close()
        reason = "in use by another program" if error.errno == errno.EADDRINUSE else error.strerror
        raise DigitnetError(f"cannot listen on {host} port {port}: {reason}") from None
    return listener


def command_download(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        for name, spec in DATASETS.items():
            state = presence(spec, args.data_dir)
            print(f"{name:14} {state:16} {dataset_folder(spec, args.data_dir)}")
            print(f"{'':14} {spec.description}")
        return 0
    if args.name == "sample":  # a --data name too, so someone will try to fetch it
        source = load_data("sample").source
        print(f"sample: nothing to download: the {source} comes with digitnet")
        return 0
    spec = get_dataset_spec(args.name)
    if is_present(spec, args.data_dir):
        print(f"{spec.name}: checking the files in {dataset_folder(spec, args.data_dir)}")
    folder = download(spec, args.data_dir)
    print(f"{spec.name}: all {len(spec.files)} files present and verified in {folder}")
    return 0


def command_recipes(args: argparse.Namespace) -> int:
    if args.knobs:
        print(knob_table(KNOBS), end="")
        return 0
    if args.layers:
        from digitnet.network.kinds import layer_table

        print(layer_table(), end="")
        return 0
    for name, recipe in RECIPES.items():
        default = " (default)" if name == DEFAULT_RECIPE else ""
        print(f"{name}{default}: {recipe.summary}")
        print(f"    --layers {recipe.layers}")
        clothes = recipe.kind_settings("clothes")
        if clothes:
            print(f"    on clothes (Fashion-MNIST): {as_settings(clothes)}")
    return 0


def _saved_recipe(model: Model, path: str) -> Recipe:
    """The recipe a model was trained with, as its file has it (checked)."""
    if "learning_rate" not in model.recipe:  # a model made in Python, recipe and all
        raise DigitnetError(f"{path}: cannot resume: it records no recipe to go on with (a "
                            "model made in Python, not by digitnet train)")  # fmt: skip
    try:
        recipe = Recipe.from_dict(model.recipe)
    except DigitnetError as error:
        raise DigitnetError(f"{path}: cannot resume: {error}") from None
    if recipe.layers != model.network.layer_spec:
        raise DigitnetError(f"{path}: cannot resume: its recipe's layers {recipe.layers} are "
                            f"not its network's {model.network.layer_spec}")  # fmt: skip
    return recipe


def _trained_summary(model: Model, path: str) -> str:
    history, info = model.history, model.info
    status = "interrupted; saved the best model so far" if info["interrupted"] else "saved model"
    row = kept_row(model)  # the best epoch's, where training put those weights back
    if row is None:
        return f"{status} to {path} (stopped before the first measurement)"
    dev, train = history["dev_accuracy"][row], history["train_accuracy"][row]
    score = (
        f"dev accuracy {dev:.4f}" if dev == dev else f"train accuracy {train:.4f}"
    )  # nan: no dev
    return f"{status} to {path} ({score}, {info['training_seconds']:.1f}s of training)"


def _describe(model: Model) -> str:
    return f"recipe {model.recipe.get('name', '?')}, layers {model.network.layer_spec}"


def _check_inputs(model: Model, path: str) -> None:
    if model.network.inputs != PIXELS:
        raise DigitnetError(
            f"{path}: the model takes {model.network.inputs} inputs, not 28x28 = {PIXELS} pixels"
        )


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1 to 65535)")
    return value


def _note(line: str) -> None:
    print(f"digitnet: note: {line}", file=sys.stderr)


def _whole_number(text: str) -> int:
    """A whole number, worded as the knobs' errors are (its range is checked with them)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
