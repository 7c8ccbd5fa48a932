"""`digitnet serve`: the JSON API (every endpoint and error path), the command's own
errors, and a real server started and stopped.  The browser test is test_page.py."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from photo_fakes import DRAWINGS, clean_scan, drawn, grey_paper

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

import digitnet  # noqa: E402
from digitnet.data.bundled import served_model_path  # noqa: E402
from digitnet.interfaces.cli import main  # noqa: E402
from digitnet.interfaces.serve import ServedModel, create_app  # noqa: E402


@pytest.fixture(scope="module")
def mlp():
    return digitnet.train("fast", data="sample", epochs=5, log=None, progress=False)


@pytest.fixture(scope="module")
def cnn():
    return digitnet.train("cnn", data="sample", epochs=1, layers="conv4k5,pool2,relu,dense10",
                          log=None, progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def client(mlp, cnn):
    app = create_app([ServedModel("mlp.npz", mlp), ServedModel("cnn.npz", cnn)], 200_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _error(response, status, words):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"]


def test_the_page_and_its_files_are_served_with_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, kind in (("page.js", "javascript"), ("page.css", "css")):
        assert f"/page/{name}" in page.text
        response = client.get(f"/page/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert "http://" not in response.text and "https://" not in response.text
    assert "http" not in page.text.replace('lang="en"', "")  # no CDN, no external link
    _error(client.get("/page/secret.py"), 404, "no page file")
    _error(client.get("/page/..%2F..%2Fserve.py"), 404, "")  # no way out of the page folder


def test_a_model_never_measured_or_resumed_is_listed_too(sample):
    """dev_size=0 leaves NaN accuracies (JSON has no NaN: null); a resumed model's best
    epoch is numbered on from the first run's."""
    first = digitnet.train("fast", data=sample, epochs=2, dev_size=0, log=None, progress=False)
    resumed = digitnet.recipes.run(
        digitnet.get_recipe("fast").with_overrides(epochs=2, dev_size=500), sample,
        start_from=first, log=None, progress=False,
    )  # fmt: skip
    assert resumed.history["epoch"] == [1, 2, 3, 4] and resumed.info["best_epoch"] in (3, 4)
    app = create_app([ServedModel("first.npz", first), ServedModel("resumed.npz", resumed)])
    with TestClient(app) as client:
        listed = client.get("/api/models")
    assert listed.status_code == 200
    first_row, resumed_row = listed.json()["models"]
    assert first_row["dev_accuracy"] is None
    assert resumed_row["dev_accuracy"] == pytest.approx(resumed.history["dev_accuracy"][-1])


def test_models_are_listed_with_recipe_and_accuracy(client, mlp):
    models = client.get("/api/models").json()["models"]
    assert [m["name"] for m in models] == ["mlp.npz", "cnn.npz"]
    assert models[0]["recipe"] == "fast" and models[0]["layers"] == mlp.network.layer_spec
    assert models[0]["dev_accuracy"] == pytest.approx(mlp.history["dev_accuracy"][-1])
    assert models[0]["classes"] == list("0123456789")


def test_a_picture_is_read_as_show_image_reads_it(client, sample, mlp):
    picture = clean_scan(sample.images[7])
    answer = client.post("/api/predict", content=picture,
                         headers={"content-type": "image/png"}).json()  # fmt: skip
    expected = digitnet.read_digit_image(picture)
    assert answer["input"] == expected.tolist()
    probabilities = mlp.predict_proba(expected[None])[0]
    assert answer["prediction"] == int(probabilities.argmax()) == int(answer["label"])
    np.testing.assert_allclose(answer["probabilities"], probabilities, atol=1e-5)
    assert answer["model"] == "mlp.npz"
    [units] = answer["inside"]
    assert units["kind"] == "units" and units["shape"] == [256] and max(units["values"]) == 1


def test_json_pixels_are_read_as_they_are(client, sample, mlp):
    pixels = sample.images[3]
    flat = client.post("/api/predict", json={"pixels": pixels.tolist()}).json()
    square = client.post("/api/predict?model=mlp.npz",
                         json={"pixels": pixels.reshape(28, 28).tolist()}).json()  # fmt: skip
    assert flat["input"] == pixels.tolist() and square["probabilities"] == flat["probabilities"]
    assert flat["prediction"] == int(mlp.predict(pixels[None])[0])


def test_a_cnn_shows_its_feature_maps(client):
    answer = client.post("/api/predict?model=cnn.npz", content=drawn(DRAWINGS[7], 20),
                         headers={"content-type": "image/png"}).json()  # fmt: skip
    assert answer["model"] == "cnn.npz"
    [maps] = answer["inside"]
    assert maps["kind"] == "maps" and maps["shape"] == [12, 12, 4] and len(maps["values"]) == 4
    assert all(len(plane) == 144 and 0 <= min(plane) and max(plane) <= 255
               for plane in maps["values"])  # fmt: skip


def test_the_model_can_be_chosen_in_the_json(client):
    answer = client.post("/api/predict", json={"pixels": [9] * 784, "model": "cnn.npz"})
    assert answer.json()["model"] == "cnn.npz"


@pytest.mark.parametrize(
    ("send", "status", "words"),
    [
        (dict(content=b"{not json", headers={"content-type": "application/json"}), 400,
         "not valid JSON"),
        (dict(content=b"\xff\xfe", headers={"content-type": "application/json"}), 400,
         "not valid JSON"),
        (dict(content=b"[" * 50_000, headers={"content-type": "application/json"}), 400,
         "not valid JSON"),
        (dict(content=b"[" * 70_000, headers={"content-type": "application/json"}), 413,
         "over 65,536 bytes"),
        (dict(json={"pixels": [10**400] + [0] * 783}), 422, "must lie in 0..255"),
        (dict(json={"pixels": [0] * 784}), 422, "all 0: no digit"),
        (dict(files={"file": ("seven.png", b"\x89PNG")}), 415, "a form upload is not read"),
        (dict(json=[1, 2, 3]), 400, "expected a JSON object"),
        (dict(json={"image": "x"}), 400, 'expected "pixels"'),
        (dict(json={"pixels": [1, 2, 3]}), 422, "784 numbers (28 rows of 28); it holds 3"),
        (dict(json={"pixels": ["a"] * 784}), 422, 'numbers 0..255 (or 0..1); it holds "a"'),
        (dict(json={"pixels": [[1, 2], 3]}), 422, "784 numbers"),
        (dict(json={"pixels": [True] * 784}), 422, "numbers 0..255 (or 0..1); it holds true"),
        (dict(json={"pixels": [None] + [1] * 783}), 422, "(or 0..1); it holds null"),
        (dict(json={"pixels": [300] * 784}), 422, "must lie in 0..255"),
        (dict(json={"pixels": [[0] * 27] * 27 + [[0] * 55]}), 422, "28 rows of 28 numbers"),
        (dict(json={"pixels": [0.5, 1.5] * 392}), 422, "mix fractions with values above 1"),
        (dict(json={"pixels": [1] * 784, "model": 3}), 400, "a model's name"),
        (dict(json={"pixels": [1] * 784, "model": "nope"}), 404, "no model 'nope'"),
        (dict(content=b"hello", headers={"content-type": "text/plain"}), 415,
         "send the picture's own bytes"),
        (dict(content=b"", headers={"content-type": "image/png"}), 400, "empty"),
        (dict(content=b"not a picture", headers={"content-type": "image/png"}), 422,
         "the picture: not a picture this can read"),
        (dict(content=b"\x89PNG\r\n\x1a\n" + b"\0" * 50, headers={"content-type": "image/png"}),
         422, "the picture: not a"),
    ],
)  # fmt: skip
def test_a_bad_request_is_a_4xx_with_a_json_error(client, send, status, words):
    _error(client.post("/api/predict", **send), status, words)


def test_a_blank_drawing_and_a_bomb_are_4xx(client):
    blank = io.BytesIO()
    Image.new("L", (280, 280), 255).save(blank, "PNG")
    _error(client.post("/api/predict", content=blank.getvalue(),
                       headers={"content-type": "image/png"}), 422, "no digit found")  # fmt: skip
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000), 1).save(bomb, "PNG")  # 81 megapixels in a few KB
    png = {"content-type": "image/png"}
    sent = client.post("/api/predict", content=bomb.getvalue(), headers=png)
    _error(sent, 422, "decompression bomb")


def test_a_body_over_the_cap_is_413_declared_or_streamed(client):
    big = b"\0" * 300_000
    _error(client.post("/api/predict", content=big, headers={"content-type": "image/png"}),
           413, "over 200,000 bytes")  # fmt: skip

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(30):
            yield b"\0" * 10_000

    _error(client.post("/api/predict", content=chunks(), headers={"content-type": "image/png"}),
           413, "over 200,000 bytes")  # fmt: skip


def test_wrong_methods_and_paths_are_json_too(client):
    _error(client.get("/api/predict"), 405, "Method Not Allowed")
    _error(client.delete("/api/models"), 405, "Method Not Allowed")
    _error(client.get("/nowhere"), 404, "Not Found")


def test_the_shipped_model_reads_drawings_and_photos(sample):
    with served_model_path() as path:
        model = digitnet.load_model(path)
    assert path.stat().st_size < 400_000
    assert model.recipe["name"] == "cnn" and max(model.history["dev_accuracy"]) >= 0.99
    for digit, strokes in DRAWINGS.items():
        for width in (4, 20, 40):
            assert model.predict(digitnet.read_digit_image(drawn(strokes, width)))[0] == digit
    photos = [digitnet.read_digit_image(grey_paper(image)) for image in sample.images[:200]]
    assert np.mean(model.predict(np.stack(photos)) == sample.labels[:200]) >= 0.97


# --- the command --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_error_line(capsys, code):
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digitnet: error: "), err
    return err[0]


def test_a_model_that_cannot_be_loaded_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    line = _one_error_line(capsys, main(["serve", str(bad), "--port", str(_free_port())]))
    assert str(bad) in line and "not a digitnet model" in line


def test_a_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_error_line(capsys, main(["serve", "--port", str(port)]))
    assert f"port {port}: in use by another program" in line


def test_a_bad_port_or_host_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])
    assert "not a port" in capsys.readouterr().err
    line = _one_error_line(capsys, main(["serve", "--host", "no.such.host.invalid"]))
    assert "--host no.such.host.invalid" in line


def test_a_missing_extra_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now fails
    line = _one_error_line(capsys, main(["serve"]))
    assert 'pip install "digitnet[serve]"' in line and "(uvicorn is missing)" in line


def test_listening_beyond_this_machine_warns(monkeypatch, capsys):
    """--host 0.0.0.0 is allowed, with a warning; the test binds nothing but loopback."""
    import uvicorn

    from digitnet.interfaces import cli

    asked = []

    def listen_on_loopback(host, port):
        asked.append(host)
        return cli_listen("127.0.0.1", 0)

    cli_listen = cli._listen
    monkeypatch.setattr(cli, "_listen", listen_on_loopback)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: sockets[0].close())
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    captured = capsys.readouterr()
    assert asked == ["0.0.0.0"]
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in captured.err
    assert "at http://127.0.0.1:8000/" in captured.out


def test_the_server_answers_and_ctrl_c_stops_it(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet.interfaces.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        first = server.stdout.readline()
        assert f"at http://127.0.0.1:{port}/" in first, first + server.stderr.read()
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models") as reply:
                    models = json.load(reply)["models"]
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert models[0]["name"] == "digits-cnn.npz"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/predict", data=drawn(DRAWINGS[4], 20),
            headers={"Content-Type": "image/png"},
        )  # fmt: skip
        with urllib.request.urlopen(request) as reply:
            assert json.load(reply)["prediction"] == 4
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0 and out.strip().endswith("stopped")
    assert "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_concurrent_requests_each_get_their_own_answer(client, sample, mlp, cnn):
    """Requests run in worker threads; the layers keep buffers for their backward pass,
    so without the model's lock one request's forward pass overwrote another's."""
    from concurrent.futures import ThreadPoolExecutor

    rows = sample.images[:300]
    expected = {"mlp.npz": mlp.predict(rows).tolist(), "cnn.npz": cnn.predict(rows).tolist()}

    def ask(job):
        name, row = job
        sent = {"pixels": row.tolist(), "model": name}
        return client.post("/api/predict", json=sent).json()["prediction"]

    with ThreadPoolExecutor(16) as pool:
        for name, predictions in expected.items():
            assert list(pool.map(ask, [(name, row) for row in rows])) == predictions


def test_a_served_file_named_like_the_live_run_does_not_hide_it(tmp_path):
    """The page's live model is 'in training': a file of that name is renamed."""
    from digitnet.interfaces.cli import _models_to_serve
    from digitnet.interfaces.training_view import LIVE_MODEL

    path = tmp_path / LIVE_MODEL
    with served_model_path() as shipped:
        path.write_bytes(shipped.read_bytes())
    names = [name for name, _ in _models_to_serve([str(path)])]
    assert names == [f"{LIVE_MODEL} (1)"]


def test_a_model_named_in_bytes_that_are_not_utf8_is_listed(mlp):
    """A model file called b'm\\xfe.npz' (held as 'm\\udcfe.npz') made /api/models answer
    500: UTF-8 cannot carry it.  The JSON escapes it, and the name reads back."""
    import os

    name = os.fsdecode(b"m\xfe.npz")
    app = create_app([ServedModel(name, mlp)])
    with TestClient(app, raise_server_exceptions=False) as client:
        listed = client.get("/api/models")
    assert listed.status_code == 200, listed.text
    assert b"m\\udcfe.npz" in listed.content
    assert [model["name"] for model in listed.json()["models"]] == [name]
