// The page: draw on the canvas; at each pause and each lifted pen, the drawing is
// preprocessed (drawing.js) and read by the network (forward.js), all in this file.
"use strict";

const pad = document.getElementById("pad");
const pen = pad.getContext("2d", {willReadFrequently: true});
const seen = document.getElementById("seen");
const guess = document.getElementById("guess");
const statusLine = document.getElementById("status");
const bars = document.getElementById("bars");
const penWidth = document.getElementById("pen");
const modelInfo = document.getElementById("model-info");

const network = decodeNetwork(JSON.parse(document.getElementById("network").textContent));
let strokes = [];       // each stroke: {width, points: [[x, y], ...]} in canvas pixels
let current = null;     // the stroke being drawn
let pending = null;     // the timer of the next live reading

function redraw() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  pen.strokeStyle = "#000";
  pen.fillStyle = "#000";
  pen.lineCap = "round";
  pen.lineJoin = "round";
  for (const stroke of strokes) {
    pen.lineWidth = stroke.width;
    const [first, ...rest] = stroke.points;
    if (rest.length === 0) {  // a dot
      pen.beginPath();
      pen.arc(first[0], first[1], stroke.width / 2, 0, 2 * Math.PI);
      pen.fill();
      continue;
    }
    pen.beginPath();
    pen.moveTo(first[0], first[1]);
    for (const [x, y] of rest) pen.lineTo(x, y);
    pen.stroke();
  }
}

function where(event) {
  // Inside the border: the drawing area starts clientLeft/clientTop pixels in.
  const box = pad.getBoundingClientRect();
  const x = event.clientX - box.left - pad.clientLeft;
  const y = event.clientY - box.top - pad.clientTop;
  return [x * pad.width / pad.clientWidth, y * pad.height / pad.clientHeight];
}

pad.addEventListener("pointerdown", (event) => {
  // One pen at a time: a second finger or a resting palm does not draw.
  if (current || !event.isPrimary || (event.pointerType === "mouse" && event.button !== 0)) return;
  pad.setPointerCapture(event.pointerId);
  current = {width: Number(penWidth.value), points: [where(event)], pointer: event.pointerId};
  strokes.push(current);
  redraw();
  event.preventDefault();
});
pad.addEventListener("pointermove", (event) => {
  if (!current || event.pointerId !== current.pointer) return;
  current.points.push(where(event));
  redraw();
  soon(120, false);  // live while drawing, but not at every pixel of the stroke
});
function endStroke(event) {
  if (!current || event.pointerId !== current.pointer) return;
  current = null;
  soon(0, true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function soon(delay, announce) {
  clearTimeout(pending);
  pending = setTimeout(() => readDrawing(announce), delay);
}

function clearAll() {
  strokes = [];
  redraw();
  clearTimeout(pending);
  show(null);
  statusLine.textContent = "Cleared. Draw a digit.";
}
function undo() {
  strokes.pop();
  redraw();
  if (strokes.length) soon(0, true); else clearAll();
}
document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("undo").addEventListener("click", undo);
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT") return;  // the pen slider's own keys
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { undo(); event.preventDefault(); }
  if (event.key === "Escape") clearAll();
});

// The canvas as gray levels, 0..255 (the luminance of its pixels, as PIL's "L" mode).
function canvasGray() {
  const rgba = pen.getImageData(0, 0, pad.width, pad.height).data;
  const gray = new Float64Array(pad.width * pad.height);
  for (let i = 0; i < gray.length; i++)
    gray[i] = Math.floor((rgba[4 * i] * 299 + rgba[4 * i + 1] * 587 + rgba[4 * i + 2] * 114) / 1000);
  return gray;
}

function readDrawing(announce) {
  if (!strokes.length) return;
  const started = performance.now();
  const pixels = prepareDrawing(canvasGray(), pad.width, pad.height);
  if (pixels === null) { show(null); return; }
  const answer = classify(network, pixels);
  const prediction = answer.probabilities.indexOf(Math.max(...answer.probabilities));
  show({...answer, prediction, label: network.classes[prediction], input: pixels});
  window.digitnet.readingMs = performance.now() - started;  // preprocessing + network + bars
  const percent = (100 * answer.probabilities[prediction]).toFixed(1);
  // The status line is read out by screen readers: only when the pen is lifted.
  if (announce) statusLine.textContent = `The drawing reads as ${network.classes[prediction]} (${percent}% sure).`;
}

function show(answer) {
  window.digitnet.answer = answer;
  guess.textContent = answer ? answer.label : "–";
  drawSeen(answer ? answer.input : null);
  bars.querySelectorAll("li").forEach((item, index) => {
    const p = answer ? answer.probabilities[index] : 0;
    item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".value").textContent = answer ? `${(100 * p).toFixed(1)}%` : "";
    item.classList.toggle("top", Boolean(answer) && index === answer.prediction);
    item.setAttribute("aria-label", `${network.classes[index]}: ${(100 * p).toFixed(1)} percent`);
  });
}

function drawSeen(pixels) {
  const context = seen.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = pixels ? pixels[i] : 0;
    image.data.set([v, v, v, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

function start() {
  const accuracy = network.dev_accuracy === null ? "not measured"
    : `${(100 * network.dev_accuracy).toFixed(2)}% on ${network.dev_size} held-out images`;
  modelInfo.textContent = `recipe ${network.recipe}, layers ${network.layer_spec}; accuracy ${accuracy}; trained on ${network.data}`;
  bars.replaceChildren(...network.classes.map((name) => {
    const item = document.createElement("li");
    item.innerHTML = '<span class="name"></span><span class="bar"><span class="fill"></span></span><span class="value"></span>';
    item.querySelector(".name").textContent = name;
    return item;
  }));
  redraw();
  show(null);
  statusLine.textContent = "Draw a digit to start.";
  window.digitnet.ready = performance.now();
  document.body.dataset.ready = "yes";  // for the tests
}

// For the tests and the curious (in the browser's console): the pieces of the page.
window.digitnet = {network, classify: (pixels) => classify(network, pixels), prepareDrawing,
                   canvasGray, answer: null, ready: null, readingMs: null};
start();
