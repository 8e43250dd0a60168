// digitlab's draw-a-digit page: plain JavaScript, no build step, no network beyond this server.
// Draw dark ink on white "paper"; the server detects the polarity, prepares the image like MNIST
// and answers with the 28x28 image each dataset's models see and every model's probabilities.
"use strict";

const LIVE_INTERVAL_MS = 120; // while drawing, ask at most this often
const SEND_SIDE = 1600;        // larger photos are shrunk to this (longer side) before sending: the server works at 1024
const MEGABYTE = 1024 * 1024;
const SEND_QUALITY = 0.92;     // JPEG quality of a shrunk photo
const BUSY_RETRIES = 3;       // a busy server (503) says when to try again (Retry-After); a class's burst passes in seconds

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const pen = document.getElementById("pen");
const penValue = document.getElementById("pen-value");
const results = document.getElementById("results");
const message = document.getElementById("message");
const datasetsBox = document.getElementById("datasets");
const explainBox = document.getElementById("explain");

let drawing = false;
let last = null;
let timer = null;        // a scheduled request while drawing
let inFlight = false;    // one request at a time; later strokes mark the drawing dirty
let dirty = false;
let epoch = 0;           // bumped by Clear so late answers for an old drawing are dropped
let nextSource = null;   // () => Promise<Blob|File>: what the next request sends
let cards = new Map();   // model name -> {prediction, confidence, bars: [{li, bar, value}], why}
let seenCanvases = new Map(); // dataset -> canvas showing what its models receive
let adviceNotes = new Map();  // dataset -> what to do about a doubtful photo, beside that canvas

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
}

function stroke(from, to) {
  ctx.strokeStyle = "#000";
  ctx.lineWidth = Number(pen.value);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

function canvasSource() {
  return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  stroke(last, last); // a dot where the pen lands
  nextSource = canvasSource;
  schedule();
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const here = point(e);
    stroke(last, here);
    last = here;
  }
  schedule();
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  clearTimeout(timer);
  timer = null;
  send();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function schedule() {
  setStatus("pending");
  if (timer === null) timer = setTimeout(() => { timer = null; send(); }, LIVE_INTERVAL_MS);
}

async function send() {
  if (!nextSource) return;
  if (inFlight) { dirty = true; return; }
  inFlight = true;
  dirty = false;
  setStatus("pending");
  const myEpoch = epoch;
  try {
    const form = new FormData();
    form.append("file", await nextSource(), "drawing.png");
    const url = `/api/predict?lang=${LANG}` + (explainBox.checked ? "&explain=true" : "");
    const response = await postWhenFree(url, form);
    const body = await response.json();
    if (myEpoch !== epoch) return;
    if (response.ok) showPrediction(body);
    else showProblem(body, response.status);
  } catch (error) {
    if (myEpoch === epoch) showProblem({ detail: say("web.no_answer", { error }) }, 0);
  } finally {
    inFlight = false;
    if (dirty) send();
    else if (myEpoch === epoch && timer === null && !drawing) results.dataset.seq = String(Number(results.dataset.seq) + 1);
  }
}

async function postWhenFree(url, form) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(url, { method: "POST", body: form });
    if (response.status !== 503 || attempt >= BUSY_RETRIES) return response;
    const seconds = Number(response.headers.get("Retry-After")) || 1;
    // a random share of a second more, so that a class's retries do not arrive together again
    await new Promise((resolve) => setTimeout(resolve, 1000 * (seconds + Math.random())));
  }
}

function setStatus(status) {
  results.dataset.status = status;
}

function showPrediction(body) {
  message.textContent = say(body.inverted ? "web.inverted" : "web.received");
  const seen = new Map(body.images.map((prepared) => [prepared.dataset, prepared.pixels]));
  for (const [dataset, pixels] of seen) paintPixels(seenCanvases.get(dataset), pixels);
  for (const note of adviceNotes.values()) note.textContent = (body.advice || []).join(" ");
  for (const p of body.predictions) {
    const card = cards.get(p.model);
    if (!card) continue;
    showExplanation(card.why, p.explanation, seen.get(p.dataset), p.predicted_class);
    card.prediction.textContent = p.predicted_class;
    card.confidence.textContent = formatPercent(p.confidence, 1);
    p.probabilities.forEach((probability, i) => {
      const row = card.bars[i];
      row.bar.style.width = `${(100 * probability).toFixed(1)}%`;
      row.value.textContent = formatPercent(probability);
      row.li.classList.toggle("best", i === p.predicted_index);
    });
  }
  setStatus("ready");
}

function showProblem(body, status) {
  message.textContent = body.detail || say("web.failed", { status });
  resetCards();
  setStatus(body.error === "empty_drawing" ? "empty" : "error");
}

function resetCards() {
  for (const card of cards.values()) {
    showExplanation(card.why, null);
    card.prediction.textContent = "–";
    card.confidence.textContent = "";
    for (const row of card.bars) {
      row.bar.style.width = "0%";
      row.value.textContent = "";
      row.li.classList.remove("best");
    }
  }
  for (const canvas of seenCanvases.values()) canvas.getContext("2d").clearRect(0, 0, 28, 28);
  for (const note of adviceNotes.values()) note.textContent = "";
}

function paintPixels(canvas, pixels) {
  if (!canvas) return;
  const image = canvas.getContext("2d").createImageData(canvas.width, canvas.height);
  pixels.flat().forEach((value, i) => {
    image.data.set([value, value, value, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function describeModel(model) {
  const parts = [model.kind];
  if (model.test_accuracy !== null) parts.push(say("web.test_accuracy", { accuracy: formatPercent(model.test_accuracy, 1) }));
  if (model.num_parameters !== null) parts.push(say("web.parameters", { count: formatNumber(model.num_parameters) }));
  return parts.join(" · ");
}

function buildCards(models) {
  datasetsBox.replaceChildren();
  const datasets = [...new Set(models.map((m) => m.dataset))];
  for (const dataset of datasets) {
    const section = element("section", "dataset");
    section.dataset.dataset = dataset;
    const first = models.find((m) => m.dataset === dataset);
    section.append(element("h2", "", first.dataset_title || dataset));
    const seen = element("div", "seen");
    const canvas = element("canvas");
    const [height, width] = first.image_shape || [28, 28];
    canvas.width = width;
    canvas.height = height;
    canvas.setAttribute("aria-label", say("web.seen_label", { height, width, dataset: first.dataset_title || dataset }));
    seenCanvases.set(dataset, canvas);
    const note = element("p", "advice");
    adviceNotes.set(dataset, note);
    seen.append(canvas, element("span", "", say("web.seen", { height, width })), note);
    section.append(seen);
    const grid = element("div", "models");
    for (const model of models.filter((m) => m.dataset === dataset)) grid.append(buildCard(model));
    section.append(grid);
    datasetsBox.append(section);
  }
  document.getElementById("model-count").textContent = say("web.models_loaded", { n: models.length });
  if (!models.length) message.textContent = say("web.no_models");
}

function buildCard(model) {
  const article = element("article", "model");
  article.dataset.model = model.name;
  article.append(element("h3", "", model.name), element("p", "meta", describeModel(model)));
  const verdict = element("div", "verdict");
  const prediction = element("span", "prediction", "–");
  const confidence = element("span", "confidence");
  verdict.append(prediction, confidence);
  const list = element("ol", "bars");
  const bars = model.classes.map((name) => {
    const li = element("li");
    const track = element("span", "track");
    const bar = element("span", "bar");
    bar.style.display = "block";
    bar.style.width = "0%";
    track.append(bar);
    const value = element("span", "value");
    li.append(element("span", "label", name), track, value);
    list.append(li);
    return { li, bar, value };
  });
  const why = element("div", "why");
  why.hidden = true;
  article.append(verdict, list, why);
  cards.set(model.name, { prediction, confidence, bars, why });
  return article;
}

document.getElementById("clear").addEventListener("click", () => {
  epoch += 1;
  clearTimeout(timer);
  timer = null;
  dirty = false;
  nextSource = null;
  clearPad();
  resetCards();
  message.textContent = say("web.start");
  setStatus("idle");
});

explainBox.addEventListener("change", () => {
  if (!explainBox.checked) for (const card of cards.values()) showExplanation(card.why, null);
  if (nextSource) send(); // show (or drop) the explanations of the drawing on the pad
});

pen.addEventListener("input", () => { penValue.textContent = pen.value; });

// A phone photo (up to 20 MB, 12+ megapixels) is drawn upright (the browser applies its EXIF
// orientation) on a canvas of at most SEND_SIDE and sent as a JPEG of a few hundred kB.
async function shrunk(file, bitmap) {
  const scale = SEND_SIDE / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) return file;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob || file), "image/jpeg", SEND_QUALITY));
}

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  epoch += 1;
  const megabytes = STRINGS.max_photo_megabytes; // the server's limit, sent with the page
  if (file.size > megabytes * MEGABYTE) {
    nextSource = null;
    clearPad();
    showProblem({ detail: say("web.too_large", { megabytes: formatNumber(megabytes, Number.isInteger(megabytes) ? 0 : 1) }), error: "too_large" }, 413);
    return;
  }
  let toSend = file;
  try { // show the upload on the pad, fitted; the server gets it shrunk when it is large
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    clearPad();
    ctx.drawImage(bitmap, (pad.width - bitmap.width * scale) / 2, (pad.height - bitmap.height * scale) / 2,
      bitmap.width * scale, bitmap.height * scale);
    toSend = await shrunk(file, bitmap);
  } catch (error) { clearPad(); } // the server says what is wrong with it
  nextSource = () => Promise.resolve(toSend);
  send();
});

async function start() {
  clearPad();
  try {
    const response = await fetch(`/api/models?lang=${LANG}`);
    buildCards(await response.json());
  } catch (error) {
    message.textContent = say("web.cannot_list", { error });
  }
}
start();
