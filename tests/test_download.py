"""Downloads against a real HTTP server on 127.0.0.1 (no mocks of the HTTP client)."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from digitnet.data import dataset_table, load_data
from digitnet.data.dataset_table import DataFile, DatasetSpec
from digitnet.data.download import dataset_folder, download
from digitnet.errors import DownloadError
from digitnet.interfaces.cli import main
from test_idx import idx_bytes


@pytest.fixture(scope="module")
def tiny_files(sample):
    """The four files of a tiny MNIST-format dataset: 30 train and 10 test images."""
    images = sample.images.reshape(-1, 28, 28)
    return {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images[:30])),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(sample.labels[:30])),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images[30:40])),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(sample.labels[30:40])),
    }


@pytest.fixture(scope="module")
def server(tiny_files):
    """Routes: /good/<dataset>/<file>, /corrupt/..., /error/... (500), /drop/... (cut mid-file)."""
    requests_seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            requests_seen.append(self.path)
            route, _, rest = self.path.strip("/").partition("/")
            content = tiny_files.get(rest.rpartition("/")[2])
            if content is None or route == "error":
                self.send_error(404 if content is None else 500)
                return
            if route == "corrupt":
                content = content[:-1] + bytes([content[-1] ^ 0xFF])
            if route == "endless":  # no Content-Length, and it never stops on its own
                self.send_response(200)
                self.end_headers()
                block = bytes(1 << 16)
                for _ in range(20_000):  # 1.3 GB at most: bounded, as every test loop is
                    try:
                        self.wfile.write(block)
                    except OSError:
                        return  # the client hung up: what we want
                return
            if route == "drip":  # a byte every 0.3 s: never silent long enough to time out
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                for byte in content[:40]:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.3)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if route == "drop":
                self.wfile.write(content[: len(content) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(content)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.seen = requests_seen
    yield httpd
    httpd.shutdown()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


def tiny_spec(tiny_files, *mirrors: str) -> DatasetSpec:
    files = [DataFile(name, len(data), hashlib.sha256(data).hexdigest())
             for name, data in tiny_files.items()]  # fmt: skip
    return DatasetSpec("tiny", "a tiny test dataset", "handwriting", tuple("0123456789"), mirrors,
                       *files)  # fmt: skip


@pytest.fixture
def no_mirror_override(monkeypatch):
    monkeypatch.delenv("DIGITNET_MIRROR", raising=False)


def test_download_success(server, tiny_files, private_data_dir, no_mirror_override, monkeypatch):
    spec = tiny_spec(tiny_files, f"{server.base}/good/tiny/")
    folder = download(spec, progress=False)
    assert folder == private_data_dir / "tiny"
    for name, data in tiny_files.items():
        assert (folder / name).read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == sorted(tiny_files)  # no temp files
    monkeypatch.setitem(dataset_table.DATASETS, "tiny", spec)
    train, test = load_data("tiny"), load_data("tiny:test")
    assert len(train) == 30 and len(test) == 10 and "tiny" in train.source


def test_checksum_mismatch_deletes_and_says_so(server, tiny_files, private_data_dir,
                                               no_mirror_override):  # fmt: skip
    spec = tiny_spec(tiny_files, f"{server.base}/corrupt/tiny/")
    with pytest.raises(DownloadError) as error:
        download(spec, progress=False)
    assert "wrong SHA-256 (deleted)" in str(error.value)
    folder = private_data_dir / "tiny"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_server_error(server, tiny_files, no_mirror_override):
    spec = tiny_spec(tiny_files, f"{server.base}/error/tiny/")
    with pytest.raises(DownloadError, match="answered 500"):
        download(spec, progress=False)


def test_connection_dropped_mid_file_then_recovery(server, tiny_files, private_data_dir,
                                                   no_mirror_override):  # fmt: skip
    with pytest.raises(DownloadError, match="dropped mid-file"):
        download(tiny_spec(tiny_files, f"{server.base}/drop/tiny/"), progress=False)
    folder = private_data_dir / "tiny"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-written
    download(tiny_spec(tiny_files, f"{server.base}/good/tiny/"), progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(tiny_files)


def test_a_partial_file_left_behind_is_replaced(server, tiny_files, private_data_dir,
                                                no_mirror_override):  # fmt: skip
    folder = private_data_dir / "tiny"
    folder.mkdir()
    name = "train-images-idx3-ubyte.gz"
    (folder / name).write_bytes(tiny_files[name][:100])  # as if killed mid-copy
    download(tiny_spec(tiny_files, f"{server.base}/good/tiny/"), progress=False)
    assert (folder / name).read_bytes() == tiny_files[name]


def test_first_mirror_down_second_up(server, tiny_files, no_mirror_override):
    spec = tiny_spec(tiny_files, f"http://127.0.0.1:{_closed_port()}/", f"{server.base}/good/tiny/")
    folder = download(spec, progress=False)
    assert all((folder / name).is_file() for name in tiny_files)


def test_mirror_variable_replaces_the_official_mirrors(server, tiny_files, monkeypatch):
    monkeypatch.setenv("DIGITNET_MIRROR", f"{server.base}/good")
    spec = tiny_spec(tiny_files, f"http://127.0.0.1:{_closed_port()}/")
    before = len(server.seen)
    download(spec, progress=False)
    assert server.seen[before:] == [f"/good/tiny/{name}" for name in tiny_files]


def test_no_network_is_one_clear_line_and_train_does_not_stand_in(tmp_path, capsys,
                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setenv("DIGITNET_MIRROR", f"http://127.0.0.1:{_closed_port()}")
    assert main(["download", "mnist"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("digitnet: error: mnist: could not download train-images-idx3-ubyte.gz")
    assert "could not connect" in error and "put its 4 files by hand in" in error
    assert ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz (or set DIGITNET_MIRROR") in error  # fmt: skip
    assert main(["evaluate", str(_a_model(tmp_path)), "--data", "mnist:test"]) == 2
    error = capsys.readouterr().err.strip()  # the test split alone: its 2 files, not 4
    assert "put its 2 test files by hand in" in error
    assert "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (or set" in error
    assert len(error.splitlines()) == 1
    out = tmp_path / "m.npz"
    code = main(["train", "--data", "mnist", "--epochs", "1", "--out", str(out)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()  # no model trained on other data than asked
    assert "could not connect" in error and "--data sample" in error
    assert len(error.splitlines()) == 1


def _a_model(folder) -> object:
    path = folder / "sample-model.npz"
    assert main(["train", "--epochs", "1", "--out", str(path)]) == 0
    return path


def test_download_command_and_list(server, tiny_files, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_MIRROR", f"{server.base}/good")
    monkeypatch.setitem(dataset_table.DATASETS, "tiny", tiny_spec(tiny_files, "http://unused/"))
    assert main(["download", "tiny"]) == 0
    assert "tiny: all 4 files present and verified" in capsys.readouterr().out
    assert main(["download", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "present" in listing and "mnist" in listing
    folder = dataset_folder(dataset_table.DATASETS["tiny"])
    (folder / "train-images-idx3-ubyte.gz").unlink()
    (folder / "train-labels-idx1-ubyte.gz").unlink()  # as `--data tiny:test` leaves it
    main(["download", "--list"])
    assert re.search(r"^tiny +test split only ", capsys.readouterr().out, re.MULTILINE)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    main(["download", "--list"])
    assert re.search(r"^tiny +1 of 4 files ", capsys.readouterr().out, re.MULTILINE)


def test_catalog_has_mirrors_sizes_and_sha256_for_every_file():
    assert {"mnist", "fashion-mnist", "kmnist"} <= set(dataset_table.DATASETS)
    for spec in dataset_table.DATASETS.values():
        assert spec.mirrors
        for file in spec.files:
            assert file.size > 0 and len(file.sha256) == 64
            int(file.sha256, 16)


def test_system_installed_fashion_mnist_is_used_without_download(monkeypatch, tmp_path, tiny_files):
    for name, data in tiny_files.items():
        (tmp_path / name).write_bytes(data)
    spec = dataset_table.FASHION_MNIST
    assert spec.system_folders == ("/usr/share/datasets/fashion-mnist",)  # Debian's package
    patched = DatasetSpec(spec.name, spec.description, spec.kind, spec.classes, spec.mirrors,
                          *spec.files, system_folders=(str(tmp_path),))  # fmt: skip
    monkeypatch.setitem(dataset_table.DATASETS, "fashion-mnist", patched)
    train = load_data("fashion-mnist")  # the mirrors are unreachable in tests
    assert len(train) == 30 and str(tmp_path) in train.source
    assert len(load_data("fashion-mnist:test")) == 10


def _no_files_left(folder):
    assert not folder.exists() or list(folder.iterdir()) == []


def test_an_endless_body_stops_at_the_catalogued_size(server, tiny_files, private_data_dir,
                                                      no_mirror_override):  # fmt: skip
    spec = tiny_spec(tiny_files, f"{server.base}/endless/tiny/")
    with pytest.raises(DownloadError, match="sent more than the .* bytes the file has"):
        download(spec, progress=False)
    _no_files_left(private_data_dir / "tiny")


def test_a_dripping_mirror_meets_the_overall_deadline(server, tiny_files, private_data_dir,
                                                      no_mirror_override, monkeypatch):  # fmt: skip
    from digitnet.data import download as downloads

    monkeypatch.setattr(downloads, "DEADLINE_SECONDS", 1)
    started = time.monotonic()
    spec = tiny_spec(tiny_files, f"{server.base}/drip/tiny/")
    with pytest.raises(DownloadError, match="was too slow"):
        download(spec, progress=False)
    assert time.monotonic() - started < 10
    _no_files_left(private_data_dir / "tiny")


def test_downloaded_files_get_the_umask_permissions(server, tiny_files, private_data_dir,
                                                    no_mirror_override):  # fmt: skip
    old = os.umask(0o022)
    try:
        folder = download(tiny_spec(tiny_files, f"{server.base}/good/tiny/"), progress=False)
    finally:
        os.umask(old)
    for name in tiny_files:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644


@pytest.mark.parametrize("mirror", ["not a url", "file:///etc", "ftp://example.org/x", "http://"])
def test_a_malformed_mirror_variable_is_one_line(mirror, monkeypatch, capsys):
    monkeypatch.setenv("DIGITNET_MIRROR", mirror)
    assert main(["download", "mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert "must be an http:// or https:// URL" in err and len(err.splitlines()) == 1


def test_the_test_split_downloads_only_its_own_files(server, tiny_files, private_data_dir,
                                                    no_mirror_override, monkeypatch):  # fmt: skip
    spec = tiny_spec(tiny_files, f"{server.base}/good/tiny/")
    monkeypatch.setitem(dataset_table.DATASETS, "tiny", spec)
    before = len(server.seen)
    assert len(load_data("tiny:test")) == 10
    fetched = sorted(path.rpartition("/")[2] for path in server.seen[before:])
    assert fetched == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_a_download_that_cannot_be_written_names_the_file_and_folder(
    server, tiny_files, private_data_dir, no_mirror_override, monkeypatch
):
    """A full disk printed only 'No space left on device', naming nothing."""
    import errno

    import pooch

    def full(url, output_file, pooch=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pooch, "retrieve", lambda *args, **kwargs: full(None, None))
    spec = tiny_spec(tiny_files, f"{server.base}/good/tiny/")
    with pytest.raises(DownloadError) as error:
        download(spec, progress=False)
    message = str(error.value)
    assert message.startswith("tiny: cannot write ") and "No space left on device" in message
    assert str(private_data_dir / "tiny") in message
