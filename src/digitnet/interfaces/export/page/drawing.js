// A drawing -> the 28x28 image the network reads: the drawing path of digitnet's
// preprocessing (data/digit_photo.py), step for step as interfaces/export/drawing.py
// writes it in Python (the tests hold the two equal):
//   1. find the ink: 255 - gray, less a noise margin, its 90th percentile full ink;
//   2. crop to the box of what holds more than INK of full ink;
//   3. scale into a 20x20 box keeping the aspect, by area averaging, via 4x that size
//      where a stroke thinner than most of MNIST's is thickened; the 90th percentile
//      of the inked pixels becomes full white (255);
//   4. centre by the centre of mass in 28x28 (the shift rounded ties-to-even, as
//      Python's round()).
"use strict";

const BOX = 20, FIELD = 28, NOISE = 6, INK = 0.2, FAINT = 0.05;
const STROKE = 0.13;  // MNIST's stroke width as a share of the digit's size

// The largest of many values (spreading them into Math.max has a length limit).
function largest(values) {
  let best = -Infinity;
  for (const value of values) best = Math.max(best, value);
  return best;
}

// numpy's default percentile: linear between the two nearest sorted values.
function percentile(values, share) {
  const ordered = Float64Array.from(values).sort();
  const position = share / 100 * (ordered.length - 1);
  const low = Math.floor(position), high = Math.min(low + 1, ordered.length - 1);
  return ordered[low] + (ordered[high] - ordered[low]) * (position - low);
}

// (sizeOut x sizeIn): output pixel k averages the input pixels that [k, k+1) * scale covers.
function areaWeights(sizeIn, sizeOut) {
  const scale = sizeIn / sizeOut;
  const weights = [];
  for (let k = 0; k < sizeOut; k++) {
    const start = k * scale, end = (k + 1) * scale, row = new Float64Array(sizeIn);
    for (let i = Math.floor(start); i < Math.min(Math.ceil(end), sizeIn); i++)
      row[i] = (Math.min(end, i + 1) - Math.max(start, i)) / scale;
    weights.push(row);
  }
  return weights;
}

// An image {values, height, width} scaled so its longer side is `side` pixels:
// rows first, then columns, each an area average.
function resized(image, side) {
  const {values, height, width} = image;
  const scale = side / Math.max(height, width);
  const outHeight = Math.max(1, Math.floor(height * scale + 0.5));
  const outWidth = Math.max(1, Math.floor(width * scale + 0.5));
  const down = areaWeights(height, outHeight), across = areaWeights(width, outWidth);
  const rows = new Float64Array(outHeight * width);
  for (let k = 0; k < outHeight; k++)
    for (let i = 0; i < height; i++) {
      const w = down[k][i];
      if (w === 0) continue;
      for (let x = 0; x < width; x++) rows[k * width + x] += w * values[i * width + x];
    }
  const out = new Float64Array(outHeight * outWidth);
  for (let k = 0; k < outHeight; k++)
    for (let m = 0; m < outWidth; m++) {
      let sum = 0;
      for (let x = 0; x < width; x++) sum += rows[k * width + x] * across[m][x];
      out[k * outWidth + m] = sum;
    }
  return {values: out, height: outHeight, width: outWidth};
}

// Mean width of the strokes (pixels above half the strongest): area / half the outline.
function strokeWidth(image) {
  const {values, height, width} = image;
  const strongest = largest(values);
  const inked = (y, x) => y >= 0 && y < height && x >= 0 && x < width
    && values[y * width + x] > 0.5 * strongest;
  let area = 0, outline = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (!inked(y, x)) continue;
      area += 1;
      if (!(inked(y - 1, x) && inked(y + 1, x) && inked(y, x - 1) && inked(y, x + 1))) outline += 1;
    }
  return area === 0 ? 0 : 2 * area / Math.max(outline, 1);
}

// A stroke thinner than most of MNIST's, at 4x the box, made STROKE thick: each pixel
// becomes the largest in its grow x grow window; then cropped to the ink again.
function thickened(large) {
  const relative = strokeWidth(large) / (4 * BOX);
  if (!(relative > 0 && relative < 0.75 * STROKE)) return large;
  const grow = Math.min(Math.floor((STROKE - relative) * 4 * BOX + 0.5) | 1, 11);
  const reach = Math.floor(grow / 2);
  const height = large.height + 2 * grow, width = large.width + 2 * grow;
  const at = (y, x) => {  // the image with `grow` zeros around it
    const yy = y - grow, xx = x - grow;
    return yy >= 0 && yy < large.height && xx >= 0 && xx < large.width
      ? large.values[yy * large.width + xx] : 0;
  };
  const grown = new Float64Array(height * width);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let best = 0;
      for (let dy = -reach; dy <= reach; dy++)
        for (let dx = -reach; dx <= reach; dx++) best = Math.max(best, at(y + dy, x + dx));
      grown[y * width + x] = best;
    }
  const strongest = largest(grown);
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (grown[y * width + x] > FAINT * strongest) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
  const out = {values: new Float64Array((bottom - top + 1) * (right - left + 1)),
               height: bottom - top + 1, width: right - left + 1};
  for (let y = top; y <= bottom; y++)
    for (let x = left; x <= right; x++)
      out.values[(y - top) * out.width + x - left] = grown[y * width + x];
  return out;
}

// Python's round(): ties to even, after rounding away the last digits (so that sums
// made in another order than numpy's round alike).
function roundHalfEven(value) {
  value = Math.floor(value * 1e6 + 0.5) / 1e6;
  let nearest = Math.floor(value + 0.5);
  if (nearest - value === 0.5 && Math.abs(nearest % 2) === 1) nearest -= 1;
  return nearest;
}

// gray: width * height values, 0..255, row by row -> 784 pixels (0..255), or null if blank
function prepareDrawing(gray, width, height) {
  // 1. ink, 0..1
  const ink = new Float64Array(gray.length);
  const strong = [];
  for (let i = 0; i < gray.length; i++) {
    ink[i] = Math.max(255 - gray[i] - NOISE, 0);
    if (ink[i] > NOISE) strong.push(ink[i]);
  }
  if (strong.length === 0) return null;
  const peak = percentile(strong, 90);
  for (let i = 0; i < ink.length; i++) ink[i] = Math.min(Math.max(ink[i] / peak, 0), 1);

  // 2. the box of the ink
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x] > INK) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
  if (bottom < 0) return null;
  const tall = bottom - top + 1, wide = right - left + 1;

  // 3. into the 20x20 box, via 4x that size where a thin stroke is thickened
  const cropped = {values: new Float64Array(tall * wide), height: tall, width: wide};
  for (let y = 0; y < tall; y++)
    for (let x = 0; x < wide; x++) cropped.values[y * wide + x] = ink[(top + y) * width + left + x];
  const small = resized(thickened(resized(cropped, 4 * BOX)), BOX);
  const boxed = small.values, outTall = small.height, outWide = small.width;
  const strongest = largest(boxed);
  const inked = boxed.filter((v) => v > FAINT * strongest);
  const full = inked.length ? percentile(inked, 90) : 1;
  for (let i = 0; i < boxed.length; i++)
    boxed[i] = Math.min(Math.max(255 * boxed[i] / Math.max(full, 1e-6), 0), 255);

  // 4. centre of mass to the centre of the 28x28 field
  let total = 0, rowMass = 0, columnMass = 0;
  for (let k = 0; k < outTall; k++)
    for (let m = 0; m < outWide; m++) {
      const v = boxed[k * outWide + m];
      total += v; rowMass += k * v; columnMass += m * v;
    }
  const centre = (FIELD - 1) / 2;
  const shiftDown = roundHalfEven(centre - rowMass / total);
  const shiftRight = roundHalfEven(centre - columnMass / total);
  const field = new Uint8ClampedArray(FIELD * FIELD);
  for (let k = 0; k < outTall; k++)
    for (let m = 0; m < outWide; m++) {
      const y = k + shiftDown, x = m + shiftRight;
      if (y >= 0 && y < FIELD && x >= 0 && x < FIELD)
        field[y * FIELD + x] = Math.floor(boxed[k * outWide + m] + 0.5);
    }
  return Array.from(field);
}
