"""From a photo or a drawing of one digit to the 28x28 image that MNIST's network expects.

MNIST's digits are bright ink on a black field, scaled to fit a 20x20 box and
centred by their centre of mass in 28x28 (LeCun et al.).  A photo is far from
that: grey or unevenly lit paper, a shadow, dark ink on light paper or chalk on
a dark board, a small digit somewhere in a big picture, a thin pen.  Each step
below undoes one of these; `prepare_digit` runs them in order.

0. `only_the_sheet`: a sheet of paper photographed on a darker desk is cut out, the
   desk made paper: the sheet's edges would look like strokes.
1. `remove_paper`: estimate the paper's brightness everywhere (the median of
   each block of a coarse grid, smoothed, interpolated back) and subtract it.
   What is left is ink, plus noise: a gradient or shadow across the sheet is
   gone, and grey paper counts as nothing.
2. Ink polarity: after step 1, ink is the one-sided tail, far from the noise,
   on the dark side (a pen on paper) or the bright side (chalk on a board).
   Paper texture is noise on both sides; the side with more such ink wins.
3. `without_ruled_lines`: the printed lines of a notebook page run from edge to
   edge, a digit's strokes do not; they go, except where a stroke crosses them.
   `digit_mask`: the ink falls apart into connected pieces.  The digit is the
   heaviest piece clear of the picture's border (a pen reaching into the photo
   touches it), else one that only touches it (a digit drawn up to a canvas's
   edge) rather than running along it (sheet and shadow edges), with the pieces
   near it (the bar of a 5 that the pen did not join).  Specks and far-away marks
   are dropped.
4. Crop to the digit, thicken a hairline stroke to MNIST's width (STROKE: 2.7 of
   20 pixels), scale it into the 20x20 box, make the strongest ink full white, and
   centre it by mass in 28x28 (MNIST's own recipe).
"""

from __future__ import annotations

import warnings

import numpy as np

from digitnet.errors import DigitnetError

BOX = 20  # the digit's longer side, in pixels
FIELD = 28
GRID = 12  # the paper's brightness is estimated on a GRID x GRID coarse grid
BLOCK_SIDE = 16  # ... of blocks shrunk to this many pixels a side
LOCATE_SIDE = 256  # the pieces of ink are found on a copy at most this big
NOISE_FLOOR = 2.0  # grey levels: a clean drawing has no noise, but ink must still stand out
LINE_SPAN = 0.85  # a run of ink this share of the picture across, edge to edge: a ruled line
FAINT = 0.15  # ink strength (0..1) that counts as ink for finding lines
PIECE = 0.25  # ... for cutting the ink into pieces
INK = 0.2  # ... for the digit's box
STROKE = 0.13  # MNIST's stroke width as a share of the digit's size (2.7 of 20 pixels)


def prepare_digit(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """A 2-D grayscale picture (0..255, any polarity) as 784 MNIST-style uint8 pixels."""
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise DigitnetError(f"{name}: expected a 2-D grayscale image, got shape {gray.shape}")
    if not np.all(np.isfinite(gray)):
        raise DigitnetError(f"{name}: the image holds NaN or infinite values")
    gray = only_the_sheet(gray)
    ink = ink_strength(gray)
    if ink is None:
        raise DigitnetError(f"{name}: no digit found (the image is blank)")
    ink = without_ruled_lines(ink)
    ink = ink * digit_mask(ink)
    boxed = _into_box(_cropped(ink, INK, name))
    return _centre_by_mass(boxed).astype(np.uint8).reshape(FIELD * FIELD)


def _cropped(ink: np.ndarray, threshold: float, name: str = "image") -> np.ndarray:
    """`ink` cut to the box of its pixels above `threshold`; DigitnetError if none is."""
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    columns = np.flatnonzero((ink > threshold).any(axis=0))
    if len(rows) == 0:
        raise DigitnetError(f"{name}: no digit found (the image is blank)")
    return ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _shrunk(image: np.ndarray, side: int = LOCATE_SIDE) -> np.ndarray:
    """`image` shrunk (never enlarged) to at most `side` pixels a side, for finding things."""
    from PIL import Image

    height, width = image.shape
    factor = max(1.0, max(height, width) / side)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(size))


def _border_contact(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For each piece 0..count: whether it touches the picture's border at all, and
    whether it runs along it, covering a quarter of one side or more (a sheet's edge,
    a shadow's, a desk).  A digit drawn up to the edge of a canvas only touches it."""
    touching = np.zeros(count + 1, bool)
    along = np.zeros(count + 1, bool)
    for border in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        share = np.bincount(border, minlength=count + 1) / len(border)
        touching |= share > 0
        along |= share >= 0.25
    touching[0] = along[0] = False  # 0 is the background, not a piece
    return touching, along


def only_the_sheet(gray: np.ndarray) -> np.ndarray:
    """`gray` cut to the sheet of paper, if it shows a sheet lying on something darker
    (a desk) that shows on two sides or more; else `gray` as it is.

    The paper is the biggest connected bright region (brighter than Otsu's threshold
    between the two main grey levels): solid, covering a tenth of the picture or more
    and a quarter of its width and height, with something written on it, on a desk
    less than 0.6 times as bright and with a photo's grain (not a flat digital black).
    The desk (the dark pieces that reach the picture's edge) becomes paper, and the
    picture is cut to the sheet's box: the sheet's edges, a sharp step from paper to
    desk, would otherwise look like ink.  A shadow over one side, a corner or across a
    diagonal leaves lit paper along two whole sides, so it is not taken for a desk.
    """
    from PIL import Image, ImageFilter

    height, width = gray.shape
    small = _shrunk(gray)
    if small.max() - small.min() < 2 * NOISE_FLOOR:  # one grey all over: no sheet to see
        return gray
    labels, count = connected_pieces(small > _otsu(small))
    if count == 0:
        return gray
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    sheet = labels == int(np.argmax(areas)) + 1
    rows, columns = np.nonzero(sheet)
    box = (rows.max() - rows.min() + 1) * (columns.max() - columns.min() + 1)
    # A sheet is big and solid: it fills most of its box (a rectangle turned by 10
    # degrees fills 74%).  Strokes of chalk fill a third of theirs at most.
    if sheet.sum() < 0.1 * small.size or sheet.sum() < 0.6 * box:
        return gray
    tall, wide = small.shape
    if rows.max() - rows.min() < 0.25 * tall or columns.max() - columns.min() < 0.25 * wide:
        return gray  # a thick bright stroke (a chalk "1"), not a sheet
    gaps = (rows.min(), tall - 1 - rows.max(), columns.min(), wide - 1 - columns.max())
    limits = (0.02 * tall, 0.02 * tall, 0.02 * wide, 0.02 * wide)
    if sum(gap > limit for gap, limit in zip(gaps, limits)) < 2:
        return gray
    dark, dark_count = connected_pieces(~sheet)
    edge, _ = _border_contact(dark, dark_count)
    desk = edge[dark]
    if not np.any(~edge[dark] & (dark > 0)):
        return gray  # nothing written on it: a bright shape, not a sheet with a digit
    paper = float(np.median(small[sheet]))
    if not desk.any() or np.median(small[desk]) > 0.6 * paper:
        return gray
    # The desk, a little wider (the sheet's blurred edge), becomes paper.
    grown = Image.fromarray(desk.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(5))
    desk_full = np.asarray(grown.resize((width, height))) > 0
    # A photographed desk has grain; a drawing's or a scan's black field is flat. A bold
    # white digit on black (an MNIST image) is bright, solid and holed like a sheet.
    around = gray[desk_full]
    if np.median(np.abs(around - np.median(around))) < 1.0:
        return gray
    on_paper = np.where(desk_full, paper, gray)
    top, bottom = (int(v * height / small.shape[0]) for v in (rows.min(), rows.max() + 1))
    left, right = (int(v * width / small.shape[1]) for v in (columns.min(), columns.max() + 1))
    return on_paper[top:bottom, left:right] if bottom - top > 8 and right - left > 8 else gray


def _otsu(values: np.ndarray) -> float:
    """The threshold that best splits `values` into two groups (Otsu, 1979): the one
    that maximises the variance between the groups' means."""
    counts, edges = np.histogram(values, bins=64)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)
    mean_sum = np.cumsum(counts * centres)
    total, total_sum = weight[-1], mean_sum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = mean_sum / weight
        upper = (total_sum - mean_sum) / (total - weight)
        between = weight * (total - weight) * (lower - upper) ** 2
    return float(edges[1:][np.nanargmax(between[:-1])]) if len(between) > 1 else float(edges[1])


def ink_strength(gray: np.ndarray) -> np.ndarray | None:
    """How much ink each pixel holds, 0..1 (steps 1 and 2); None if there is none.

    Twice: the first estimate of the paper is pulled towards the ink where the
    digit is bold; the second leaves out what the first found to be ink.
    """
    first = _ink_against(gray, remove_paper(gray))
    if first is None:
        return None
    return _ink_against(gray, remove_paper(gray, inked=first > 0))


def _ink_against(gray: np.ndarray, paper: np.ndarray) -> np.ndarray | None:
    difference = gray - paper
    centre = np.median(difference)
    noise = max(NOISE_FLOOR, 1.4826 * np.median(np.abs(difference - centre)))  # robust std
    # Far beyond the noise on each side: the side with more is the ink.
    bright = np.clip(difference - 6 * noise, 0, None).sum()
    dark = np.clip(-difference - 6 * noise, 0, None).sum()
    if max(bright, dark) == 0:
        return None
    if bright > dark:  # chalk, or a light pen on a dark screen: ink adds light
        ink = difference
    else:
        # Dark ink takes away a share of the light that falls on it, so in a shadow
        # the same ink differs less from its paper: compare with the paper's light.
        ink = -difference * (np.median(paper) / np.maximum(paper, 8.0))
    ink = np.clip(ink - 3 * noise, 0, None)  # noise to exactly nothing
    strong = ink[ink > 3 * noise]
    peak = np.percentile(strong, 90) if strong.size else ink.max()
    return np.clip(ink / peak, 0, 1)


def without_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """`ink` without the printed lines of ruled or squared paper (step 3's helper).

    A ruled line runs from one side of the picture to the other; a digit's stroke
    does not.  So an unbroken run of ink (small gaps bridged) across at least
    LINE_SPAN of the picture's width, row by row, is a line, and so is one down
    LINE_SPAN of its height.  Each line pixel (and its soft edges) becomes what lies
    on both sides of the line: ink where a stroke of the digit crosses it (ink just
    above and just below), nothing elsewhere.
    """
    inked = ink > FAINT
    across = _grown(_long_runs(inked))
    down = _grown(_long_runs(inked.T).T)
    if not (across.any() or down.any()):
        return ink
    lines = across | down
    rest = np.where(lines, 0.0, ink)
    reach = range(1, 5)  # a printed line with its soft edges is at most ~6 pixels
    above = np.max([_shifted(rest, k, 0) for k in reach], axis=0)
    below = np.max([_shifted(rest, -k, 0) for k in reach], axis=0)
    left = np.max([_shifted(rest, k, 1) for k in reach], axis=0)
    right = np.max([_shifted(rest, -k, 1) for k in reach], axis=0)
    crossing = np.where(across, np.minimum(above, below), 0.0)
    crossing = np.maximum(crossing, np.where(down, np.minimum(left, right), 0.0))
    return np.where(lines, crossing, ink)


def _shifted(image: np.ndarray, by: int, axis: int) -> np.ndarray:
    """`image` moved `by` pixels along `axis` (down or right if positive), zeros coming in."""
    moved = np.zeros_like(image)
    source = [slice(None)] * 2
    target = [slice(None)] * 2
    source[axis] = slice(0, -by) if by > 0 else slice(-by, None)
    target[axis] = slice(by, None) if by > 0 else slice(0, by)
    moved[tuple(target)] = image[tuple(source)]
    return moved


def _grown(line: np.ndarray) -> np.ndarray:
    """`line` and the pixels next to it: a printed line's soft edges."""
    neighbours = [_shifted(line, by, axis) for by in (1, -1) for axis in (0, 1)]
    return np.logical_or.reduce([line, *neighbours])


def _long_runs(inked: np.ndarray) -> np.ndarray:
    """Where `inked` has a horizontal run from one edge of the picture to the other
    (within 2% of each, small gaps bridged: a printed line's ink is uneven) that spans
    LINE_SPAN of the width.  A digit's stroke, however long, does not reach both edges."""
    width = inked.shape[1]
    bridged = inked.copy()  # a pixel between two inked ones, 1 or 2 away, counts
    for shift in (1, 2):
        bridged[:, shift:-shift] |= inked[:, : -2 * shift] & inked[:, 2 * shift :]
    rows, starts, ends = _runs(bridged)
    margin = 0.02 * width
    long = (ends - starts >= LINE_SPAN * width) & (starts <= margin) & (ends >= width - margin)
    line = np.zeros_like(inked)
    for row, start, end in zip(rows[long], starts[long], ends[long]):
        line[row, start:end] = True
    return line & inked


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of True in each row of `mask`: (row, start, end) arrays, end exclusive,
    row by row and left to right."""
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows, starts, ends


def remove_paper(gray: np.ndarray, inked: np.ndarray | None = None) -> np.ndarray:
    """The paper's brightness at every pixel (step 1).

    Block medians over the pixels not `inked` (all of them at first), each then
    replaced by the median of its 5x5 neighbourhood, so a thick stroke that
    covers whole blocks is outvoted by the paper around it; a block with almost
    no paper left takes its neighbours' value.  Interpolated back to full size.
    The medians are taken on a copy shrunk to BLOCK_SIDE pixels a block (the
    paper's light changes slowly, so little is lost), all blocks in one call.
    """
    from PIL import Image

    height, width = gray.shape
    side = GRID * BLOCK_SIDE
    small = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").resize((side, side)))
    if inked is not None:  # a shrunk pixel is ink if any ink went into it
        ink_share = Image.fromarray(inked.astype(np.float32), mode="F").resize((side, side))
        small = np.where(np.asarray(ink_share) > 0.05, np.nan, small)
    blocks = small.reshape(GRID, BLOCK_SIDE, GRID, BLOCK_SIDE).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(GRID, GRID, BLOCK_SIDE * BLOCK_SIDE)
    paper_share = np.mean(~np.isnan(blocks), axis=2)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks: handled below
        medians = np.where(paper_share >= 0.2, np.nanmedian(blocks, axis=2), np.nan)
        if np.all(np.isnan(medians)):
            medians[...] = np.median(gray)
        smooth = np.nanmedian(_neighbourhoods(medians, 5), axis=(2, 3))
        while np.any(np.isnan(smooth)):  # a region all ink: fill from around it
            around = np.nanmean(_neighbourhoods(smooth, 3), axis=(2, 3))
            smooth = np.where(np.isnan(smooth), around, smooth)
    # Bilinear interpolation between block centres, out to the edges.
    image = Image.fromarray(smooth.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float64)


def _neighbourhoods(grid: np.ndarray, size: int) -> np.ndarray:
    """Each cell's size x size neighbourhood, (rows, columns, size, size); the edge
    cells repeated outwards."""
    padded = np.pad(grid, size // 2, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, (size, size))


def digit_mask(ink: np.ndarray) -> np.ndarray:
    """Where the digit is (step 3): a 0/1 float mask the size of `ink`."""
    from PIL import Image, ImageFilter

    height, width = ink.shape
    small = _shrunk(ink)
    labels, count = connected_pieces(small > PIECE)
    if count == 0:
        return np.ones_like(ink)
    index = np.arange(1, count + 1)
    mass = np.bincount(labels.ravel(), weights=small.ravel(), minlength=count + 1)[1:]
    touching, along = _border_contact(labels, count)
    # The digit: the heaviest piece clear of the border (a pen or a finger reaching into
    # the photo touches it); else one that only touches it (a digit drawn up to the edge
    # of a canvas); else the heaviest of all.  Specks never win: a fifth of the heaviest.
    big = mass >= 0.2 * mass.max()
    for candidates in (big & ~touching[1:], big & ~along[1:], big):
        if candidates.any():
            main = index[candidates][np.argmax(mass[candidates])]
            break
    boxes = _boxes(labels, count)
    top, left, bottom, right = boxes[main - 1]
    reach = 0.3 * max(bottom - top, right - left) + 1
    # A piece that touches the border joins only if it is as strong as pen strokes are
    # (what a shadow or a sheet's edge leaves there is faint) and close (a stroke of the
    # digit, not a pen lying beside it).
    area = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    strong = mass / np.maximum(area, 1) >= 0.5
    keep = np.zeros(count + 1, bool)
    for label, (t, lft, b, r) in zip(index, boxes):
        gap = max(top - b, t - bottom, left - r, lft - right, 0)
        near = gap <= reach and mass[label - 1] >= 0.02 * mass[main - 1]
        close = gap <= reach / 3
        fits = not along[label] and (not touching[label] or (strong[label - 1] and close))
        keep[label] = label == main or (near and fits)
    chosen = Image.fromarray((keep[labels] * 255).astype(np.uint8))
    # Back to full size, a little wider than the pieces so no anti-aliased edge is cut.
    chosen = chosen.filter(ImageFilter.MaxFilter(3)).resize((width, height))
    return (np.asarray(chosen) > 0).astype(np.float64)


def connected_pieces(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected pieces of a boolean image: (labels, count), labels 1..count.

    Row by row, each run of True pixels is joined (union-find) to the runs of the
    row above that touch it, diagonals included; then each run gets its root's label.
    """
    parent: list[int] = []

    def root(run: int) -> int:
        while parent[run] != run:
            parent[run] = parent[parent[run]]  # path halving
            run = parent[run]
        return run

    run_rows, starts, ends = _runs(mask)  # every run at once
    runs_by_row: list[list[tuple[int, int, int]]] = [[] for _ in range(mask.shape[0])]
    for run, (row, start, end) in enumerate(zip(run_rows.tolist(), starts.tolist(),
                                                ends.tolist())):  # fmt: skip
        parent.append(run)
        if row > 0:
            for above_start, above_end, above in runs_by_row[row - 1]:
                if above_start <= end and above_end >= start:  # touching, diagonals too
                    parent[root(above)] = root(run)
        runs_by_row[row].append((start, end, run))
    labels = np.zeros(mask.shape, np.int32)
    names: dict[int, int] = {}
    for row_index, runs in enumerate(runs_by_row):
        for start, end, run in runs:
            labels[row_index, start:end] = names.setdefault(root(run), len(names) + 1)
    return labels, len(names)


def _boxes(labels: np.ndarray, count: int) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) of each piece 1..count, bottom/right inclusive."""
    rows, columns = np.nonzero(labels)
    found = labels[rows, columns]
    boxes = []
    for label in range(1, count + 1):
        mine = found == label
        boxes.append((rows[mine].min(), columns[mine].min(), rows[mine].max(), columns[mine].max()))
    return boxes


def _into_box(cropped: np.ndarray) -> np.ndarray:
    """The digit scaled so its longer side is BOX pixels, strokes at least MNIST-thick,
    the strongest ink at 255."""
    from PIL import Image, ImageFilter

    large = _resized(cropped, 4 * BOX)  # thickening is cheap at 4x the box, and exact enough
    # The stroke's width as a share of the digit's size.  At this size chalk's grain is
    # averaged away, and a hairline, though faint, is still the brightest thing there.
    relative = _stroke_width(large > 0.5 * large.max()) / (4 * BOX)
    if 0 < relative < 0.75 * STROKE:  # thinner than most MNIST digits (a thin pen)
        grow = min(int(round((STROKE - relative) * 4 * BOX)) | 1, 11)  # odd sizes only
        padded = Image.fromarray(np.pad(large, grow).astype(np.float32), mode="F")
        large = np.asarray(padded.filter(ImageFilter.MaxFilter(grow)), dtype=np.float64)
        large = _cropped(large, 0.05 * large.max())
    boxed = np.clip(_resized(large, BOX), 0, None)
    faint = 0.05 * boxed.max()
    peak = np.percentile(boxed[boxed > faint], 90) if np.any(boxed > faint) else 1.0
    return np.clip(255 * boxed / max(peak, 1e-6), 0, 255)


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    """`image` scaled so that its longer side is `side` pixels, keeping its shape."""
    from PIL import Image

    height, width = image.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    method = Image.Resampling.BOX if scale < 0.5 else Image.Resampling.LANCZOS
    resized = Image.fromarray(image.astype(np.float32), mode="F").resize(size, method)
    return np.asarray(resized, dtype=np.float64)


def _stroke_width(strokes: np.ndarray) -> float:
    """Mean width of the strokes in a boolean image: area / half the outline's length."""
    area = strokes.sum()
    if area == 0:
        return 0.0
    padded = np.pad(strokes, 1)
    inside = padded[1:-1, 1:-1]
    surrounded = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = inside & ~surrounded
    return float(2 * area / max(outline.sum(), 1))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass: the pixel coordinates weighted by ink."""
    total = image.sum()
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def _centre_by_mass(boxed: np.ndarray) -> np.ndarray:
    """Place `boxed` in a 28x28 field with its centre of mass nearest the centre."""
    field = np.zeros((FIELD, FIELD))
    if boxed.sum() <= 0:
        raise DigitnetError("image: no digit found (the image is blank)")
    centre = (FIELD - 1) / 2  # 13.5: between the two middle pixels
    row_mass, column_mass = centre_of_mass(boxed)
    top, left = round(centre - row_mass), round(centre - column_mass)
    # Paste with clipping: a lopsided digit may need to hang over an edge.
    source_rows = slice(max(0, -top), min(boxed.shape[0], FIELD - top))
    source_columns = slice(max(0, -left), min(boxed.shape[1], FIELD - left))
    field[
        source_rows.start + top : source_rows.stop + top,
        source_columns.start + left : source_columns.stop + left,
    ] = boxed[source_rows, source_columns]
    return np.rint(field)
