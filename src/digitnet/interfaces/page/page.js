// The drawing page of `digitnet serve`: draw, send the drawing to /api/predict, show
// the answer. Plain JavaScript, no library, nothing fetched from elsewhere.
"use strict";

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const seen = document.getElementById("seen");
const guess = document.getElementById("guess");
const statusLine = document.getElementById("status");
const bars = document.getElementById("bars");
const inside = document.getElementById("inside");
const modelChoice = document.getElementById("model");
const modelInfo = document.getElementById("model-info");
const penWidth = document.getElementById("pen");

let strokes = [];       // each stroke: {width, points: [[x, y], ...]} in canvas pixels
let current = null;     // the stroke being drawn
let classes = [];
let models = [];
let pending = null;     // the debounce timer
let asked = 0;          // answers to older requests are dropped

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
  // One pen at a time: a second finger or a resting palm does not draw, nor do the
  // mouse's other buttons.
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
  soon(250, false);  // live, but not on every pixel of the stroke, and quietly
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
  pending = setTimeout(() => sendDrawing(announce), delay);
}

function clearAll() {
  strokes = [];
  redraw();
  clearTimeout(pending);
  asked += 1;
  show(null);
  statusLine.textContent = "Cleared. Draw a digit.";
}
document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("undo").addEventListener("click", undo);
function undo() {
  strokes.pop();
  redraw();
  if (strokes.length) soon(0, true); else clearAll();
}
document.addEventListener("keydown", (event) => {
  if (["SELECT", "INPUT"].includes(event.target.tagName)) return;  // their own keys
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { undo(); event.preventDefault(); }
  if (event.key === "Escape") clearAll();
});

function sendDrawing(announce) {
  if (!strokes.length) return;
  const number = ++asked;  // taken now: a Clear while the picture is made outdates it
  pad.toBlob((blob) => ask(blob, "your drawing", number, announce), "image/png");
}

document.getElementById("photo").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  strokes = [];
  redraw();
  ask(file, `the photo ${file.name}`, ++asked, true);
  event.target.value = "";  // the same file can be chosen again
});
modelChoice.addEventListener("change", () => {
  asked += 1;  // an answer still on its way is the old model's
  describeModel();
  if (strokes.length) soon(0, true);
});

// `what` names the picture: "your drawing", or "the photo seven.jpg" (a file name
// cannot start a sentence: it may begin in lower case, or be "IMG_2041.JPG").
function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function ask(body, what, number, announce) {
  if (number !== asked) return;
  if (announce) statusLine.textContent = `Reading ${what}…`;
  const type = body.type && body.type.startsWith("image/") ? body.type : "application/octet-stream";
  let answer;
  try {
    const response = await fetch(`/api/predict?model=${encodeURIComponent(modelChoice.value)}`,
                                 {method: "POST", headers: {"Content-Type": type}, body});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `error ${response.status}`);
  } catch (problem) {
    if (number === asked) { show(null); statusLine.textContent = `Could not read it: ${problem.message}`; }
    return;
  }
  if (number !== asked) return;  // a newer drawing is on its way
  show(answer);
  const percent = (100 * answer.probabilities[answer.prediction]).toFixed(1);
  // The status line is read out by screen readers: only when the pen is lifted.
  if (announce) statusLine.textContent = `${capitalised(what)} reads as ${answer.label} (${percent}% sure).`;
}

function show(answer) {
  guess.textContent = answer ? answer.label : "–";
  drawSeen(answer ? answer.input : null);
  bars.querySelectorAll("li").forEach((item, index) => {
    const p = answer ? answer.probabilities[index] : 0;
    item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".value").textContent = answer ? `${(100 * p).toFixed(1)}%` : "";
    item.classList.toggle("top", Boolean(answer) && index === answer.prediction);
    item.setAttribute("aria-label", `${classes[index]}: ${(100 * p).toFixed(1)} percent`);
  });
  drawInside(answer ? answer.inside : []);
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

function grayCanvas(width, height, values, scale) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  values.forEach((value, i) => {
    const v = Math.round(value * scale);
    image.data.set([v, v, v, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
  return canvas;
}

function drawInside(layers) {
  inside.replaceChildren();
  for (const layer of layers) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    figure.append(caption);
    if (layer.kind === "units") {
      const count = layer.shape[0];
      const across = Math.min(count, 32);
      const values = layer.values.concat(new Array(across * Math.ceil(count / across) - count).fill(0));
      const canvas = grayCanvas(across, Math.ceil(count / across), values, 255);
      canvas.className = "units";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${count} hidden units of ${layer.layer}`);
      caption.textContent = `${layer.layer}: ${count} units`;
      figure.append(canvas);
    } else {
      const [height, width, count] = layer.shape;
      caption.textContent = `${layer.layer}: ${layer.values.length} of ${count} feature maps, ${height}x${width}`;
      const maps = document.createElement("div");
      maps.className = "maps";
      for (const values of layer.values) {
        const canvas = grayCanvas(width, height, values, 1);
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `a feature map of ${layer.layer}`);
        maps.append(canvas);
      }
      figure.append(maps);
    }
    inside.append(figure);
  }
}

function describeModel() {
  const chosen = models.find((m) => m.name === modelChoice.value);
  if (!chosen) return;
  const accuracy = chosen.dev_accuracy === null ? "not measured"
    : `${(100 * chosen.dev_accuracy).toFixed(2)}% on ${chosen.dev_size} held-out images`;
  modelInfo.textContent = `recipe ${chosen.recipe}, layers ${chosen.layers}; accuracy ${accuracy}; trained on ${chosen.data}`;
  classes = chosen.classes;
  bars.replaceChildren(...classes.map((name) => {
    const item = document.createElement("li");
    item.innerHTML = '<span class="name"></span><span class="bar"><span class="fill"></span></span><span class="value"></span>';
    item.querySelector(".name").textContent = name;
    return item;
  }));
  show(null);
}

async function start() {
  redraw();
  drawSeen(null);
  try {
    const response = await fetch("/api/models");
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `error ${response.status}`);
    models = answer.models;
  } catch (problem) {
    statusLine.textContent = `The server cannot list its models: ${problem.message}`;
    return;
  }
  for (const model of models) {
    const option = document.createElement("option");
    option.value = model.name;
    option.textContent = `${model.name} (${model.recipe})`;
    modelChoice.append(option);
  }
  describeModel();
  document.body.dataset.ready = "yes";  // for the end-to-end test
}
start();
