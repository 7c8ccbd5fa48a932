// A drawing -> the 28x28 image the network reads: the drawing path of digitnet's
// preprocessing (data/digit_photo.py), step for step as interfaces/export/drawing.py
// writes it in Python (the tests hold the two equal):
//   1. find the ink: 255 - gray, less a noise margin, its 90th percentile full ink;
//   2. crop to the box of what holds more than INK of full ink;
//   3. scale into a 20x20 box keeping the aspect, by area averaging; the 90th
//      percentile of the inked pixels becomes full white (255);
//   4. centre by the centre of mass in 28x28.
"use strict";

const BOX = 20, FIELD = 28, NOISE = 6, INK = 0.2, FAINT = 0.05;

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

  // 3. into the 20x20 box: rows, then columns, each an area average
  const scale = BOX / Math.max(tall, wide);
  const outTall = Math.max(1, Math.floor(tall * scale + 0.5));
  const outWide = Math.max(1, Math.floor(wide * scale + 0.5));
  const down = areaWeights(tall, outTall), across = areaWeights(wide, outWide);
  const rows = [];  // outTall x wide
  for (let k = 0; k < outTall; k++) {
    const row = new Float64Array(wide);
    for (let i = 0; i < tall; i++) {
      const w = down[k][i];
      if (w === 0) continue;
      for (let x = 0; x < wide; x++) row[x] += w * ink[(top + i) * width + left + x];
    }
    rows.push(row);
  }
  const boxed = new Float64Array(outTall * outWide);
  for (let k = 0; k < outTall; k++)
    for (let m = 0; m < outWide; m++) {
      let sum = 0;
      for (let x = 0; x < wide; x++) sum += rows[k][x] * across[m][x];
      boxed[k * outWide + m] = sum;
    }
  const strongest = Math.max(...boxed);
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
  const shiftDown = Math.floor(centre - rowMass / total + 0.5);
  const shiftRight = Math.floor(centre - columnMass / total + 0.5);
  const field = new Uint8ClampedArray(FIELD * FIELD);
  for (let k = 0; k < outTall; k++)
    for (let m = 0; m < outWide; m++) {
      const y = k + shiftDown, x = m + shiftRight;
      if (y >= 0 && y < FIELD && x >= 0 && x < FIELD)
        field[y * FIELD + x] = Math.floor(boxed[k * outWide + m] + 0.5);
    }
  return Array.from(field);
}
