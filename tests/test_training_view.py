"""`digitnet serve`'s training view: its API (start, the event stream, pause, stop,
save, the caps, one run at a time, training off beyond this machine), the trainer's
watch hook it rests on, and Ctrl-C on a real server in the middle of a run.
The page itself, in a browser, is test_training_page.py."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

import digitnet  # noqa: E402
from conftest import write_train_csv  # noqa: E402
from digitnet.data.dataset import Dataset  # noqa: E402
from digitnet.interfaces import live_training  # noqa: E402
from digitnet.interfaces.serve import ServedModel, create_app  # noqa: E402
from digitnet.interfaces.training_view import (  # noqa: E402
    LIVE_MODEL,
    TrainingView,
    training_view_for,
)
from digitnet.training import TrainingConfig, train  # noqa: E402

SMALL = {"recipe": "fast", "layers": "dense32,relu,dense10", "epochs": 2, "batch_size": 64}
LONG = {**SMALL, "epochs": 50, "batch_size": 16}  # 12,500 steps: still going when asked


@pytest.fixture(scope="module")
def served():
    model = digitnet.train("fast", data="sample", epochs=1, layers="dense16,relu,dense10",
                           log=None, progress=False)  # fmt: skip
    return ServedModel("small.npz", model)


@pytest.fixture
def view(sample, tmp_path):
    return TrainingView({"sample": sample}, save_dir=tmp_path)


@pytest.fixture
def client(served, view):
    with TestClient(create_app([served], training=view), raise_server_exceptions=False) as client:
        yield client


def _wait(client, done, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get("/api/training").json()["state"]
        if done(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s; the state is {state['status']}: {state['message']}")


def _refused(response, status, words, field=None):
    assert response.status_code == status, response.text
    answer = response.json()
    assert words in answer["error"], answer
    assert answer["field"] == field


def test_a_run_starts_is_measured_every_epoch_and_saved_into_the_model_list(
    client, tmp_path, sample
):
    started = client.post("/api/training", json=SMALL)
    assert started.status_code == 202 and started.json()["status"] == "running"
    assert started.json()["plan"]["parameters"] == 785 * 32 + 33 * 10
    state = _wait(client, lambda s: s["status"] == "finished")
    history = state["history"]
    assert history["epoch"] == [1, 2]
    assert all(0.5 < accuracy <= 1 for accuracy in history["dev_accuracy"])
    assert history["learning_rate"][0] > history["learning_rate"][1]  # cosine
    confusion = np.array(state["snapshot"]["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 1000  # the dev rows
    assert np.trace(confusion) / 1000 == pytest.approx(history["dev_accuracy"][-1], abs=1e-3)
    weights = state["snapshot"]["weights"]
    assert weights["kind"] == "units" and weights["side"] == 28 and weights["count"] == 32
    assert all(len(picture) == 784 and 0 <= min(picture) <= max(picture) <= 255
               for picture in weights["values"])  # fmt: skip
    listed = [model["name"] for model in client.get("/api/models").json()["models"]]
    assert listed == ["small.npz", LIVE_MODEL]
    # The drawing pad reads with the model in training.
    seven = sample.images[sample.labels == 7][0]
    reading = client.post("/api/predict", json={"model": LIVE_MODEL, "pixels": seven.tolist()})
    assert reading.status_code == 200 and reading.json()["model"] == LIVE_MODEL
    saved = client.post("/api/training/save", json={"name": "mine"})
    assert saved.status_code == 200 and saved.json()["saved"] == "mine.npz"
    loaded = digitnet.load_model(tmp_path / "mine.npz")
    assert loaded.network.layer_spec == "dense32,relu,dense10"
    assert loaded.history["epoch"] == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["mine.npz"]  # nothing half-written beside
    listed = [model["name"] for model in client.get("/api/models").json()["models"]]
    assert listed == ["small.npz", LIVE_MODEL, "mine.npz"]
    again = client.post("/api/predict", json={"model": "mine.npz", "pixels": seven.tolist()})
    assert again.json()["probabilities"] == reading.json()["probabilities"]
    _refused(client.post("/api/training/save", json={"name": "mine"}), 409, "already exists",
             "name")  # fmt: skip
    _refused(client.post("/api/training/save", json={"name": "../up"}), 422, "letters", "name")
    _refused(client.post("/api/training/save", json={"name": "small.npz"}), 409,
             "a model this server serves has that name", "name")  # fmt: skip


def test_the_change_in_the_weights_is_measured_from_the_very_start(client, view):
    """The view rebuilds the network run() builds (same seed, same draws): with a step
    too small to move anything, the trained weights are still those."""
    client.post("/api/training", json={**SMALL, "epochs": 1, "learning_rate": 1e-12})
    state = _wait(client, lambda s: s["status"] == "finished")
    assert state["message"] == "Finished 1 epoch."  # not "1 epochs"
    model, _ = view.live.model()
    np.testing.assert_allclose(live_training.first_layer_weights(model.network),
                               view.live._initial, atol=1e-9)  # fmt: skip
    weights = state["snapshot"]["weights"]
    assert len(weights["change"]) == len(weights["values"]) == 32


def test_pause_holds_the_run_still_and_stop_keeps_the_best_weights(client):
    client.post("/api/training", json=LONG)
    _wait(client, lambda s: s["batch"] >= 2)
    asked = client.post("/api/training/pause")  # the reply is the state after the request
    assert asked.status_code == 200 and asked.json()["status"] in ("pausing", "paused")
    paused = _wait(client, lambda s: s["status"] == "paused")
    time.sleep(0.5)
    still = client.get("/api/training").json()["state"]
    assert (still["epoch"], still["batch"]) == (paused["epoch"], paused["batch"])
    assert client.post("/api/training/save").json()["epoch"] == len(paused["history"]["epoch"])
    assert client.post("/api/training/resume").json()["status"] == "running"
    _wait(client, lambda s: s["status"] == "running" and len(s["history"]["epoch"]) >= 1)
    assert client.post("/api/training/stop").json()["status"] == "stopping"
    stopped = _wait(client, lambda s: s["status"] == "stopped")
    assert stopped["history"]["epoch"] and len(stopped["history"]["epoch"]) < 50
    _refused(client.post("/api/training/stop"), 409, "nothing to stop")


def test_one_run_at_a_time(client):
    client.post("/api/training", json=LONG)
    _refused(client.post("/api/training", json=SMALL), 409, "already running (recipe fast")
    client.post("/api/training/stop")
    _wait(client, lambda s: s["status"] == "stopped")
    assert client.post("/api/training", json=SMALL).status_code == 202  # then a new one may


@pytest.mark.parametrize(
    ("change", "words", "field"),
    [
        ({"layers": "dense32,relu,bogus"}, "layer 'bogus'", "layers"),
        ({"layers": "dense32,relu,dense7"}, "must be dense10", "layers"),
        ({"epochs": 0}, "epochs=0: must be a whole number", "epochs"),
        ({"learning_rate": -1}, "learning_rate=-1", "learning_rate"),
        ({"optimizer": "magic"}, "choose from", "optimizer"),
        ({"batch_size": "big"}, "batch_size=", "batch_size"),
        ({"recipe": "nope"}, "unknown recipe", "recipe"),
        ({"data": "mnist"}, "unknown data", "data"),
        # the caps
        ({"epochs": live_training.MAX_EPOCHS + 1}, "over this server's cap of 50", "epochs"),
        ({"layers": "dense8000,relu,dense10"}, "parameters: over this server's cap", "layers"),
        ({"layers": "conv64k3same,relu,dense10", "batch_size": 4000}, "MiB to train: over",
         "batch_size"),
    ],
)  # fmt: skip
def test_a_bad_or_too_big_request_is_a_json_error_naming_its_field(client, change, words, field):
    _refused(client.post("/api/training", json={**SMALL, **change}), 422, words, field)
    assert client.get("/api/training").json()["state"]["status"] == "idle"  # nothing started


def test_the_caps_are_listed_and_data_over_the_row_cap_is_refused(client, sample, monkeypatch):
    caps = client.get("/api/training").json()["caps"]
    assert caps == {"epochs": 50, "parameters": 5_000_000, "memory_bytes": 2**30, "rows": 60_000}
    monkeypatch.setattr(live_training, "MAX_ROWS", 4999)
    _refused(client.post("/api/training", json=SMALL), 413, "5,000 rows, over", "data")
    big = Dataset(np.zeros((5000, 784), np.uint8), np.zeros(5000, np.int64), "big data")
    with pytest.raises(digitnet.DigitnetError, match="big data: 5,000 rows"):
        TrainingView({"big": big})


def test_bad_bodies_and_unknown_actions(client):
    json_type = {"Content-Type": "application/json"}
    _refused(client.post("/api/training", content=b"{nope", headers=json_type), 400,
             "not valid JSON")  # fmt: skip
    _refused(client.post("/api/training", content=b'{"recipe": "fast"}'), 415,
             "take Content-Type: application/json")  # fmt: skip
    _refused(client.post("/api/training", json=[1]), 400, "a JSON object")
    _refused(client.post("/api/training", json={**SMALL, "momentum": 0.5}), 400, "unknown field")
    _refused(client.post("/api/training", content=b" " * 20_000, headers=json_type), 413,
             "over 16,384 bytes")  # fmt: skip
    _refused(client.post("/api/training/jump"), 404, "no training action 'jump'")
    _refused(client.post("/api/training/save"), 409, "nothing to save yet")
    _refused(client.post("/api/training/pause"), 409, "nothing to pause")


def test_training_is_refused_when_the_server_listens_beyond_this_machine(served, sample):
    why = "training is off: this server listens on 0.0.0.0"
    view = TrainingView({"sample": sample}, enabled=False, refusal=why)
    with TestClient(create_app([served], training=view)) as client:
        overview = client.get("/api/training").json()
        assert overview["enabled"] is False and overview["refusal"] == why
        for path in ("/api/training", "/api/training/stop", "/api/training/save"):
            _refused(client.post(path, json=SMALL), 403, why)
        _refused(client.get("/api/training/events"), 403, why)
        assert client.post("/api/predict", json={"pixels": [255] * 784}).status_code == 200


def test_the_event_stream_sends_the_whole_state_then_each_change(client, view):
    """In-process: the stream ends when the server closes (view.closing).  It sends
    the latest state at each look (4 a second), so a fast run skips some."""
    client.post("/api/training", json={**SMALL, "epochs": 20})

    def close_when_done():
        while view.live.state()["status"] == "running":
            time.sleep(0.05)
        time.sleep(0.6)  # one more poll of the stream
        view.closing.set()

    closer = threading.Thread(target=close_when_done)
    closer.start()
    body = client.get("/api/training/events").text
    closer.join()
    events = [json.loads(line[len("data: "):]) for line in body.splitlines()
              if line.startswith("data: ")]  # fmt: skip
    assert body.startswith("retry: 1000")
    versions = [event["version"] for event in events]
    assert versions == sorted(set(versions))  # each state once, in order
    assert events[-1]["status"] == "finished"
    assert events[-1]["history"]["epoch"] == list(range(1, 21))
    pictures = [event["snapshot"] for event in events if isinstance(event["snapshot"], dict)]
    assert len(pictures) >= 2 and pictures[0]["weights"] != pictures[-1]["weights"]
    numbers = [picture["number"] for picture in pictures]
    assert numbers == sorted(set(numbers))  # a picture is sent once, then "same"


def test_the_watch_hook_sees_every_step_and_can_stop(sample):
    x = sample.images[:640].astype(np.float32) / 255
    y = sample.labels[:640]
    network = digitnet.Network.build("dense8,relu,dense10", seed=0)
    seen = []

    def watch(progress):
        seen.append((progress.epoch, progress.batch, progress.batches,
                     len(progress.history["epoch"])))  # fmt: skip
        assert progress.network is network  # the textbook layers, not the fast twins
        return progress.epoch == 2 and progress.batch == 3

    result = train(network, x, y, x[:100], y[:100], TrainingConfig(0.1, 5, batch_size=64),
                   log=None, progress=False, watch=watch)  # fmt: skip
    assert seen[:10] == [(1, step, 10, 0) for step in range(1, 11)]
    assert seen[10] == (1, 10, 10, 1)  # once more with the epoch's measurement
    assert seen[-1] == (2, 3, 10, 1) and len(seen) == 14
    assert result.interrupted and result.history["epoch"] == [1]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ctrl_c_stops_the_run_the_streams_and_the_server_cleanly(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet.interfaces.cli", "serve", "--port", str(port),
         "--save-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/api/training").close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        start = urllib.request.Request(url + "/api/training", method="POST",
                                       data=json.dumps({**SMALL, "epochs": 50}).encode(),
                                       headers={"Content-Type": "application/json"})  # fmt: skip
        assert urllib.request.urlopen(start).status == 202
        stream = urllib.request.urlopen(url + "/api/training/events", timeout=30)
        assert stream.readline() == b"retry: 1000\n"
        while True:  # a page that listens until it has seen the first epoch
            line = stream.readline().decode()
            if line.startswith("data: ") and json.loads(line[6:])["history"]["epoch"]:
                break
        save = urllib.request.Request(
            url + "/api/training/save",
            method="POST",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        saved = json.loads(urllib.request.urlopen(save).read())["saved"]
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)  # the open stream does not hold it up
        assert server.returncode == 0, err
        assert out.rstrip().endswith("stopped") and "Traceback" not in err
        assert stream.read() is not None  # the stream was ended by the server
        assert sorted(p.name for p in tmp_path.iterdir()) == [saved]  # no .partial left
        assert digitnet.load_model(tmp_path / saved).history["epoch"]
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_the_servers_view_trains_on_data_it_was_started_with(
    small_train_csv, tmp_path, sample, served
):
    """`digitnet serve --train-data train.csv --save-dir DIR`: the data joins the sample."""
    view = training_view_for(str(small_train_csv), str(tmp_path), None, False)
    assert view.enabled and list(view.datasets) == ["sample", str(small_train_csv)]
    with TestClient(create_app([ServedModel("a", digitnet.train(
        "fast", data="sample", epochs=1, layers="dense8,relu,dense10", log=None,
        progress=False))], training=view)) as client:  # fmt: skip
        overview = client.get("/api/training").json()
        named = overview["data"][str(small_train_csv)]  # by the argument, as typed
        assert named.endswith("train.csv (600 images, train format)")
        # Too few rows for the recipe's 1,000 dev rows: a tenth held out, as train does
        started = client.post("/api/training", json={**SMALL, "data": str(small_train_csv)})
        started = started.json()
        assert started["plan"]["rows"] == 600 and started["plan"]["data"] == str(small_train_csv)
        state = _wait(client, lambda s: s["status"] == "finished")
        assert np.array(state["snapshot"]["confusion"]).sum() == 60  # the dev rows
    bigger = write_train_csv(tmp_path / "bigger.csv", sample.images[:2500], sample.labels[:2500])
    view = training_view_for(str(bigger), str(tmp_path), None, False)
    with TestClient(create_app([served], training=view)) as client:
        started = client.post("/api/training", json={**SMALL, "data": str(bigger)}).json()
        assert started["plan"]["rows"] == 2500
        state = _wait(client, lambda s: s["status"] == "finished")
        assert np.array(state["snapshot"]["confusion"]).sum() == 1000  # the recipe's dev rows
    with pytest.raises(digitnet.DigitnetError, match="--save-dir .*: not a folder"):
        training_view_for(None, str(tmp_path / "missing"), None, False)


def test_listening_beyond_this_machine_turns_training_off_unless_allowed(tmp_path):
    off = training_view_for(None, str(tmp_path), "0.0.0.0", False)
    assert not off.enabled and "--allow-remote-training" in off.refusal
    assert "listens on 0.0.0.0" in off.refusal
    assert training_view_for(None, str(tmp_path), "0.0.0.0", True).enabled
    assert training_view_for(None, str(tmp_path), None, False).enabled  # 127.0.0.1


def test_the_views_script_and_style_are_served_with_nothing_from_elsewhere(client):
    page = client.get("/").text
    for name, kind in (("train.js", "javascript"), ("train.css", "css")):
        assert f"/page/{name}" in page
        response = client.get(f"/page/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert "http://" not in response.text and "https://" not in response.text
    assert 'id="training"' in page and "/api/training/events" in client.get("/page/train.js").text


def test_a_model_saved_from_the_page_finds_its_sample_data_again(served, tmp_path, capsys):
    """`digitnet serve`'s view loads the sample by name, so a saved model records it:
    evaluate (its held-out rows) then needs no --data."""
    from digitnet.interfaces.cli import main
    from digitnet.interfaces.training_view import training_view_for

    view = training_view_for(None, str(tmp_path), None, False)
    with TestClient(create_app([served], training=view), raise_server_exceptions=False) as client:
        assert client.post("/api/training", json={**SMALL, "epochs": 1}).status_code == 202
        _wait(client, lambda state: state["status"] == "finished")
        assert client.post("/api/training/save", json={"name": "mine"}).status_code == 200
    info = digitnet.load_model(tmp_path / "mine.npz").info
    assert info["data_spec"] == "sample" and "/" not in info["data"]
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "mine.npz")]) == 0
    assert "the 1000 rows the model held out" in capsys.readouterr().out


def test_an_unwritable_save_folder_is_refused_at_start(tmp_path):
    import os

    from digitnet.interfaces.training_view import training_view_for

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: nothing to refuse
            pytest.skip("this user can write in a read-only folder")
        with pytest.raises(digitnet.DigitnetError, match="cannot write in this folder"):
            training_view_for(None, str(locked), None, False)
    finally:
        locked.chmod(0o700)
