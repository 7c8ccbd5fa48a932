# %% [markdown]
# # digitnet, a walkthrough: from the Kaggle notebook to a CNN
#
# digitnet grew out of a Kaggle notebook: a network of 784 inputs, 10 hidden units and
# 10 outputs, written in numpy and trained by full-batch gradient descent
# ([its story and its defects](../docs/notebook.md)). This notebook retraces that path
# with digitnet:
#
# 1. load the digits and look at them;
# 2. build the notebook's network and train it with a loop of ten lines;
# 3. measure two of the notebook's defects;
# 4. train with a recipe, and look at what the network learned;
# 5. train a convolutional network (CNN) and look at its filters;
# 6. write a Kaggle submission.
#
# The code cells are short on purpose. Every derivative they rely on is derived in
# [docs/math.md](../docs/math.md).
#
# digitnet's pictures are matplotlib figures. `%matplotlib inline` tells Jupyter to draw
# a figure as an image when a cell ends with one.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import numpy as np

import digitnet
from digitnet import pictures
from digitnet.metrics import confusion_matrix
from digitnet.network import SoftmaxCrossEntropy, softmax
from digitnet.recipes import held_out_rows

# %% [markdown]
# **The switch.** With `FULL_DATA = False` the notebook uses the 5,000 MNIST digits
# bundled with the package: nothing is downloaded, and the whole notebook runs in about a
# minute on one CPU core. With `True` it downloads MNIST's 60,000 training digits once
# (then reads them from a cache) and trains the recipes at their full length: about
# twenty minutes on one core, most of it the CNN.

# %%
FULL_DATA = False  # True: all 60,000 MNIST training digits (downloaded on first use)

DATA = "mnist" if FULL_DATA else "sample"
ITERATIONS = 400  # full-batch steps of the hand-written loop (the notebook's last cell: 400)
DEV_ROWS = 1000  # rows held out to measure on (the notebook's 1,000)
FAST_EPOCHS = 20  # the 'fast' recipe's own number of epochs
CNN_EPOCHS = 15 if FULL_DATA else 3  # the 'cnn' recipe: 15 epochs, or 3 on the sample

# %% [markdown]
# ## 1. The data
#
# `digitnet.load_data` takes the same names as the command line's `--data`: `"sample"`,
# `"mnist"`, a Kaggle `train.csv`, a folder of MNIST files. It returns a `Dataset`.

# %%
data = digitnet.load_data(DATA)
print(data.source)
print("images:", data.images.shape, data.images.dtype)
print("labels:", data.labels.shape, data.labels.dtype, "first ten:", data.labels[:10])
print("images of each digit:", np.bincount(data.labels))

# %% [markdown]
# Each row of `images` is one 28x28 image, read row by row into 784 numbers: 0 is blank
# paper, 255 is full ink. They are stored as bytes (`uint8`), as they are on disk;
# scaling to 0..1 happens when they become network inputs. `labels` holds the digits.
#
# Six examples of each digit. People write the same digit in very different ways:

# %%
pictures.examples_grid(data, per_class=6)

# %% [markdown]
# Each digit's images averaged pixel by pixel. Dark is where that digit's ink usually
# falls. A network that only compared an image to these ten averages would already be
# right often; the hidden layers learn finer features than that.

# %%
pictures.average_digits(data)

# %% [markdown]
# ## 2. The notebook's network, trained by a loop you can read
#
# The network: 784 pixels in, 10 hidden ReLU units, 10 outputs (one per digit). In
# digitnet's layer language ([docs/layers.md](../docs/layers.md)) that is
# `dense10,relu,dense10`. `init="uniform"` draws every weight and bias from
# U(-0.5, 0.5), the notebook's `np.random.rand(...) - 0.5`.
#
# For a batch X of m images, **one image per row** (the notebook put one per column; the
# math is the same, transposed):
#
#     Z1 = X W1 + b1        (m, 10)    the first Dense layer
#     A1 = max(Z1, 0)                  ReLU
#     Z2 = A1 W2 + b2       (m, 10)    the second Dense layer: the logits
#     P  = softmax(Z2)                 each row: 10 probabilities that sum to 1
#     L  = mean over i of -log P[i, y_i]     cross-entropy, y_i the true digit

# %%
network = digitnet.Network.build("dense10,relu,dense10", init="uniform", seed=0)
for layer in network.layers:
    print(type(layer).__name__, {name: array.shape for name, array in layer.arrays().items()})

# %% [markdown]
# W1 is (784, 10): one column of 784 weights per hidden unit. These are the textbook
# layers of `src/digitnet/network/`, each forward beside its backward. Training makes
# them fast in one explicit step, `digitnet.speed.accelerate(network)`: the same arrays
# and the same numbers, with faster layers in their place (a first Dense layer that
# skips the pixels no image inks, for one) and every core at work.
#
# Now the data, split as the notebook split it: shuffle, hold out the first 1,000 rows
# as the dev set, and divide the pixels by 255 so the inputs lie in 0..1.

# %%
order = np.random.default_rng(0).permutation(len(data))
dev_rows, train_rows = order[:DEV_ROWS], order[DEV_ROWS:]
x_train = data.images[train_rows].astype(np.float32) / 255
y_train = data.labels[train_rows]
x_dev = data.images[dev_rows].astype(np.float32) / 255
y_dev = data.labels[dev_rows]
print(f"{len(x_train)} training rows, {len(x_dev)} dev rows")

# %% [markdown]
# The training loop. Each iteration is one step of full-batch gradient descent, as in the
# notebook:
#
# - **forward**: the logits Z2 for every training image;
# - **loss**: L, only to print it;
# - **delta**: dL/dZ2 = (P - one_hot(y)) / m, the gradient that starts backpropagation
#   ([why it is this simple](../docs/math.md#softmax-with-cross-entropy--losssoftmaxcrossentropy));
# - **backward**: the chain rule, layer by layer in reverse, writes dL/dW and dL/db of
#   every layer into its gradient buffer;
# - **step**: `network.parameters()` lists each (parameter, gradient) pair: W1, b1, W2,
#   b2. Each parameter moves against its gradient, in place.

# %%
learning_rate = 0.1
for iteration in range(ITERATIONS):
    logits = network.forward(x_train, training=True)  # Z2, (m, 10)
    loss = SoftmaxCrossEntropy.fn(logits, y_train)  # L
    delta = SoftmaxCrossEntropy.delta(logits, y_train)  # dL/dZ2
    network.backward(delta)  # dL/dW and dL/db of every layer
    for param, grad in network.parameters():
        param -= learning_rate * grad  # W <- W - learning_rate * dL/dW
    if iteration % 100 == 0:
        train_accuracy = np.mean(logits.argmax(axis=1) == y_train)
        print(f"iteration {iteration:3d}  loss {loss:.4f}  train accuracy {train_accuracy:.3f}")

# %% [markdown]
# Prediction is the forward pass alone: the digit with the largest logit (the largest
# logit is also the largest probability, since softmax keeps the order).

# %%
train_accuracy = np.mean(network.forward(x_train).argmax(axis=1) == y_train)
loop_accuracy = np.mean(network.forward(x_dev).argmax(axis=1) == y_dev)
print(f"train accuracy of the loop: {train_accuracy:.3f}")
print(f"dev accuracy of the loop: {loop_accuracy:.3f}")

# %% [markdown]
# The notebook itself reports no accuracy: it is saved without outputs, and as written it
# stops at a NameError (`back_prop`) before its first step. So the figures to compare
# with are digitnet's own. On 42,000 Kaggle-format rows, 400 iterations of this loop
# (the `seed` recipe) reach about 83% dev accuracy, and so does the notebook's own code,
# run by `benchmarks/seed_vs_notebook.py` from the same start
# ([benchmarks/README.md](../benchmarks/README.md)). The `seed` recipe,
# `digitnet.train("seed")`, is this same loop with a log line every 50 iterations.
#
# What did the ten hidden units learn? Here are each unit's 784 weights, drawn as an
# image: the unit's input grows with ink on red pixels and shrinks with ink on blue ones.
# Pixels blank in every image are left white: no gradient ever reached their weights.
# (`digitnet.Model` wraps a network with its preprocessing, the division by 255: the
# picture functions take a Model.)

# %%
inked = data.images.any(axis=0)  # pixels with ink in some image
pictures.first_layer_weights(digitnet.Model(network), inked=inked)

# %% [markdown]
# Noise, mostly. The weights started anywhere in -0.5..0.5, and 400 small steps moved
# them less than that. Subtract the start (the same seed builds it again) and what the
# steps added appears: strokes and loops, each unit looking for ink in some places (red)
# and none in others (blue).

# %%
learned = digitnet.Network.build("dense10,relu,dense10", init="uniform", seed=0)
learned.layers[0].weight[...] = network.layers[0].weight - learned.layers[0].weight
pictures.first_layer_weights(digitnet.Model(learned), inked=inked)

# %% [markdown]
# ## 3. Two of the notebook's defects, measured
#
# [docs/notebook.md](../docs/notebook.md) lists six. Two of them are in the math itself.
#
# ### The bias gradient was one number for all units
#
# The notebook computed the output bias gradient as
#
#     db2 = 1 / m * np.sum(dZ2)        # sums over the examples AND the units
#
# Each unit k has its own bias, and its gradient is the sum over the examples of unit
# k's column only: db2[k] = sum over i of dZ2[i, k]
# ([docs/math.md](../docs/math.md#dense-affine-layer--layersdense)). Here both are, for
# a fresh network on 1,000 real images (`delta` already includes the 1/m):

# %%
fresh = digitnet.Network.build("dense10,relu,dense10", init="uniform", seed=0)
dz2 = SoftmaxCrossEntropy.delta(fresh.forward(x_train[:1000]), y_train[:1000])
print("per unit, dz2.sum(axis=0):", np.round(dz2.sum(axis=0), 4))
print(f"the notebook's np.sum(dz2): {dz2.sum():.1e}")

# %% [markdown]
# The notebook's number is zero, up to rounding, and it always is: each row of P sums to
# 1 and each row of one_hot(y) sums to 1, so each row of P - one_hot(y) sums to 0. The
# notebook's output biases therefore never moved from their random start.
#
# Its hidden biases did move, all ten by the same amount: the sum of the ten units' own
# gradients. That sum is exactly the derivative for one shared shift of all ten biases
# together, but for each unit on its own it is the wrong size, and for a unit whose own
# gradient has the other sign, the wrong direction. The same fresh network, one step
# further down:

# %%
fresh.backward(dz2)
db1 = fresh.layers[0].bias_grad  # the hidden layer's per-unit gradient
print("hidden, per unit:", np.round(db1, 4))
print(f"the notebook's one number for all ten: {db1.sum():.4f}")
print("units it pushes the wrong way:", int(np.sum(np.sign(db1) == -np.sign(db1.sum()))))

# %% [markdown]
# Along the notebook's whole training on Kaggle-format data, `benchmarks/notebook_facts.py`
# counts such units at every iteration ([benchmarks/README.md](../benchmarks/README.md)).
#
# To see what that did, train a second network from the same start with the notebook's
# rule: the same loop, plus one line that replaces each layer's bias gradient by the
# notebook's single number.

# %%
notebook_rule = digitnet.Network.build("dense10,relu,dense10", init="uniform", seed=0)
dense_layers = [notebook_rule.layers[0], notebook_rule.layers[2]]
for _ in range(ITERATIONS):
    logits = notebook_rule.forward(x_train, training=True)
    notebook_rule.backward(SoftmaxCrossEntropy.delta(logits, y_train))
    for layer in dense_layers:
        layer.bias_grad[:] = layer.bias_grad.sum()  # the notebook's np.sum(dZ)
    for param, grad in notebook_rule.parameters():
        param -= learning_rate * grad

# %%
start_b2 = fresh.layers[2].bias  # both networks started here (seed 0)
for name, net in (("per-unit gradient", network), ("notebook's rule", notebook_rule)):
    moved = np.abs(net.layers[2].bias - start_b2).max()
    dev_logits = net.forward(x_dev)
    loss = SoftmaxCrossEntropy.fn(dev_logits, y_dev)
    accuracy = np.mean(dev_logits.argmax(axis=1) == y_dev)
    print(f"{name:17}  b2 moved by up to {moved:.6f}  dev loss {loss:.4f}  accuracy {accuracy:.3f}")

# %% [markdown]
# The notebook's output biases stayed exactly where the random start put them. Its score
# did not suffer for it on the sample: the weights make up for the biases, and the two
# networks end within a few dev rows of each other (here the notebook's rule is even
# slightly ahead, at a slightly lower dev loss). On 42,000 Kaggle-format rows the fix
# moves the notebook's own code by 0.002 dev accuracy, two of its 1,000 dev rows
# ([benchmarks/README.md](../benchmarks/README.md)). That is how the bug went unnoticed:
# the number looked right. A gradient check finds it at once (`tests/test_gradients.py`
# runs one on the notebook's version).
#
# ### The softmax overflowed for large logits
#
# The notebook's softmax was `np.exp(Z) / sum(np.exp(Z))`. `exp` of a number above about
# 709 is infinite in float64 (above 88 in float32, the network's type), and inf / inf is
# nan. digitnet subtracts each row's largest logit first, which leaves the probabilities
# unchanged and makes the largest exponential exp(0) = 1
# ([docs/math.md](../docs/math.md#softmax-with-cross-entropy--losssoftmaxcrossentropy)).
# digitnet's `softmax` takes a batch, (m, classes):

# %%
z = np.array([[1000.0, 10.0, 0.0, -5.0]])
with np.errstate(over="ignore", invalid="ignore"):  # numpy would warn: overflow in exp
    naive = np.exp(z) / np.exp(z).sum()
print("the notebook's softmax:", naive)
print("digitnet's softmax:    ", softmax(z))
print("digitnet's loss if the label is class 1:", SoftmaxCrossEntropy.fn(z, np.array([1])))

# %% [markdown]
# The loss is computed as a log-softmax, so it stays exact too: 1000 - 10 = 990, where
# log of the probability (which underflows to 0) would be -inf.
#
# The notebook's inputs in 0..1 kept its logits small, so it worked by luck. Forget the
# division by 255 and the same network meets logits in the thousands:

# %%
raw_logits = fresh.forward(data.images[:100].astype(np.float32))  # no / 255
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(raw_logits) / np.exp(raw_logits).sum(axis=1, keepdims=True)
print(f"largest logit: {raw_logits.max():.0f}")
print("images with a nan probability (of 100):")
print("  the notebook's softmax:", np.isnan(naive).any(axis=1).sum())
print("  digitnet's softmax:    ", np.isnan(softmax(raw_logits)).any(axis=1).sum())

# %% [markdown]
# ## 4. A recipe: the same steps, better choices
#
# `digitnet.train` runs a named recipe: a complete training configuration. The default,
# `fast`, changes four things from the notebook, each for a reason
# ([docs/training.md](../docs/training.md)):
#
# - a hidden layer of 256 units instead of 10: more features to learn;
# - He initialisation instead of U(-0.5, 0.5): it keeps the activations' scale steady
#   whatever the layer's width;
# - mini-batches of 64 images instead of the full batch: many small steps per pass over
#   the data instead of one large one;
# - momentum 0.9 and a cosine schedule: steps that keep their direction, large at first
#   and fine at the end.
#
# It holds out 1,000 rows too (the same share of each digit) and prints one line per
# epoch (one pass over the training rows).

# %%
print(digitnet.RECIPES["fast"].settings())
model = digitnet.train("fast", data=data, epochs=FAST_EPOCHS, seed=0)
print(f"dev accuracy of fast: {model.history['dev_accuracy'][-1]:.3f}")

# %% [markdown]
# The result is a `Model`: the network, its preprocessing, the recipe, and the history
# of every measurement (`model.history`, a dict of lists). The training curves:

# %%
print(list(model.history))
pictures.training_curves(model.history)

# %% [markdown]
# The training accuracy reaches nearly 100% while the dev accuracy stops rising: past that
# point the network learns the training images themselves rather than digits.
#
# To watch the same training live (these curves, the first layer's weights and the
# confusion matrix as they change, and your own drawing read epoch by epoch), run
# `digitnet serve` and use **Watch it learn** on its page (docs/serve.md).
#
# Where is it wrong? `held_out_rows` gives back the rows the model held out, from its
# recorded seed and split. The confusion matrix counts, for each true digit (row), what
# the network said (column):

# %%
dev = held_out_rows(model, data)
probabilities = model.predict_proba(data.images[dev])
confusion = confusion_matrix(probabilities.argmax(axis=1), data.labels[dev])
pictures.confusion_heatmap(confusion)

# %% [markdown]
# The mistakes it was surest of, titled true→predicted and the probability it gave. Some
# are hard to read for a person too.

# %%
pictures.confident_mistakes(data.images[dev], data.labels[dev], probabilities, count=16)

# %% [markdown]
# What its first layer learned: the 16 of its 256 units with the largest weights. He
# initialisation starts the weights small (about 0.05), so blobs and pieces of strokes
# show through without subtracting the start, with the start's noise around them.

# %%
pictures.first_layer_weights(model, units=16, inked=inked)

# %% [markdown]
# ## 5. A convolutional network
#
# A Dense unit has one weight per pixel, so a stroke it has learned at one place means
# nothing to it one pixel to the left. A convolution filter looks at a small window (3x3
# here) and slides over the whole image: the same weights find the same stroke anywhere.
# The `cnn` recipe stacks two of them ('same' padding: the border is padded with zeros,
# so a map keeps its image's size):
#
#     conv32k3same  32 filters of 3x3           28x28 -> 28x28x32
#     pool2         the largest of each 2x2     -> 14x14x32
#     bn, relu      batch norm, then ReLU
#     conv64k3same  64 filters of 3x3x32        -> 14x14x64
#     pool2, bn, relu                           -> 7x7x64
#     dense256, relu, dropout0.25, dense10      as in an MLP, on 3,136 features
#
# It also trains on distorted copies of the images (small shifts, rotations and
# scalings), so that it learns digits rather than the exact training images, and with
# label smoothing: the target is 0.91 for the true digit and 0.01 for each other one,
# not 1 and 0, so the network is not pushed to ever larger logits on digits it already
# reads right (docs/math.md derives the gradient: still p minus the target).

# %%
cnn = digitnet.train("cnn", data=data, epochs=CNN_EPOCHS, seed=0)
print(f"dev accuracy of cnn: {cnn.history['dev_accuracy'][-1]:.3f}")

# %% [markdown]
# The first layer's 32 filters, each a 3x3 image of weights. Where the ink under the
# window matches a filter's red pixels and avoids its blue ones, its output is large:
# a filter red on one side and blue on the other finds an edge. On the sample (three
# epochs, 4,000 images) many still show much of their random start.
# (`first_layer_weights` draws these for a CNN; `pictures.first_layer_filters` takes the
# convolution layer itself.)

# %%
pictures.first_layer_weights(cnn)

# %% [markdown]
# One held-out digit as each convolution layer sees it, after its pooling, batch norm and
# ReLU (hence 14x14 and 7x7): a map per filter, bright where the filter found its
# pattern. The second layer's maps are smaller and respond to larger parts of the digit.

# %%
example = held_out_rows(cnn, data)[0]
pictures.feature_maps_figure(cnn, data.images[example], int(data.labels[example]))

# %% [markdown]
# The three networks side by side, each on 1,000 held-out rows (the loop's were drawn
# the notebook's way, the recipes' with the same share of every digit):

# %%
for name, accuracy in (
    ("the loop, 784-10-10", loop_accuracy),
    ("fast, 784-256-10", model.history["dev_accuracy"][-1]),
    ("cnn", cnn.history["dev_accuracy"][-1]),
):
    print(f"{name:20} {accuracy:.3f}")

# %% [markdown]
# ## 6. Save, load, and write a Kaggle submission
#
# A model is saved with `digitnet.save_model` and read back with `digitnet.load_model`
# (the file holds the weights, the preprocessing, the recipe and the history). The files
# go into a temporary folder, so nothing is left in your working folder.
#
# Kaggle's `test.csv` is not here, so the held-out rows stand in for it. With the real
# file: `test = digitnet.load_data("test.csv", need_labels=False)`, then
# `cnn.predict(test.images)`.

# %%
scratch = tempfile.TemporaryDirectory()  # deleted when the kernel stops
folder = Path(scratch.name)
digitnet.save_model(cnn, folder / "cnn.npz")
loaded = digitnet.load_model(folder / "cnn.npz")
test_images = data.images[held_out_rows(cnn, data)]  # stand-in for test.csv
predicted = loaded.predict(test_images)
print("same predictions after loading:", bool((predicted == cnn.predict(test_images)).all()))

# %%
digitnet.write_submission(folder / "submission.csv", predicted)
print("\n".join((folder / "submission.csv").read_text().splitlines()[:6]))

# %% [markdown]
# Kaggle's format: a header, then one line per image, `ImageId` counted from 1 in the
# order of `test.csv`.
#
# ## 7. Where to go next
#
# - [docs/math.md](../docs/math.md): every backward pass derived, equation by equation,
#   with the matching line of code named.
# - [docs/worked_example.md](../docs/worked_example.md): the notebook's network shrunk to
#   3-2-2, one forward and one backward pass with every number written out, to check by
#   hand, and drawn as a computational graph.
# - [docs/layers.md](../docs/layers.md): the layer language (`conv32k3same`, `bn`,
#   `dropout0.4`...) and how layouts compare with PyTorch's.
# - [docs/training.md](../docs/training.md): every knob of a recipe (optimizers,
#   schedules, regularisation, augmentation), and the recipes themselves.
# - [docs/notebook.md](../docs/notebook.md): all six defects of the original notebook.
# - [The README](../README.md): the command line (`digitnet train`, `evaluate`,
#   `predict`, `report`) and the accuracies on all of MNIST (99.5% for `cnn`, 99.6% for
#   `best`).
#
# `digitnet.DigitClassifier` wraps a recipe in scikit-learn's conventions (`fit`,
# `predict`, `score`) for (X, y) arrays; any knob is a keyword. Unlike the recipes, and
# like scikit-learn's estimators, `fit` learns from every row it is given (`dev_size=0`,
# written out below); `dev_size=1000` would hold rows out to follow training on:

# %%
classifier = digitnet.DigitClassifier("fast", epochs=5, dev_size=0)  # every row (the default)
classifier.fit(data.images[train_rows], data.labels[train_rows])
score = classifier.score(data.images[dev_rows], data.labels[dev_rows])
print(f"DigitClassifier, 5 epochs, on the loop's dev rows: {score:.3f}")

# %% [markdown]
# ## Running the CNN without digitnet: ONNX
#
# `digitnet.export_model` writes a model in a form other runtimes read (docs/export.md):
# an ONNX file, a PyTorch program or folder, or the drawing page as one HTML file. The
# ONNX graph takes stored pixels (0..255, rows of 784) and divides by 255 itself; it
# gives `logits` and `probabilities`. onnxruntime runs it: the probabilities are
# digitnet's to float32's precision. (ONNX needs the extra `pip install
# "digitnet[export]"`; without it the cell says so and the notebook carries on.)

# %%
try:
    import onnx  # noqa: F401  (export_model needs it)
    import onnxruntime
except ImportError:
    print('onnx or onnxruntime is not installed: pip install "digitnet[export]" to run this cell')
else:
    digitnet.export_model(cnn, folder / "cnn.onnx")
    session = onnxruntime.InferenceSession(
        str(folder / "cnn.onnx"), providers=["CPUExecutionProvider"]
    )
    digits = data.images[dev_rows][:1000].astype(np.float32)
    logits, probabilities = session.run(None, {"pixels": digits})
    largest = np.abs(probabilities - cnn.predict_proba(digits)).max()
    print(f"onnxruntime against digitnet on 1,000 digits: largest difference {largest:.1e}")
