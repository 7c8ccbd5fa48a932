"""DigitClassifier: scikit-learn's conventions (scikit-learn itself only where installed)."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import DigitClassifier, DigitnetError


@pytest.fixture(scope="module")
def data(sample):
    return sample.images[:1200], sample.labels[:1200], sample.images[4000:], sample.labels[4000:]


def test_fit_learns_from_every_row_unless_a_dev_set_is_asked_for(data):
    X, y, _, _ = data
    assert DigitClassifier("fast", epochs=1).fit(X, y).model_.info["train_size"] == len(X)
    held = DigitClassifier("fast", epochs=1, dev_size=200).fit(X, y).model_
    assert held.info["train_size"] == len(X) - 200 and held.info["dev_size"] == 200


def test_fit_predict_score(data):
    X, y, X_test, y_test = data
    classifier = DigitClassifier("fast", epochs=3)
    assert classifier.fit(X, y) is classifier
    assert classifier.classes_.tolist() == list(range(10))
    probabilities = classifier.predict_proba(X_test)
    assert probabilities.shape == (1000, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    predicted = classifier.predict(X_test)
    np.testing.assert_array_equal(predicted, probabilities.argmax(axis=1))
    assert classifier.score(X_test, y_test) == pytest.approx(np.mean(predicted == y_test))
    assert classifier.score(X_test, y_test) > 0.8


def test_floats_and_squares_give_the_same_classifier(data):
    X, y, X_test, _ = data
    as_uint8 = DigitClassifier("fast", epochs=2, dev_size=0).fit(X, y)
    as_floats = DigitClassifier("fast", epochs=2, dev_size=0).fit(
        X.reshape(-1, 28, 28).astype(np.float32) / 255, y.tolist()
    )
    np.testing.assert_array_equal(as_uint8.predict(X_test), as_floats.predict(X_test))


def test_knobs_are_the_command_lines_names(data):
    X, y, _, _ = data
    classifier = DigitClassifier("fast", hidden=(16,), learning_rate=0.1, epochs=1, dev_size=0)
    classifier.fit(X, y)
    assert classifier.model_.network.layer_spec == "dense16,relu,dense10"
    assert classifier.get_params()["hidden"] == (16,)
    with pytest.raises(DigitnetError, match="unknown recipe setting.*hidden_sizes.*known: "):
        DigitClassifier("fast", hidden_sizes=(16,)).fit(X, y)
    tuned = DigitClassifier("fast").set_params(learning_rate=0.2, seed=3)
    assert tuned.get_params()["learning_rate"] == 0.2 and tuned.seed == 3
    with pytest.raises(ValueError, match="DigitClassifier has no setting nope, whatever"):
        tuned.set_params(nope=2, whatever=1, epochs=3)  # at once, as scikit-learn's do
    assert "epochs" not in tuned.get_params()  # nothing half-set


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((5, 100)), np.zeros(5), "shape (5, 100)"),
        (np.full((5, 784), 2.0), np.zeros(5), None),  # whole floats in 0..255: accepted
        (np.full((5, 784), 2.5), np.zeros(5), "neither 0..1"),  # 0..1 or 0..255? refused
        (np.zeros((5, 784)), np.zeros(4), "labels: shape (4,)"),
        (np.zeros((5, 784)), np.full(5, 11), "whole numbers 0..9"),
        (np.zeros((5, 784)), np.array(["a"] * 5), "labels: values of type"),
    ],
)
def test_bad_arrays_are_clear_errors(X, y, message):
    classifier = DigitClassifier("fast", epochs=1, dev_size=0)
    if message is None:
        classifier.fit(X, y)
        return
    with pytest.raises(DigitnetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        classifier.fit(X, y)


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(DigitnetError, match="not fitted yet"):
        DigitClassifier().predict(np.zeros((1, 784)))


def test_scikit_learn_clone_cross_validation_and_grid_search(data):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y, _, _ = data
    classifier = DigitClassifier("fast", epochs=2, dev_size=0, hidden=(32,))
    copy = clone(classifier)
    assert copy is not classifier and copy.get_params() == classifier.get_params()
    assert is_classifier(classifier) and sklearn.__version__
    scores = cross_val_score(classifier, X, y, cv=2)
    assert len(scores) == 2 and all(score > 0.6 for score in scores)
    search = GridSearchCV(classifier, {"hidden": [(8,), (64,)]}, cv=2).fit(X, y)
    assert search.best_params_["hidden"] in [(8,), (64,)]
    assert search.best_estimator_.model_.network.layer_spec.startswith("dense")


def test_digitnet_train_takes_arrays(data):
    import digitnet

    X, y, X_test, y_test = data
    model = digitnet.train("fast", data=(X, y), epochs=2, dev_size=0, log=None, progress=False)
    assert np.mean(model.predict(X_test) == y_test) > 0.8
    assert model.info["data"] == "arrays (1200 images)"
