"""From a photo or a drawing of one digit to the 28x28 image that MNIST's network expects.

MNIST's digits are bright ink on a black field, scaled to fit a 20x20 box and
centred by their centre of mass in 28x28 (LeCun et al.).  A photo is far from
that: grey or unevenly lit paper, a shadow, dark ink on light paper or chalk on
a dark board, a small digit somewhere in a big picture, a thin pen.  Each step
below undoes one of these; `prepare_digit` runs them in order.  The image work
itself (connected pieces, dilation, erosion, directional maxima, bounding boxes,
the centre of mass) is scipy.ndimage's, in C; resizing is Pillow's.  What is this
module's own is which steps, in which order, and why.

0. The picture is worked on at WORK_SIDE pixels a side at most: the result is 20
   pixels tall, and a digit filling a tenth of a 512-pixel photo is still 50.
   `only_the_sheet`: a sheet of paper photographed on a darker desk is cut out, the
   desk made paper: the sheet's edges would look like strokes.
1. `remove_paper`: estimate the paper's brightness everywhere (the median of
   each block of a coarse grid, smoothed, interpolated back) and subtract it.
   What is left is ink, plus noise: a gradient or shadow across the sheet is
   gone, and grey paper counts as nothing.
2. Ink polarity: after step 1, ink is the one-sided tail, far from the noise,
   on the dark side (a pen on paper) or the bright side (chalk on a board).
   Paper texture is noise on both sides; the side with more such ink wins.
   Where the grain is as strong as the ink (a dim photo), nothing stands that far
   out: steps 1 and 2 run again on a `denoised` copy, and what they find there
   counts only if it is a stroke, not specks.
3. `without_ruled_lines`: the printed lines of a notebook page run from edge to
   edge, a digit's strokes do not; they go, except where a stroke crosses them.
   `only_the_digit`: the ink falls apart into connected pieces.  A piece that runs
   along the picture's border (a strip of desk, a sheet's or a shadow's edge) is
   never the digit while anything else is there.  The digit is the heaviest piece
   clear of the border (a pen reaching into the photo touches it), else one that
   only touches it (a digit drawn up to a canvas's edge), with the pieces near it
   (the bar of a 5 that the pen did not join).  Specks and far-away marks are
   dropped.
4. Crop to the digit, thicken a hairline stroke to MNIST's width (STROKE: 2.7 of
   20 pixels) but never so far that a gap the writer left closes into a loop (a
   7's hook, a 4's open top), scale it into the 20x20 box, make the strongest ink
   full white, and centre it by mass in 28x28 (MNIST's own recipe).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from digitnet.errors import DigitnetError

BOX = 20  # the digit's longer side, in pixels
FIELD = 28
WORK_SIDE = 512  # the picture is worked on at most this big
GRID = 12  # the paper's brightness is estimated on a GRID x GRID coarse grid
BLOCK_SIDE = 16  # ... of blocks shrunk to this many pixels a side
LOCATE_SIDE = 256  # a sheet on a desk is looked for on a copy at most this big
LARGEST_GREY = 1e6  # grey levels beyond this are not a picture's (0..255, or 0..65535)
DENOISE = 5  # pixels a side: the neighbourhood whose median smooths a grainy photo
SMOOTHED_STROKE = 0.0005  # the least share of a denoised picture that one stroke covers
NOISE_FLOOR = 2.0  # grey levels: a clean drawing has no noise, but ink must still stand out
STATISTICS_SAMPLE = 10_000  # pixels enough for a median of the noise
BORDER_BAND = 0.03  # a piece this close (a share of the picture) to a side runs along it
LINE_MARGIN = 0.02  # a ruled line reaches this close (a share of the width) to both edges
FAINT = 0.15  # ink strength (0..1) that counts as ink for finding lines
PIECE = 0.25  # ... for cutting the ink into pieces
INK = 0.2  # ... for the digit's box
STROKE = 0.13  # MNIST's stroke width as a share of the digit's size (2.7 of 20 pixels)
LOOP_AREA = 9  # pixels at 4x the box (half an output pixel): a loop, not a pinhole

EIGHT_NEIGHBOURS = np.ones((3, 3), bool)  # diagonal pixels touch: a stroke drawn at 45 degrees
FOUR_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)  # a plus: up, down, left, right


def prepare_digit(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """A 2-D grayscale picture (0..255, any polarity) as 784 MNIST-style uint8 pixels."""
    gray = np.asarray(gray)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise DigitnetError(f"{name}: expected a 2-D grayscale image, got shape {gray.shape}")
    if gray.dtype.kind not in "biuf":
        raise DigitnetError(f"{name}: expected grey levels (numbers), got {gray.dtype}")
    # One pass checks both: NaN compares False, and a value past float32's range
    # would turn into infinity below.
    if gray.dtype.kind == "f" and not np.all(np.abs(gray) <= LARGEST_GREY):
        if not np.all(np.isfinite(gray)):
            raise DigitnetError(f"{name}: the image holds NaN or infinite values")
        raise DigitnetError(f"{name}: grey levels as large as {np.max(np.abs(gray)):.3g} "
                            "(expected 0..255)")  # fmt: skip
    gray = _shrunk(gray, WORK_SIDE)
    flat = _flat_paper(gray)
    if flat is None:  # a photo: there may be a desk around the sheet
        gray = only_the_sheet(gray)
        ink = ink_strength(gray)
        if ink is None:  # grain as strong as the ink (a dim, grainy photo)? look again
            ink = _stroke_or_none(ink_strength(denoised(gray)))
    else:  # a drawing: its paper is one grey, nothing to estimate
        ink = _ink_against(gray, np.full_like(gray, flat))
    if ink is None:
        raise DigitnetError(f"{name}: no digit found ({_why_no_ink(gray)})")
    ink = without_ruled_lines(ink)
    ink = only_the_digit(ink)
    boxed = _into_box(_cropped(ink, INK, name))
    return _centre_by_mass(boxed).astype(np.uint8).reshape(FIELD * FIELD)


def denoised(gray: np.ndarray) -> np.ndarray:
    """`gray` with its grain smoothed away: each pixel the median of the DENOISE x
    DENOISE pixels around it.  Ink must stand far beyond the paper's grain to count
    (step 2); on a dim, grainy photo (grain of 25 grey levels, ink 70 darker) no pixel
    does, but the median of 25 neighbours has about a quarter of the grain and keeps a
    stroke's edges where a mean would blur them."""
    return ndimage.median_filter(gray, size=DENOISE, mode="nearest")


def _stroke_or_none(ink: np.ndarray | None) -> np.ndarray | None:
    """`ink` found on a denoised picture if it holds a stroke, else None.  Smoothed
    grain still has rare far-out specks, a few pixels each; a digit's stroke is one
    piece of at least SMOOTHED_STROKE of the picture (a digit a tenth of its height
    covers about three times that)."""
    if ink is None:
        return None
    pieces, count = ndimage.label(ink > PIECE, EIGHT_NEIGHBOURS)
    largest = np.bincount(pieces.ravel())[1:].max() if count else 0
    return ink if largest >= SMOOTHED_STROKE * ink.size else None


def _why_no_ink(gray: np.ndarray) -> str:
    """Why no ink was found, in words: nothing at all, or nothing beyond the grain."""
    low, high = np.percentile(_spread_out(gray), [1, 99])
    if high - low < 2 * NOISE_FLOOR:
        return "the image is blank"
    return (
        "the image is blank, or its strokes are too faint to stand out from the "
        "paper's grain and shading: darker ink, or more light, helps"
    )


def _flat_paper(gray: np.ndarray) -> float | None:
    """The grey of a digital drawing's paper: the one grey level that three quarters of
    the pixels hold exactly (a canvas, a scan cleaned up, an MNIST image's black); None
    for a photo, whose paper has grain and light that varies.  Steps 0 and 1 are then
    left out: no desk to cut away, no paper to estimate."""
    sample = _spread_out(gray)
    levels = np.rint(sample)
    if not np.all(levels == sample) or levels.min() < 0 or levels.max() > 255:
        return None  # not whole grey levels: not read from an 8-bit drawing
    counts = np.bincount(levels.astype(np.intp).ravel(), minlength=256)
    return float(np.argmax(counts)) if counts.max() > 0.75 * sample.size else None


def _cropped(ink: np.ndarray, threshold: float, name: str = "image") -> np.ndarray:
    """`ink` cut to the box of its pixels above `threshold`; DigitnetError if none is."""
    inked = ink > threshold
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if rows.size == 0:
        raise DigitnetError(f"{name}: no digit found (the image is blank)")
    return ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _shrunk(image: np.ndarray, side: int = LOCATE_SIDE) -> np.ndarray:
    """`image` as float32, shrunk (never enlarged) to at most `side` pixels a side, each
    new pixel the mean of the old ones it covers (a thin stroke grows fainter, it never
    vanishes)."""
    from PIL import Image

    height, width = image.shape
    factor = max(height, width) / side
    if factor <= 1:
        return image.astype(np.float32)
    if factor == int(factor):  # a whole factor (1024 to 512): the same means, faster
        return _block_means(image, int(factor))
    picture = Image.fromarray(image.astype(np.float32), mode="F")
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return np.asarray(picture.resize(size, Image.Resampling.BOX))


def _border_contact(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For each piece 0..count: whether it touches the picture's border at all, and
    whether it runs along it, covering a quarter of one side or more within
    BORDER_BAND of it (a sheet's edge, a shadow's, a strip of desk, even once the
    ruled-line step has taken the rows that ran edge to edge off it).  A digit drawn
    up to the edge of a canvas only touches it."""
    touching = np.zeros(count + 1, bool)
    along = np.zeros(count + 1, bool)
    depth = max(1, round(BORDER_BAND * max(labels.shape)))
    for band in (labels[:depth], labels[::-1][:depth], labels.T[:depth], labels.T[::-1][:depth]):
        touching[band[0]] = True  # the outermost row or column: the border itself
        length = band.shape[1]  # each (piece, position along the side) once, then counted
        present = np.unique(band.astype(np.int64) * length + np.arange(length)) // length
        along |= np.bincount(present, minlength=count + 1) >= 0.25 * length
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
    (A desk along one side only is left to `only_the_digit`, which never takes a piece
    running along the border for the digit.)
    """
    from PIL import Image

    height, width = gray.shape
    small = _shrunk(gray)
    if small.max() - small.min() < 2 * NOISE_FLOOR:  # one grey all over: no sheet to see
        return gray
    labels, count = connected_pieces(small > _otsu(small))
    if count == 0:
        return gray
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    sheet_label = int(np.argmax(areas)) + 1
    sheet = labels == sheet_label
    rows, columns = ndimage.find_objects(sheet.astype(np.int8))[0]
    box = (rows.stop - rows.start) * (columns.stop - columns.start)
    # A sheet is big and solid: it fills most of its box (a rectangle turned by 10
    # degrees fills 74%).  Strokes of chalk fill a third of theirs at most.
    if areas[sheet_label - 1] < 0.1 * small.size or areas[sheet_label - 1] < 0.6 * box:
        return gray
    tall, wide = small.shape
    if rows.stop - 1 - rows.start < 0.25 * tall or columns.stop - 1 - columns.start < 0.25 * wide:
        return gray  # a thick bright stroke (a chalk "1"), not a sheet
    gaps = (rows.start, tall - rows.stop, columns.start, wide - columns.stop)
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
    grown = ndimage.binary_dilation(desk, np.ones((5, 5), bool))
    desk_full = Image.fromarray(grown.astype(np.uint8) * 255)
    desk_full = np.asarray(desk_full.resize((width, height), Image.Resampling.BILINEAR))
    desk_full = desk_full > 0
    # A photographed desk has grain; a drawing's or a scan's black field is flat. A bold
    # white digit on black (an MNIST image) is bright, solid and holed like a sheet.
    around = gray[desk_full]
    if np.median(np.abs(around - np.median(around))) < 1.0:
        return gray
    on_paper = np.where(desk_full, paper, gray)
    top, bottom = (int(v * height / tall) for v in (rows.start, rows.stop))
    left, right = (int(v * width / wide) for v in (columns.start, columns.stop))
    return on_paper[top:bottom, left:right] if bottom - top > 8 and right - left > 8 else gray


def _otsu(values: np.ndarray) -> float:
    """The threshold that best splits `values` into two groups (Otsu, 1979): the one
    that maximises the variance between the groups' means, over a 64-bin histogram.
    (Neither scipy nor Pillow has it; it is a few sums over the histogram.)"""
    low, high = float(values.min()), float(values.max())
    step = (high - low) / 64 or 1.0  # 64 bins from the least to the most
    bins = np.minimum((values - low) / step, 63).astype(np.intp)  # as np.histogram, faster
    counts = np.bincount(bins.ravel(), minlength=64)
    edges = low + step * np.arange(65)
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
    # The first pass is made on the small copy that the paper is estimated on (192
    # pixels a side: the ink it finds is only left out of that estimate), unless ink is
    # too faint to show there: then on the whole picture.
    side = GRID * BLOCK_SIDE
    small = _resized_to(gray, (side, side))
    first = _ink_against(small, remove_paper(small), scaled=False)
    if first is None:
        first = _ink_against(gray, remove_paper(gray), scaled=False)
        if first is None:
            return None
        first = _resized_to((first > 0).astype(np.float32), (side, side)) > 0.05
    return _ink_against(gray, remove_paper(gray, inked=first > 0))


def _spread_out(values: np.ndarray) -> np.ndarray:
    """At most about STATISTICS_SAMPLE pixels of the picture `values`, taken evenly across
    it (every so many rows and columns): their median is all the pixels' median, to well
    within the noise, at a fraction of the cost."""
    step = max(1, int(np.ceil(np.sqrt(values.size / STATISTICS_SAMPLE))))
    return values[::step, ::step]


def _ink_against(gray: np.ndarray, paper: np.ndarray, scaled: bool = True) -> np.ndarray | None:
    """The ink in `gray` on `paper`: 0 for paper and noise, 1 for strong ink (unless not
    `scaled`: then in grey levels above the noise); None if there is no ink."""
    difference = gray - paper
    sample = _spread_out(difference)
    centre = np.median(sample)
    noise = max(NOISE_FLOOR, 1.4826 * float(np.median(np.abs(sample - centre))))  # robust std
    # Far beyond the noise on each side: the side with more is the ink.  (The work on
    # whole pictures below is done in place: each pass over them costs as much as the
    # arithmetic.)
    far = difference[np.abs(difference) > 6 * noise]
    bright = np.sum(far[far > 0] - 6 * noise)
    dark = np.sum(-far[far < 0] - 6 * noise)
    if max(bright, dark) == 0:
        return None
    if bright > dark:  # chalk, or a light pen on a dark screen: ink adds light
        ink = difference
    else:
        # Dark ink takes away a share of the light that falls on it, so in a shadow
        # the same ink differs less from its paper: compare with the paper's light,
        # ink = -difference * typical paper / paper here.
        ink = np.maximum(paper, np.float32(8.0))
        np.divide(-float(np.median(_spread_out(paper))), ink, out=ink)
        ink *= difference
    ink -= np.float32(3 * noise)  # noise to exactly nothing
    np.maximum(ink, 0, out=ink)
    if not scaled:
        return ink
    # The strong ink's 90th percentile becomes 1 (all of it: a hairline is too thin
    # for an evenly spread sample to meet often enough).
    strong = ink[ink > 3 * noise]
    peak = float(np.percentile(strong, 90)) if strong.size else float(ink.max())
    if peak <= 0:  # the dark "ink" was all on paper of no light: nothing to read
        return None
    ink *= np.float32(1 / peak)
    return np.minimum(ink, 1, out=ink)


def without_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """`ink` without the printed lines of ruled or squared paper (step 3's helper).

    A ruled line runs from one side of the picture to the other; a digit's stroke
    does not.  So an unbroken run of ink (small gaps bridged) from within
    LINE_MARGIN of the left edge to within LINE_MARGIN of the right, row by row, is a
    line, and so is one from top to bottom.  Each line pixel (and its soft edges)
    becomes what lies on both sides of the line: ink where a stroke of the digit
    crosses it (ink just above and just below), nothing elsewhere.
    """
    inked = ink > FAINT
    across, down = _edge_to_edge(inked), _edge_to_edge(inked.T).T
    if not (across.any() or down.any()):
        return ink
    across, down = _grown(across), _grown(down)  # with the lines' soft edges
    lines = across | down
    rest = np.where(lines, np.float32(0), ink)
    # The most ink within 4 pixels above a pixel, below it, left and right of it (a
    # printed line with its soft edges is at most ~6 pixels thick).
    before = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], bool)  # 4 before the centre, not it

    def most_within(footprint: np.ndarray) -> np.ndarray:
        return ndimage.maximum_filter(rest, footprint=footprint, mode="constant", cval=0.0)

    above, below = most_within(before[:, None]), most_within(before[::-1, None])
    left, right = most_within(before[None, :]), most_within(before[None, ::-1])
    crossing = np.where(across, np.minimum(above, below), 0.0)
    crossing = np.maximum(crossing, np.where(down, np.minimum(left, right), 0.0))
    return np.where(lines, crossing, ink)


def _edge_to_edge(inked: np.ndarray) -> np.ndarray:
    """Where `inked` has a horizontal run from within LINE_MARGIN of the left edge to
    within LINE_MARGIN of the right (gaps of a pixel or two bridged: a printed line's
    ink is uneven).  A digit's stroke, however long, does not reach both edges."""
    width = inked.shape[1]
    first, last = int(LINE_MARGIN * width), width - 1 - int(LINE_MARGIN * width)
    line = np.zeros_like(inked)
    # Only a row inked near both of those columns can hold a line: most rows are not.
    near_first = inked[:, max(0, first - 2) : first + 3].any(axis=1)
    near_last = inked[:, max(0, last - 2) : last + 3].any(axis=1)
    rows = np.flatnonzero(near_first & near_last)
    if rows.size == 0:
        return line
    # Closing (the most of 3 side by side, then the least of 3) bridges the gaps.
    candidates = inked[rows].view(np.uint8)
    widened = ndimage.maximum_filter1d(candidates, 3, axis=1)
    bridged = candidates.astype(bool) | ndimage.minimum_filter1d(widened, 3, axis=1).astype(bool)
    runs, _ = ndimage.label(bridged, np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]))  # row runs
    reaching_both = np.intersect1d(runs[:, first], runs[:, last])
    line[rows] = np.isin(runs, reaching_both[reaching_both > 0])
    return line & inked


def _grown(mask: np.ndarray) -> np.ndarray:
    """`mask` and the pixels just above, below, left and right of it."""
    return ndimage.maximum_filter(mask.view(np.uint8), footprint=FOUR_NEIGHBOURS).astype(bool)


def remove_paper(gray: np.ndarray, inked: np.ndarray | None = None) -> np.ndarray:
    """The paper's brightness at every pixel (step 1).

    Block medians over the pixels not `inked` (all of them at first), each then
    replaced by the median of its 5x5 neighbourhood, so a thick stroke that
    covers whole blocks is outvoted by the paper around it; a block with almost
    no paper left takes its neighbours' value.  Interpolated back to full size.
    The medians are taken on a copy shrunk to BLOCK_SIDE pixels a block (the
    paper's light changes slowly, so little is lost), all blocks in one call.
    The neighbourhood medians leave out the blocks that are all ink (NaN), which
    scipy's median_filter cannot: a numpy sort over sliding windows does.
    """
    from PIL import Image

    height, width = gray.shape
    side = GRID * BLOCK_SIDE
    small = _resized_to(gray, (side, side))
    if inked is not None:  # `inked` is on that copy already
        small = np.where(inked, np.nan, small)
    blocks = small.reshape(GRID, BLOCK_SIDE, GRID, BLOCK_SIDE).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(GRID, GRID, BLOCK_SIDE * BLOCK_SIDE)
    paper_share = np.mean(~np.isnan(blocks), axis=2)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks: handled below
        medians = np.where(paper_share >= 0.2, _medians_leaving_out_nan(blocks), np.nan)
        if np.all(np.isnan(medians)):
            medians[...] = np.median(_spread_out(gray))
        smooth = _medians_leaving_out_nan(_neighbourhoods(medians, 5).reshape(GRID, GRID, 25))
        while np.any(np.isnan(smooth)):  # a region all ink: fill from around it
            around = np.nanmean(_neighbourhoods(smooth, 3), axis=(2, 3))
            smooth = np.where(np.isnan(smooth), around, smooth)
    # Bilinear interpolation between block centres, out to the edges.
    image = Image.fromarray(smooth.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))


def _resized_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` (float32) resized to `size` (rows, columns), each new pixel the mean of
    the old ones it covers when it shrinks (Pillow's BOX filter)."""
    from PIL import Image

    if image.shape == size:
        return image
    picture = Image.fromarray(image.astype(np.float32, copy=False), mode="F")
    return np.asarray(picture.resize(size[::-1], Image.Resampling.BOX))


def _medians_leaving_out_nan(values: np.ndarray) -> np.ndarray:
    """The median along the last axis of the values that are not NaN (NaN if none is):
    np.nanmedian's answer, from one sort (NaN sorts last), many times faster on small
    groups."""
    ordered = np.sort(values, axis=-1)
    valid = np.sum(~np.isnan(ordered), axis=-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum(valid - 1, 0) // 2, axis=-1)
    high = np.take_along_axis(ordered, valid // 2, axis=-1)
    return ((low + high) / 2)[..., 0]


def _neighbourhoods(grid: np.ndarray, size: int) -> np.ndarray:
    """Each cell's size x size neighbourhood, (rows, columns, size, size); the edge
    cells repeated outwards."""
    padded = np.pad(grid, size // 2, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, (size, size))


def only_the_digit(ink: np.ndarray) -> np.ndarray:
    """The digit's ink alone (step 3): the other pieces blanked, cut to the digit's box."""
    # The pieces are found on a copy at most LOCATE_SIDE pixels a side, each of its pixels
    # a `factor` x `factor` block: inked if any of the block is (so that a hairline never
    # falls apart into dashes), weighing the ink the block holds.
    factor = max(1, -(-max(ink.shape) // LOCATE_SIDE))
    inked = _block_means(ink > PIECE, factor) > 0
    labels, count = connected_pieces(inked)
    if count == 0:
        return ink
    pieces = labels.ravel()
    mass = np.bincount(pieces, weights=_block_means(ink, factor).ravel(), minlength=count + 1)
    area = np.bincount(pieces, minlength=count + 1)
    mass[0] = area[0] = 0  # 0 is the background, not a piece
    touching, along = _border_contact(labels, count)
    # A piece running along the border (a strip of desk, a shadow's or a sheet's edge)
    # is never the digit while another piece is there, and it does not set the scale
    # against which specks are measured: a thin digit beside a heavy strip of desk is
    # still the digit.  Then the heaviest piece clear of the border (a pen or a finger
    # reaching into the photo touches it); else one that only touches it (a digit
    # drawn up to the edge of a canvas).  Specks never win: a fifth of the heaviest.
    could_be_digit = (area > 0) & ~along if np.any((area > 0) & ~along) else area > 0
    big = could_be_digit & (mass >= 0.2 * mass[could_be_digit].max())
    candidates = big & ~touching if np.any(big & ~touching) else big
    main = int(np.argmax(np.where(candidates, mass, -1)))
    # Each piece's box: top, bottom, left, right (inclusive), and its gap to the digit's.
    slices = ndimage.find_objects(labels)
    boxes = np.array([(0, 0, 0, 0)] + [(rows.start, rows.stop - 1, columns.start, columns.stop - 1)
                                       for rows, columns in slices])  # fmt: skip
    top, bottom, left, right = boxes[main]
    gap = np.max([top - boxes[:, 1], boxes[:, 0] - bottom, left - boxes[:, 3],
                  boxes[:, 2] - right, np.zeros(count + 1)], axis=0)  # fmt: skip
    reach = 0.3 * max(bottom - top, right - left) + 1
    # The pieces near the digit join it (the bar of a 5 the pen did not join).  One that
    # touches the border joins only if it is as strong as pen strokes are (what a shadow
    # or a sheet's edge leaves there is faint) and close (a stroke of the digit, not a
    # pen lying beside it).
    strong = mass / np.maximum(area, 1) >= 0.5
    near = (gap <= reach) & (mass >= 0.02 * mass[main])
    fits = ~along & (~touching | (strong & (gap <= reach / 3)))
    keep = near & fits
    keep[main], keep[0] = True, False
    # The chosen pieces in their box, a pixel wider all round so that no anti-aliased
    # edge is cut, back at full size.
    top, left = max(boxes[keep, 0].min() - 1, 0), max(boxes[keep, 2].min() - 1, 0)
    bottom, right = boxes[keep, 1].max() + 2, boxes[keep, 3].max() + 2
    chosen = ndimage.maximum_filter(keep[labels[top:bottom, left:right]].view(np.uint8), 3)
    mask = np.repeat(np.repeat(chosen, factor, axis=0), factor, axis=1)
    part = ink[top * factor :, left * factor :][: mask.shape[0], : mask.shape[1]]
    return part * mask[: part.shape[0], : part.shape[1]]


def _block_means(image: np.ndarray, factor: int) -> np.ndarray:
    """The mean of each `factor` x `factor` block of `image` (Pillow's reduce; the blocks
    at the right and bottom edges may be smaller)."""
    from PIL import Image

    image = image.astype(np.float32, copy=False)
    if factor == 1:
        return image
    height, width = image.shape
    if height % factor or width % factor:
        return np.asarray(Image.fromarray(image, mode="F").reduce(factor))
    # Whole blocks: the sum of every factor-th row, then of every factor-th column.
    rows = np.add.reduce([image[start::factor] for start in range(factor)])
    blocks = np.add.reduce([rows[:, start::factor] for start in range(factor)])
    return blocks * np.float32(1 / factor**2)


def connected_pieces(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected pieces of a boolean image: (labels, count), labels 1..count
    numbered in reading order of their first pixel.  Two pixels are in one piece if a
    path of True pixels joins them, steps to the diagonal neighbours included (a stroke
    drawn at 45 degrees is a staircase of pixels touching at their corners)."""
    labels, count = ndimage.label(mask, structure=EIGHT_NEIGHBOURS)
    return labels, int(count)


def _into_box(cropped: np.ndarray) -> np.ndarray:
    """The digit scaled so its longer side is BOX pixels, strokes at least MNIST-thick,
    the strongest ink at 255."""
    large = _resized(cropped, 4 * BOX)  # thickening is cheap at 4x the box, and exact enough
    # The stroke's width as a share of the digit's size.  At this size chalk's grain is
    # averaged away, and a hairline, though faint, is still the brightest thing there.
    relative = _stroke_width(large > 0.5 * large.max()) / (4 * BOX)
    if 0 < relative < 0.75 * STROKE:  # thinner than most MNIST digits (a thin pen)
        large = _thickened(large, min(int(round((STROKE - relative) * 4 * BOX)) | 1, 11))
    boxed = np.clip(_resized(large, BOX), 0, None)
    faint = 0.05 * boxed.max()
    peak = np.percentile(boxed[boxed > faint], 90) if np.any(boxed > faint) else 1.0
    return np.clip(255 * boxed / max(peak, 1e-6), 0, 255)


def _thickened(large: np.ndarray, grow: int) -> np.ndarray:
    """`large` (the digit at 4x the box) with each pixel the brightest of the `grow` x
    `grow` square around it: strokes `grow - 1` pixels thicker.

    Thickening must not change what the digit is: a gap the writer left (the hook of
    a 7 near its bar, the open top of a 4, a 2's curl) must not close into a loop,
    nor a small loop fill up.  The digit's loops are counted with its strokes grown
    by 4 pixels, one output pixel: a gap narrower than that is closed in the 20x20
    image anyway, and a hairline's faint spots are bridged.  The thickened strokes,
    and strokes 2 pixels thicker still (a margin: the 20x20 image blurs a gap of half
    a pixel), must have those loops; if not, the pen grows less, down to those 4
    pixels."""

    def grown_by(size: int) -> np.ndarray:
        return ndimage.grey_dilation(np.pad(large, size), size=(size, size))

    def loops(size: int) -> int:
        return _loops(grown_by(size) > 0.25 * large.max())  # faint hairline parts too

    least = min(grow, 5)  # 4 pixels thicker at most: what the loops are counted at
    drawn = loops(least)
    size = next((size for size in range(grow, least, -2)  # odd: the square stays centred
                 if loops(size) == drawn and loops(size + 2) == drawn), least)  # fmt: skip
    grown = grown_by(size)
    return _cropped(grown, 0.05 * grown.max())


def _loops(strokes: np.ndarray) -> int:
    """How many loops the strokes close: the pieces of background that do not reach
    the picture's edge (a 0 has one, an 8 two, a 7 none), LOOP_AREA pixels or more (a
    pinhole in a stroke is no loop).  Background pieces are 4-connected: a loop whose
    strokes touch only at a corner is still closed."""
    background, count = ndimage.label(np.pad(~strokes, 1), FOUR_NEIGHBOURS)
    areas = np.bincount(background.ravel(), minlength=count + 1)[2:]  # 1: the outside
    return int(np.sum(areas >= LOOP_AREA))


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    """`image` scaled so that its longer side is `side` pixels, keeping its shape:
    shrunk by averaging (BOX) when it shrinks a lot, else by Lanczos (sharp)."""
    from PIL import Image

    height, width = image.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    method = Image.Resampling.BOX if scale < 0.5 else Image.Resampling.LANCZOS
    resized = Image.fromarray(image.astype(np.float32), mode="F").resize(size, method)
    return np.asarray(resized, dtype=np.float64)


def _stroke_width(strokes: np.ndarray) -> float:
    """Mean width of the strokes in a boolean image: area / half the outline's length.
    (A stroke w wide and L long has area w*L and an outline about 2*L long.)  The
    outline is the stroke pixels that lose a plus-shaped erosion."""
    area = strokes.sum()
    if area == 0:
        return 0.0
    outline = strokes & ~ndimage.binary_erosion(strokes, FOUR_NEIGHBOURS, border_value=0)
    return float(2 * area / max(outline.sum(), 1))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass: each pixel's coordinates weighted by
    its ink, summed, and divided by all the ink, sum(r * ink) / sum(ink) for the row
    (scipy.ndimage.center_of_mass)."""
    row, column = ndimage.center_of_mass(image)
    return float(row), float(column)


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
