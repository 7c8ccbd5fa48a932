// The network's forward pass, one image at a time: the layers of digitnet's
// network/ again, in plain JavaScript, with digitnet's own layouts.
//
//   a vector        Float64Array of its n values
//   a feature map   Float64Array of height * width * channels values, channels last:
//                   the value at (row i, column j, channel c) is at (i * width + j) * channels + c
//   Dense weight    (inputs, units), row by row: W[i][u] is at i * units + u     z = x W + b
//   conv kernel     (kh, kw, channels, filters): K[dy][dx][c][f] is at
//                   ((dy * kw + dx) * channels + c) * filters + f
// Because the maps are channels-last as in digitnet, `flatten` moves nothing.
"use strict";

const layers = {
  // z = x W + b
  dense(x, layer) {
    const {inputs, units} = layer;
    const W = layer.weight, z = Float64Array.from(layer.bias);
    for (let i = 0; i < inputs; i++) {
      const xi = x.values[i];
      if (xi === 0) continue;  // most pixels are blank
      const row = i * units;
      for (let u = 0; u < units; u++) z[u] += xi * W[row + u];
    }
    return {values: z, shape: [units]};
  },

  // z[i, j, f] = b[f] + sum over dy, dx, c of x[s*i + dy - top, s*j + dx - left, c] K[dy, dx, c, f]
  // ('same' padding: the zeros around the image are the positions outside it, skipped)
  conv(x, layer) {
    const [height, width, channels] = x.shape;
    const {filters, size: k, stride: s, top, left, rows, columns} = layer;
    const K = layer.kernel, z = new Float64Array(rows * columns * filters);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const out = (i * columns + j) * filters;
        for (let f = 0; f < filters; f++) z[out + f] = layer.bias[f];
        for (let dy = 0; dy < k; dy++) {
          const y = s * i + dy - top;
          if (y < 0 || y >= height) continue;
          for (let dx = 0; dx < k; dx++) {
            const xx = s * j + dx - left;
            if (xx < 0 || xx >= width) continue;
            const pixel = (y * width + xx) * channels;
            const taps = (dy * k + dx) * channels * filters;
            for (let c = 0; c < channels; c++) {
              const value = x.values[pixel + c];
              if (value === 0) continue;
              const tap = taps + c * filters;
              for (let f = 0; f < filters; f++) z[out + f] += value * K[tap + f];
            }
          }
        }
      }
    }
    return {values: z, shape: [rows, columns, filters]};
  },

  // a[i, j, c] = max over the size x size window at (s*i, s*j) of x[., ., c]
  pool(x, layer) {
    const [, width, channels] = x.shape;
    const {size, stride: s, rows, columns} = layer;
    const a = new Float64Array(rows * columns * channels).fill(-Infinity);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < columns; j++)
        for (let dy = 0; dy < size; dy++)
          for (let dx = 0; dx < size; dx++) {
            const from = ((s * i + dy) * width + s * j + dx) * channels;
            const to = (i * columns + j) * channels;
            for (let c = 0; c < channels; c++) a[to + c] = Math.max(a[to + c], x.values[from + c]);
          }
    return {values: a, shape: [rows, columns, channels]};
  },

  // y = gamma (x - mean) / sqrt(var + eps) + beta, per unit or per channel (the last axis),
  // with the running averages kept in training
  bn(x, layer) {
    const n = layer.scale.length, y = new Float64Array(x.values.length);
    for (let index = 0; index < y.length; index++) {
      const c = index % n;
      y[index] = layer.scale[c] * (x.values[index] - layer.running_mean[c])
        / Math.sqrt(layer.running_var[c] + layer.eps) + layer.shift[c];
    }
    return {values: y, shape: x.shape};
  },

  relu: (x) => each(x, (z) => Math.max(z, 0)),
  leaky_relu: (x, layer) => each(x, (z) => (z > 0 ? z : layer.slope * z)),
  tanh: (x) => each(x, Math.tanh),
  sigmoid: (x) => each(x, (z) => 0.5 * (1 + Math.tanh(0.5 * z))),
  dropout: (x) => x,  // dropout is off when predicting
  image: (x, layer) => ({values: x.values, shape: [layer.side, layer.side, 1]}),
  flatten: (x) => ({values: x.values, shape: [x.values.length]}),  // already in digitnet's order
};

function each(x, f) {
  return {values: x.values.map(f), shape: x.shape};
}

// The probabilities: softmax of the logits, shifted by their largest so no exp overflows.
function softmax(logits) {
  const top = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

// pixels: 784 stored pixel values (0..255) -> {logits, probabilities}
function classify(network, pixels) {
  let x = {values: Float64Array.from(pixels, (v) => v / network.divide_by), shape: [pixels.length]};
  for (const layer of network.layers) x = layers[layer.kind](x, layer);
  const logits = Array.from(x.values);
  return {logits, probabilities: softmax(logits)};
}

// The weights arrive as base64 text of little-endian float32 numbers.
function decodeNetwork(description) {
  const arrays = (text) => {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer);
  };
  const network = {...description, layers: description.layers.map((layer) => {
    const decoded = {...layer};
    for (const [name, text] of Object.entries(layer.arrays || {})) decoded[name] = arrays(text);
    return decoded;
  })};
  return network;
}
