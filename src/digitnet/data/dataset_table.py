"""The named datasets digitnet can download: where from, and what the files must be.

One table: every file's size in bytes and SHA-256 checksum.  A download is kept
only if both match, so a file from any mirror is exactly the published one.

Sources of the checksums: MNIST's from the published files (shared/data/mnist);
Fashion-MNIST's and KMNIST's from their publishers' files as checked by other
downloaders; the sizes agree with those of Debian's dataset-fashion-mnist files
plus the gzip file-name field that Debian strips.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitnet.errors import DigitnetError


@dataclass(frozen=True)
class DataFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    kind: str  # 'handwriting' or 'clothes': which augmentation fits (training/augment.py)
    classes: tuple[str, ...]
    mirrors: tuple[str, ...]  # base URLs, tried in order; a file is at base + file name
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    system_folders: tuple[str, ...] = ()  # where an OS package may already have the files

    @property
    def files(self) -> tuple[DataFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = DatasetSpec(
    name="mnist",
    description="MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 train, 10,000 test",
    kind="handwriting",
    classes=tuple("0123456789"),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        4542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    description="Fashion-MNIST (Zalando Research): clothing images, 60,000 train, 10,000 test",
    kind="clothes",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),  # fmt: skip
    mirrors=(  # https first; a file from any mirror must match its SHA-256 all the same
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        26421880,
        "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        29515,
        "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        4422102,
        "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        5148,
        "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
    ),
    system_folders=("/usr/share/datasets/fashion-mnist",),  # Debian: dataset-fashion-mnist
)

KMNIST = DatasetSpec(
    name="kmnist",
    description="Kuzushiji-MNIST (ROIS-DS CODH): cursive Japanese, 60,000 train, 10,000 test",
    kind="handwriting",
    classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    mirrors=(
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",  # the same server, if https fails
    ),
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        18165135,
        "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        29497,
        "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        3041136,
        "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        5120,
        "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
    ),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST, KMNIST)}


def get_dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DigitnetError(
            f"unknown dataset '{name}' (choose from {', '.join(DATASETS)})"
        ) from None
