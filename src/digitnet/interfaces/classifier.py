"""`DigitClassifier`: digitnet with scikit-learn's conventions, for (X, y) arrays.

    from digitnet import DigitClassifier
    classifier = DigitClassifier("cnn", epochs=5).fit(X_train, y_train)
    classifier.score(X_test, y_test)

It follows scikit-learn's estimator API (fit returns self, predict,
predict_proba, score, classes_, get_params and set_params), so that
`sklearn.base.clone`, `cross_val_score` and `GridSearchCV` work with it, without
importing scikit-learn: scikit-learn stays optional.  The keywords are the
command line's knob names (`hidden`, `layers`, `learning_rate`, `epochs`...);
an unknown one is refused at `fit` with the list of valid ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from digitnet.data.dataset import CLASSES, Dataset
from digitnet.errors import DigitnetError
from digitnet.model import Model, pixel_rows
from digitnet.recipes import DEFAULT_RECIPE, get_recipe, run
from digitnet.recipes.recipe import KNOBS
from digitnet.speed import using_threads
from digitnet.wording import count


class DigitClassifier:
    """A digitnet recipe as a scikit-learn classifier.

    recipe: a recipe name ('fast', 'cnn', ...); seed: the split and initial
    weights; threads: cores to train on (None: all); verbose: print the training lines; any other
    keyword overrides a knob of the recipe, e.g. `epochs=5`.  Unlike the recipes,
    `fit` trains on every row given (dev_size=0), as scikit-learn's estimators do;
    `dev_size=1000` holds rows out to follow training on (`model_.history`).
    Images (X) are rows of 784 pixels or 28x28 squares, uint8 or ints in 0..255
    or floats in 0..1 (see `digitnet.model.pixel_rows`); labels (y) are 0..9.
    """

    def __init__(
        self,
        recipe: str = DEFAULT_RECIPE,
        *,
        seed: int = 0,
        threads: int | None = None,
        verbose: bool = False,
        **knobs: Any,
    ) -> None:
        self.recipe, self.seed, self.threads, self.verbose = recipe, seed, threads, verbose
        self.knobs = dict(knobs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every setting, by name (scikit-learn's `clone` rebuilds from these)."""
        fixed = {"recipe": self.recipe, "seed": self.seed, "threads": self.threads,
                 "verbose": self.verbose}  # fmt: skip
        return {**fixed, **self.knobs}

    def set_params(self, **params: Any) -> DigitClassifier:
        """Change settings by name (as GridSearchCV does); returns self.  A name that is
        no setting raises ValueError at once, as scikit-learn's estimators do, rather
        than at fit, hours into a grid search."""
        known = {"recipe", "seed", "threads", "verbose", *(knob.name for knob in KNOBS)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"DigitClassifier has no setting {', '.join(unknown)} (settings: "
                             f"{', '.join(sorted(known))})")  # fmt: skip
        for name, value in params.items():
            if name in ("recipe", "seed", "threads", "verbose"):
                setattr(self, name, value)
            else:
                self.knobs[name] = value
        return self

    def fit(self, X: ArrayLike, y: ArrayLike) -> DigitClassifier:
        """Train a fresh network on images X and labels y; returns self."""
        images = pixel_rows(X)
        labels = _labels(y, len(images))
        # scikit-learn's fit learns from all the rows it is given: no dev set is held
        # out unless dev_size asks for one (scores come from cross_val_score & co).
        recipe = get_recipe(self.recipe).with_overrides(**{"dev_size": 0, **self.knobs})
        dataset = Dataset(images, labels, f"arrays given to fit ({count(len(images), 'image')})")
        log = print if self.verbose else None
        with using_threads(self.threads, named="threads="):
            self.model_: Model = run(recipe, dataset, self.seed, log=log, progress=False)
        self.classes_ = np.arange(CLASSES)
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities (n, 10), one column per class in `classes_`, on `threads` cores
        as fit trains (None: all)."""
        model = self._model()
        with using_threads(self.threads, named="threads="):
            return model.predict_proba(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each image."""
        return self.predict_proba(X).argmax(axis=1)

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy: the fraction of images whose predicted class is y."""
        labels = _labels(y, len(pixel_rows(X)))
        return float(np.mean(self.predict(X) == labels))

    def _model(self) -> Model:
        if not hasattr(self, "model_"):
            raise DigitnetError("this DigitClassifier is not fitted yet: call fit(X, y) first")
        return self.model_

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"DigitClassifier({settings})"

    def __sklearn_tags__(self) -> Any:
        """What scikit-learn needs to know: a classifier that needs y (only called by
        scikit-learn, so importing it here costs nothing otherwise)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())  # fmt: skip


def _labels(y: ArrayLike, count: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.shape != (count,):
        raise DigitnetError(f"labels: shape {labels.shape}; expected ({count},), one per image")
    if labels.dtype.kind not in "iuf" or labels.dtype == np.bool_:
        raise DigitnetError(f"labels: values of type {labels.dtype}; expected whole numbers 0..9")
    if count and (np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > 9):
        raise DigitnetError("labels: expected whole numbers 0..9")
    return labels.astype(np.int64)
