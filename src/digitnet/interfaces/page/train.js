// The training view of `digitnet serve`: start, pause, stop and save a training run
// that lives in the server, and watch it learn through /api/training/events
// (server-sent events). Plain JavaScript and canvas, nothing fetched from elsewhere.
// The drawing pad (page.js) is told to read again with each new snapshot of the
// weights when the model "in training" is the one chosen.
"use strict";

(() => {
  const LIVE = "in training";
  const FIELDS = ["layers", "epochs", "learning_rate", "optimizer", "batch_size"];
  const $ = (id) => document.getElementById(id);
  const form = $("train-form");
  const recipeChoice = $("train-recipe");
  const dataChoice = $("train-data");
  const statusLine = $("train-status");
  const progressLine = $("train-progress");
  const buttons = {start: $("train-start"), pause: $("train-pause"), stop: $("train-stop"),
                   save: $("train-save")};
  let options = null;
  let state = null;
  let snapshot = null;      // the last pictures the server sent
  let shownSnapshot = "";   // which snapshot the drawing pad last read with

  function fillRecipe() {
    const recipe = options.recipes[recipeChoice.value];
    $("train-layers").value = recipe.layers;
    $("train-epochs").value = Math.min(recipe.epochs, options.caps.epochs);
    $("train-learning_rate").value = recipe.learning_rate;
    $("train-optimizer").value = recipe.optimizer;
    $("train-batch_size").value = recipe.batch_size === null ? "full" : recipe.batch_size;
    clearErrors();
  }

  function clearErrors() {
    for (const name of FIELDS) $(`err-${name}`).textContent = "";
  }

  function request() {
    const number = (id) => {
      const text = $(id).value.trim();
      return text === "" ? undefined : Number(text);
    };
    const batch = $("train-batch_size").value.trim().toLowerCase();
    return {
      recipe: recipeChoice.value, data: dataChoice.value,
      layers: $("train-layers").value, epochs: number("train-epochs"),
      learning_rate: number("train-learning_rate"), optimizer: $("train-optimizer").value,
      batch_size: batch === "full" || batch === "" ? null : Number(batch),
    };
  }

  async function post(path, body) {
    const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(body || {})});
    const answer = await response.json();
    if (!response.ok) {
      const problem = new Error(answer.error || `error ${response.status}`);
      problem.field = answer.field;
      throw problem;
    }
    return answer;
  }

  async function act(path, body, after) {
    clearErrors();
    try {
      const answer = await post(path, body);
      if (after) after(answer);
    } catch (problem) {
      const beside = problem.field && $(`err-${problem.field}`);
      if (beside) beside.textContent = problem.message;
      statusLine.textContent = `Refused: ${problem.message}`;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act("/api/training", request(), () => { shownSnapshot = ""; chooseLive = true; });
  });
  recipeChoice.addEventListener("change", fillRecipe);
  $("weights-show").addEventListener("change", () => { if (snapshot) drawWeights(snapshot.weights); });
  buttons.pause.addEventListener("click", () => {
    act(state && ["paused", "pausing"].includes(state.status) ? "/api/training/resume" : "/api/training/pause");
  });
  buttons.stop.addEventListener("click", () => act("/api/training/stop"));
  buttons.save.addEventListener("click", () => act("/api/training/save", {}, (answer) => {
    statusLine.textContent = `Saved ${answer.saved} (epoch ${answer.epoch}) in ${answer.path}; it is in the model list.`;
    refreshModels();
  }));

  // --- the model list shared with the drawing pad -------------------------------

  let chooseLive = false;  // after Start: the pad reads with the model in training
  const modelChoice = $("model");

  async function refreshModels() {
    let listed;
    try {
      listed = (await (await fetch("/api/models")).json()).models;
    } catch (problem) { return; }
    for (const model of listed) {
      if (typeof models !== "undefined" && !models.some((m) => m.name === model.name)) models.push(model);
      if (typeof models !== "undefined") {  // the live model's accuracy changes as it trains
        const index = models.findIndex((m) => m.name === model.name);
        models[index] = model;
      }
      if (![...modelChoice.options].some((o) => o.value === model.name)) {
        const option = document.createElement("option");
        option.value = model.name;
        option.textContent = model.live ? `${model.name} (live)` : `${model.name} (${model.recipe})`;
        modelChoice.append(option);
      }
    }
  }

  async function followSnapshot() {
    const key = snapshot ? String(snapshot.number) : "";
    if (!snapshot || key === shownSnapshot) return;
    shownSnapshot = key;
    await refreshModels();
    if (chooseLive && modelChoice.value !== LIVE) {
      chooseLive = false;
      modelChoice.value = LIVE;
      modelChoice.dispatchEvent(new Event("change"));  // page.js reads the drawing again
    } else if (modelChoice.value === LIVE && typeof strokes !== "undefined" && strokes.length
               && typeof soon === "function") {
      soon(0, false);  // the same drawing, read by the newer weights
    }
  }

  // --- what is shown --------------------------------------------------------------

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    if (value < 60) return `${value.toFixed(1)} s`;
    return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
  }

  function render() {
    const active = ["running", "pausing", "paused", "stopping"].includes(state.status);
    const enabled = options.enabled;
    buttons.start.disabled = !enabled || active;
    buttons.pause.disabled = !enabled || !["running", "pausing", "paused"].includes(state.status);
    buttons.pause.textContent = ["paused", "pausing"].includes(state.status) ? "Resume" : "Pause";
    buttons.stop.disabled = !enabled || !active || state.status === "stopping";
    buttons.save.disabled = !enabled || !snapshot;
    document.body.dataset.training = state.status;
    statusLine.textContent = enabled ? state.message : options.refusal;
    const plan = state.plan;
    if (plan) {
      const lr = state.learning_rate === null ? "–" : Number(state.learning_rate).toPrecision(3);
      progressLine.textContent = `${plan.recipe}: ${plan.layers} (${plan.parameters.toLocaleString()} parameters) on ${plan.data_source}. `
        + `Epoch ${state.epoch}/${plan.epochs}, batch ${state.batch}/${state.batches}; learning rate ${lr}; `
        + `${seconds(state.seconds_per_epoch)} per epoch, ${seconds(state.seconds_left)} left.`;
    }
    const history = state.history;
    progressLine.dataset.epochs = history.epoch.length;
    const planned = plan ? plan.epochs : 2;  // the axis spans the whole run from the start
    chart($("chart-loss"), history.epoch, [history.train_loss, history.dev_loss], null, planned);
    chart($("chart-accuracy"), history.epoch, [history.train_accuracy, history.dev_accuracy], [0, 1],
          planned);
    chart($("chart-rate"), history.epoch, [history.learning_rate], null, planned);
    if (snapshot) {
      drawWeights(snapshot.weights);
      drawConfusion(snapshot.confusion);
    }
  }

  const COLOURS = ["#0b63c5", "#d1242f"];  // train, dev (as the keys in train.css)

  function chart(canvas, epochs, series, range, planned) {
    const context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height;
    const left = 44, right = 10, top = 10, bottom = 24;
    context.fillStyle = "#fff";
    context.fillRect(0, 0, width, height);
    const values = series.flat().filter((v) => v !== null);
    let [low, high] = range || [Math.min(0, ...values), Math.max(...values, 1e-9)];
    if (!range && values.length) high *= 1.05;
    const last = Math.max(2, planned, epochs.length ? epochs[epochs.length - 1] : 2);
    const x = (epoch) => left + (width - left - right) * (epoch - 1) / (last - 1);
    const y = (v) => top + (height - top - bottom) * (1 - (v - low) / (high - low || 1));
    context.strokeStyle = "#d0d7de";
    context.fillStyle = "#57606a";
    context.font = "11px system-ui, sans-serif";
    context.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {  // the value axis: five lines
      const v = low + (high - low) * i / 4;
      context.beginPath(); context.moveTo(left, y(v)); context.lineTo(width - right, y(v)); context.stroke();
      context.fillText(high < 0.01 ? v.toExponential(1) : v.toFixed(range ? 2 : 3), 2, y(v) + 4);
    }
    context.fillText("epoch 1", left, height - 6);
    context.fillText(`${last}`, width - right - 14, height - 6);
    series.forEach((points, which) => {
      context.strokeStyle = context.fillStyle = COLOURS[which];
      context.lineWidth = 2;
      context.beginPath();
      let drawn = 0;
      points.forEach((v, i) => {
        if (v === null) return;
        if (drawn++ === 0) context.moveTo(x(epochs[i]), y(v)); else context.lineTo(x(epochs[i]), y(v));
      });
      context.stroke();
      points.forEach((v, i) => {
        if (v === null) return;
        context.beginPath(); context.arc(x(epochs[i]), y(v), 3.5, 0, 2 * Math.PI); context.fill();
      });
    });
    canvas.dataset.points = epochs.length;  // for the end-to-end test
  }

  function drawWeights(weights) {
    const canvas = $("train-weights");
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const pictures = weights[$("weights-show").value] || weights.values;
    if (!pictures.length) return;
    const side = weights.side, count = pictures.length;
    const across = Math.min(count, 8), down = Math.ceil(count / across);
    const cell = Math.floor(Math.min(canvas.width / across, canvas.height / down));
    const tile = document.createElement("canvas");
    tile.width = tile.height = side;
    const tileContext = tile.getContext("2d");
    context.imageSmoothingEnabled = false;
    pictures.forEach((values, index) => {
      const image = tileContext.createImageData(side, side);
      values.forEach((v, i) => {  // 128 is a weight of 0: white; red positive, blue negative, as the report draws them
        const w = (v - 128) / 127;
        image.data.set([w > 0 ? 255 : 255 * (1 + w), 255 * (1 - Math.abs(w)), w < 0 ? 255 : 255 * (1 - w), 255], 4 * i);
      });
      tileContext.putImageData(image, 0, 0);
      const gap = side < 10 ? 3 : 1;  // small filters need a clear border between them
      context.drawImage(tile, (index % across) * cell + gap, Math.floor(index / across) * cell + gap,
                        cell - 2 * gap, cell - 2 * gap);
    });
    const what = (weights.kind === "units" ? "units: the weight each gives each pixel"
      : `filters, ${side}x${side}`) + ($("weights-show").value === "change" ? ", less its start" : "");
    $("weights-title").textContent = `The first layer's weights: ${weights.count > weights.values.length ? `${weights.values.length} of ` : ""}${weights.count} ${what} (red positive, blue negative)`;
  }

  function drawConfusion(confusion) {
    const names = typeof classes !== "undefined" && classes.length === 10 ? classes : [..."0123456789"];
    const cell = (tag, text, scope) => {
      const element = document.createElement(tag);
      element.textContent = text;
      if (scope) element.scope = scope;
      return element;
    };
    const head = document.createElement("tr");
    head.append(cell("th", ""), ...names.map((name) => cell("th", name, "col")));
    const rows = confusion.map((row, truth) => {
      const line = document.createElement("tr");
      const total = row.reduce((a, b) => a + b, 0) || 1;
      line.append(cell("th", names[truth], "row"), ...row.map((count, guess) => {
        const share = count / total;
        const element = cell("td", count ? String(count) : "");
        element.style.background = truth === guess ? `rgba(26,127,55,${share})`
          : `rgba(209,36,47,${Math.min(1, 4 * share)})`;  // mistakes show from a few
        element.classList.toggle("dark", share > 0.5);
        return element;
      }));
      return line;
    });
    $("train-confusion").replaceChildren(head, ...rows);
  }

  // --- the stream -------------------------------------------------------------------

  function listen() {
    const stream = new EventSource("/api/training/events");
    stream.onmessage = (event) => {
      const sent = JSON.parse(event.data);
      if (sent.snapshot !== "same") snapshot = sent.snapshot;
      state = sent;
      render();
      followSnapshot();
    };
    stream.onerror = () => {  // the browser reconnects by itself; say so meanwhile
      statusLine.textContent = "Lost the server; reconnecting…";
    };
  }

  async function start() {
    try {
      const response = await fetch("/api/training");
      options = await response.json();
      if (!response.ok) throw new Error(options.error || `error ${response.status}`);
    } catch (problem) {
      statusLine.textContent = `The server cannot say what it can train: ${problem.message}`;
      return;
    }
    for (const name of Object.keys(options.recipes)) recipeChoice.add(new Option(`${name}: ${options.recipes[name].summary}`, name));
    for (const name of options.optimizers) $("train-optimizer").add(new Option(name, name));
    for (const [name, source] of Object.entries(options.data)) dataChoice.add(new Option(source, name));
    recipeChoice.value = options.default_recipe;
    $("train-epochs").max = options.caps.epochs;
    fillRecipe();
    state = options.state;
    snapshot = state.snapshot;
    render();
    if (options.enabled) listen();
    document.body.dataset.trainingReady = "yes";  // for the end-to-end test
  }
  start();
})();
