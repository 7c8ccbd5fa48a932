"""The `digitnet` command: train, evaluate, predict, recipes.

Every user-caused problem ends in one line on stderr and exit status 2; Ctrl-C
ends with status 130, after saving what training had reached.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import functools
import io
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import IO

import numpy as np

from digitnet.atomic import check_output, output_folder
from digitnet.data import load_data, write_submission
from digitnet.data.dataset import PIXELS
from digitnet.data.dataset_table import DATASETS, get_dataset_spec
from digitnet.data.download import dataset_folder, download, is_present
from digitnet.errors import DigitnetError, DownloadError
from digitnet.interfaces.evaluation_text import evaluation_report
from digitnet.metrics import confusion_matrix
from digitnet.model import Model, kept_row
from digitnet.model_file import load_model, save_model
from digitnet.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, held_out_rows, run
from digitnet.recipes.knobs import add_flags, knob_table
from digitnet.recipes.recipe import KNOBS
from digitnet.speed import using_threads

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


class Terminated(BaseException):
    """SIGTERM outside training: unwinds like Ctrl-C, so temporary files are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class _ReaderMayLeave(io.TextIOBase):
    """stdout that survives its reader going away (`digitnet train ... | head -2`).

    The first write to a closed pipe raises BrokenPipeError, which would end the
    command before it saved its work.  Instead the rest of the output is dropped
    and the command carries on: the model or submission is still written.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream, self.closed_by_reader = stream, False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                self.stream.write(text)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # a bare `digitnet`: what can it do?
        parser.print_help()
        return 0
    args = _parse(parser, argv)
    original_stdout = sys.stdout
    try:
        sys.stdout.fileno()
        sys.stdout = _ReaderMayLeave(sys.stdout)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass  # not a real file (captured by a test or a notebook): no pipe to lose
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        with using_threads(args.threads, say=_note):
            return args.command(args)
    except DigitnetError as error:
        print(f"digitnet: error: {printable(str(error))}", file=sys.stderr)
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
    parser = argparse.ArgumentParser(
        prog="digitnet",
        description="A handwritten-digit neural network in plain numpy.",
        formatter_class=_DefaultsShown,
    )
    from digitnet import __version__

    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    # Every command's parser shows its defaults too.
    command_parser = functools.partial(argparse.ArgumentParser, formatter_class=_DefaultsShown)
    commands = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=command_parser
    )
    threads = argparse.ArgumentParser(add_help=False)
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
    train.add_argument("--data", default="sample", help=data_help)
    train.add_argument("--recipe", default=DEFAULT_RECIPE, help=", ".join(RECIPES))
    train.add_argument("--seed", type=int, default=0, help="shuffle, split and init seed")
    train.add_argument(
        "--resume", metavar="MODEL", help="continue training this model (its recipe, + overrides)"
    )
    train.add_argument("--out", default="model.npz", help="model file to write (.npz)")
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

    predict = commands.add_parser("predict", parents=[threads], help="write a Kaggle submission")
    predict.add_argument("model", help="a model file written by 'digitnet train'")
    predict.add_argument("data", help=f"images to label: Kaggle test.csv, or {data_help}")
    predict.add_argument("--out", default="submission.csv", help="CSV to write")
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
    report.add_argument("--data", default="sample", help=f"labelled {data_help}")
    report.add_argument("--out", default="report", help="folder to write")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    report.set_defaults(command=command_report)

    serve = commands.add_parser(
        "serve",
        parents=[threads],
        help="a web page to draw digits on, read live by the network, and a JSON API",
        description="Serve the drawing page and its JSON API (docs/serve.md). Needs the extra: "
        'pip install "digitnet[serve]" (".[serve]" in a checkout).',
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
    recipes.add_argument(
        "--knobs", action="store_true", help="list every knob instead (a Markdown table)"
    )
    recipes.set_defaults(command=command_recipes, threads=None)
    for command in commands.choices.values():  # so that errors speak of the command used
        command.set_defaults(command_parser=command)
    return parser


def command_train(args: argparse.Namespace) -> int:
    check_output(args.out, [args.data, args.resume])  # before an hour of training, not after
    if args.plots:
        output_folder(args.plots)
    start = load_model(args.resume) if args.resume else None
    base = _saved_recipe(start, args.resume) if start is not None else get_recipe(args.recipe)
    recipe = base.with_overrides(**{each.name: getattr(args, each.name) for each in KNOBS})
    say = (lambda _line: None) if args.quiet else print
    try:
        dataset = load_data(
            args.data, data_dir=args.data_dir, progress=False if args.quiet else None
        )
    except DownloadError as error:  # no silent stand-in: a script must be able to tell
        raise DownloadError(f"{error}; or train on the bundled sample: --data sample") from None
    say(f"data: {dataset.source}")
    say(f"recipe: {recipe.name}: {recipe.settings()}")
    if start is not None:
        say(f"resuming: {args.resume} (after epoch {start.history['epoch'][-1]}; the "
            "optimizer's momentum starts afresh)")  # fmt: skip
    seed = start.info.get("seed", args.seed) if start is not None else args.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DigitnetError(f"{args.resume}: its seed {seed!r} is not a whole number >= 0")
    progress = None if not args.quiet else False
    model = run(recipe, dataset, seed, log=say, progress=progress, start_from=start)
    save_model(model, args.out)
    print(_trained_summary(model, args.out))
    if args.plots:
        from digitnet.pictures import save_training_curves

        path = save_training_curves(model, args.plots)
        say(f"wrote {path}")
    if not model.info["interrupted"]:
        return 0
    return EXIT_TERMINATED if model.info.get("stop_signal") == signal.SIGTERM else EXIT_INTERRUPTED


def command_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    _check_inputs(model, args.model)
    held_out = args.held_out or args.data is None
    if args.data is None and not isinstance(model.info.get("data_spec"), str):
        raise DigitnetError(
            f"{args.model}: does not record the data it was trained on; give --data"
        )
    spec = args.data if args.data is not None else model.info["data_spec"]
    # Held-out rows come from the training split; otherwise a name means its test split.
    dataset = load_data(spec, split="train" if held_out else "test", data_dir=args.data_dir)
    assert dataset.labels is not None
    images, labels = dataset.images, dataset.labels
    if held_out:
        rows = held_out_rows(model, dataset)
        if len(rows) == 0:
            raise DigitnetError(f"{args.model}: held out no rows (dev size 0); give --data")
        images, labels = images[rows], labels[rows]
        print(f"data: {dataset.source}: the {len(rows)} rows the model held out (its dev set)")
    else:
        print(f"data: {dataset.source}")
    print(f"model: {args.model} ({_describe(model)})")
    if not held_out and model.info.get("data_fingerprint") == dataset.fingerprint():
        print("note: the model was trained on this data; these figures are optimistic "
              "(--held-out: only the rows it did not train on)")  # fmt: skip
    predicted = model.predict(images, progress=None)
    print(evaluation_report(confusion_matrix(predicted, labels)))
    return 0


def command_predict(args: argparse.Namespace) -> int:
    check_output(args.out, [args.model, args.data])
    model = load_model(args.model)
    dataset = load_data(args.data, need_labels=False, split="test", data_dir=args.data_dir)
    _check_inputs(model, args.model)
    print(f"data: {dataset.source}")
    write_submission(args.out, model.predict(dataset.images, progress=None))
    print(f"wrote {len(dataset)} predictions to {args.out} (Kaggle format: ImageId,Label)")
    return 0


def command_explore(args: argparse.Namespace) -> int:
    from digitnet.pictures import write_data_pictures

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
        check_output(args.out, [args.model, args.image, args.data])
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
            raise DigitnetError(f"--index {index}: {dataset.source} has rows 0..{len(dataset) - 1}")
        index %= len(dataset)
        pixels = dataset.images[index]
        label = None if dataset.labels is None else int(dataset.labels[index])
        print(f"data: {dataset.source}, row {index}")
    probabilities = model.predict_proba(pixels.reshape(1, -1))[0]
    print(terminal_prediction(pixels, probabilities, label, model.class_names))
    if args.out:
        save_png(prediction_figure(pixels, probabilities, label, model.class_names), args.out)
        print(f"wrote {args.out}")
    return 0


def command_report(args: argparse.Namespace) -> int:
    from digitnet.pictures.report import build_report

    model = load_model(args.model)
    _check_inputs(model, args.model)
    dataset = load_data(args.data, split="test", data_dir=args.data_dir)
    print(f"data: {dataset.source}")
    paths = build_report(model, dataset, args.out, progress=False if args.quiet else None)
    print(f"wrote {len(paths) - 1} pictures and {paths[-1]} (open it in a browser)")
    return 0


def command_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from digitnet.interfaces.serve import ServedModel, create_app
        from digitnet.interfaces.training_view import end_with, training_view_for
    except ImportError as error:
        raise DigitnetError(
            f"digitnet serve needs its extra ({error.name or 'a package'} is missing): "
            'pip install "digitnet[serve]", or ".[serve]" in a checkout'
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
    config = uvicorn.Config(create_app(served, training=training), log_level="warning",
                            access_log=False, limit_concurrency=64)  # fmt: skip
    server = uvicorn.Server(config)
    end_with(server, training)  # Ctrl-C also ends the event streams and stops training
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then passes the Ctrl-C on
        pass
    print("stopped")
    return 0


def _models_to_serve(paths: list[str]) -> list[tuple[str, Model]]:
    """(name, model) for each file, named by its file name; the shipped model if none."""
    if not paths:
        from digitnet.data.bundled import SERVED_MODEL, served_model_path

        with served_model_path() as path:
            return [(SERVED_MODEL, load_model(path))]
    chosen: list[tuple[str, Model]] = []
    for path in paths:
        model = load_model(path)
        _check_inputs(model, path)
        name = os.path.basename(path)
        taken = {existing for existing, _ in chosen}
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
            state = "present" if is_present(spec, args.data_dir) else "not downloaded"
            print(f"{name:14} {state:15} {dataset_folder(spec, args.data_dir)}")
            print(f"{'':14} {spec.description}")
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
    for name, recipe in RECIPES.items():
        default = " (default)" if name == DEFAULT_RECIPE else ""
        print(f"{name}{default}: {recipe.summary}")
        print(f"    --layers {recipe.layers}")
    return 0


def _saved_recipe(model: Model, path: str) -> Recipe:
    """The recipe a model was trained with, as its file has it (checked)."""
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
