// The "why" panel of each model card: the attribution over the input, a CNN's feature maps, a
// k-NN's nearest training images. Drawn from POST /api/predict?explain=true (see web/explaining.py).
"use strict";

// The page's words and number formats: the server puts the sentences of the page's language in
// #strings (digitlab/web/page.py); numbers go through Intl with that language (CLDR, as Babel).
const STRINGS = JSON.parse(document.getElementById("strings").textContent);
const LANG = STRINGS.lang;
const PLURALS = new Intl.PluralRules(LANG);

function say(key, values = {}) {
  let text = STRINGS.messages[key];
  if (text === undefined) throw new Error(`no sentence ${key} in #strings`);
  if (typeof text === "object") { // a plural: the form for the count, and the count written the language's way
    text = text[PLURALS.select(values.n)] ?? text.other;
    values = { ...values, n: formatNumber(values.n) };
  }
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

function formatPercent(fraction, digits = 0) {
  return new Intl.NumberFormat(LANG, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(fraction);
}

const OVERLAY = [234, 88, 12]; // the attribution's colour (orange) over the gray input
const INPUT_DIM = 0.55;        // the input is dimmed so the overlay stands out

function pixelCanvas(rows, className, label) {
  const canvas = document.createElement("canvas");
  canvas.height = rows.length;
  canvas.width = rows[0].length;
  if (className) canvas.className = className;
  if (label) canvas.setAttribute("aria-label", label);
  const image = canvas.getContext("2d").createImageData(canvas.width, canvas.height);
  rows.flat().forEach((value, i) => image.data.set([value, value, value, 255], 4 * i));
  canvas.getContext("2d").putImageData(image, 0, 0);
  return canvas;
}

function overlayCanvas(input, attribution, label) {
  const canvas = pixelCanvas(input, "overlay", label);
  const context = canvas.getContext("2d");
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  attribution.flat().forEach((evidence, i) => {
    const alpha = evidence / 255;
    for (let c = 0; c < 3; c += 1) {
      image.data[4 * i + c] = Math.round((1 - alpha) * INPUT_DIM * image.data[4 * i + c] + alpha * OVERLAY[c]);
    }
  });
  context.putImageData(image, 0, 0);
  return canvas;
}

function titled(text, ...children) {
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = text;
  figure.append(...children, caption);
  return figure;
}

const METHOD_NAMES = { saliency: "saliency", grad_cam: "Grad-CAM", integrated_gradients: "integrated gradients" };

function showExplanation(box, explanation, input, predictedClass) {
  if (!explanation) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const parts = [];
  if (explanation.attribution && input) {
    const method = METHOD_NAMES[explanation.method] || explanation.method;
    parts.push(titled(say("web.evidence", { method, label: predictedClass }),
      overlayCanvas(input, explanation.attribution, say("web.attribution", { method }))));
  }
  for (const layer of explanation.feature_maps) {
    const grid = document.createElement("div");
    grid.className = "maps";
    layer.maps.forEach((rows, i) => grid.append(pixelCanvas(rows, "", say("web.channel", { layer: layer.layer, n: formatNumber(i + 1) }))));
    const [channels, height, width] = layer.shape;
    parts.push(titled(say("web.maps", { layer: layer.layer, count: formatNumber(layer.maps.length), channels: formatNumber(channels), height, width }), grid));
  }
  if (explanation.neighbours.length) {
    const list = document.createElement("ol");
    list.className = "neighbours";
    for (const n of explanation.neighbours) {
      const item = document.createElement("li");
      const text = document.createElement("span");
      const name = document.createElement("b");
      name.textContent = n.class_name;
      text.append(name, document.createElement("br"), say("web.distance", { distance: formatNumber(n.distance) }));
      item.append(pixelCanvas(n.pixels, "", say("web.training_image", { index: formatNumber(n.index), label: n.class_name })), text);
      list.append(item);
    }
    parts.push(titled(say("web.nearest"), list));
  }
  box.replaceChildren(...parts);
  box.hidden = parts.length === 0;
}
