// The demo page: IsoFormer through the package's own API (index.js → worker → wasm), a 30-tissue
// bar chart, embeddings, timings. Sequences are read from the text boxes or from files opened
// locally; nothing typed is sent anywhere (see the Content-Security-Policy in index.html).
import { IsoFormer } from "./index.js";
import { drawMap, fastaRecords, project } from "./embedding-map.js";
import { download, drawHeatmap, predictionsTsv } from "./heatmap.js";
import { setUpVariants } from "./variants-view.js";

const $ = (id) => document.getElementById(id);
const MODALITIES = ["dna", "rna", "protein"];

let model = null;
let modelLabel = "";
const timings = {};

/** The first record of FASTA text (or the text itself when it has no header): { sequence, records, id }. */
export function readFasta(text) {
  const lines = text.split(/\r?\n/);
  if (!lines.some((line) => line.startsWith(">"))) return { sequence: text.replace(/\s+/g, ""), records: text.trim() ? 1 : 0, id: null };
  const headers = lines.map((line, i) => [line, i]).filter(([line]) => line.startsWith(">"));
  const [header, start] = headers[0];
  const end = headers.length > 1 ? headers[1][1] : lines.length;
  const sequence = lines.slice(start + 1, end).join("").replace(/\s+/g, "");
  return { sequence, records: headers.length, id: header.slice(1).trim().split(/\s+/)[0] || null };
}

function bytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

function showError(error) {
  const code = error?.code ? `[${error.code}] ` : "";
  setStatus(`${code}${error?.message ?? error}`, "error");
}

function showTimings() {
  const list = $("timing-list");
  list.replaceChildren();
  for (const [name, value] of Object.entries(timings)) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.name = name;
    list.append(dt, dd);
  }
  $("timings").hidden = false;
}

function onProgress(event) {
  const bar = $("progress");
  const total = event.total || 1;
  // Within a shard's download, count its bytes so far; otherwise the bytes verified and uploaded.
  const loaded = event.stage === "download" && event.fileLoaded !== undefined ? event.loaded + event.fileLoaded : event.loaded;
  bar.max = total;
  bar.value = Math.min(loaded, total);
  const file = event.file ? ` ${event.file}` : "";
  $("progress-text").textContent = `${event.stage}${file} — ${bytes(loaded)} of ${bytes(event.total)}`;
  $("progress-text").dataset.stage = event.stage;
}

async function loadModel() {
  const choice = $("model").value;
  const url = choice === "custom" ? $("custom-url").value.trim() : choice;
  if (!url) return showError("Give the URL of an IsoFormer weight directory on this site.");
  // The worker is not bound by this page's CSP, so the page itself keeps the weights on this site.
  if (new URL(url, location.href).origin !== location.origin) return showError(`${url} is on another site: this demo loads weights from its own site only (copy them here).`);
  model?.dispose();
  model = null;
  for (const id of ["predict", "embed", "map", "load", "score-variants"]) $(id).disabled = true;
  $("random-banner").hidden = true;
  setStatus("Loading…");
  const started = performance.now();
  try {
    model = await IsoFormer.load({
      weights: url,
      dtype: $("dtype").value || undefined,
      device: $("device").value,
      lowMemory: $("low-memory").checked,
      onProgress,
      onWarning: (warning) => setStatus(`Note: ${warning}`),
    });
  } catch (error) {
    $("progress-text").textContent = "Loading failed.";
    showError(error);
    $("load").disabled = false;
    return;
  }
  const info = model.info;
  modelLabel = $("model").selectedOptions[0].textContent;
  timings["Model"] = modelLabel;
  timings["Load (download, verify, upload, warm-up)"] = `${(performance.now() - started).toFixed(0)} ms`;
  timings["Device"] = `${info.backend}: ${info.device}`;
  timings["Weights"] = info.dtypes ? Object.entries(info.dtypes).map(([part, dtype]) => `${part} ${dtype}`).join(", ") : "per-part URLs";
  timings["Encoders"] = info.modalities.join(", ");
  $("device-info").textContent = `${info.backend}: ${info.device}`;
  $("random-banner").hidden = info.randomWeights === false;
  $("progress-text").textContent = `Ready: ${modelLabel}${info.lowMemory ? " (low memory: parts are fetched from the cache per prediction)" : ""}.`;
  showTimings();
  setStatus("Model loaded. Paste sequences or pick an example, then predict.");
  for (const id of ["predict", "embed", "map", "load", "score-variants"]) $(id).disabled = false;
}

// The sequences in the boxes: { dna?, rna?, protein? } (empty boxes left out).
function inputs() {
  const given = {};
  for (const modality of MODALITIES) {
    const { sequence } = readFasta($(modality).value);
    if (sequence) given[modality] = sequence;
  }
  return given;
}

// Several records in the RNA or protein box: one transcript each, matched by id (the header's first
// word) → [{ id, rna?, protein? }]; null for one transcript.
function transcripts() {
  const [rnas, proteins] = ["rna", "protein"].map((modality) => fastaRecords($(modality).value));
  if (rnas.length < 2 && proteins.length < 2) return null;
  const byId = new Map();
  for (const [key, records] of [["rna", rnas], ["protein", proteins]]) {
    for (const record of records) byId.set(record.id, { ...byId.get(record.id), id: record.id, [key]: record.sequence });
  }
  return [...byId.values()];
}

// The chart fits its container: narrower labels and bars on a phone, the same 11-px text.
function drawChart(tissues, values) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const rowHeight = 18;
  const width = Math.min(710, svg.parentElement.clientWidth || 710);
  const labelWidth = width < 500 ? 120 : 210;
  const valueWidth = width < 500 ? 56 : 80;
  const plotWidth = width - labelWidth - valueWidth;
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  const span = high - low || 1;
  const x = (v) => labelWidth + ((v - low) / span) * plotWidth;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${labelWidth + plotWidth + valueWidth} ${rowHeight * tissues.length + 4}`);
  svg.setAttribute("width", String(labelWidth + plotWidth + valueWidth));
  svg.setAttribute("height", String(rowHeight * tissues.length + 4));
  const axis = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: x(0), x2: x(0), y1: 0, y2: rowHeight * tissues.length, class: "axis" })) axis.setAttribute(k, String(v));
  svg.append(axis);
  tissues.forEach((tissue, i) => {
    const y = i * rowHeight + 2;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", String(labelWidth - 6));
    label.setAttribute("y", String(y + rowHeight * 0.7));
    label.setAttribute("class", "tissue");
    label.textContent = tissue;
    const bar = document.createElementNS(ns, "rect");
    const left = Math.min(x(0), x(values[i]));
    bar.setAttribute("x", String(left));
    bar.setAttribute("y", String(y + 2));
    bar.setAttribute("width", String(Math.max(1, Math.abs(x(values[i]) - x(0)))));
    bar.setAttribute("height", String(rowHeight - 4));
    bar.setAttribute("class", values[i] < 0 ? "bar negative" : "bar");
    bar.dataset.tissue = tissue;
    bar.dataset.value = String(values[i]);
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", String(labelWidth + plotWidth + 6));
    value.setAttribute("y", String(y + rowHeight * 0.7));
    value.setAttribute("class", "value");
    value.textContent = values[i].toFixed(width < 500 ? 3 : 4);
    svg.append(label, bar, value);
  });
}

let heatmapRows = [];
let lastChart = null;

// Every transcript against the DNA box's window (its embedding computed once): the heatmap.
async function predictTranscripts(list) {
  const dna = readFasta($("dna").value).sequence || undefined;
  for (const id of ["predict", "embed"]) $(id).disabled = true;
  const started = performance.now();
  try {
    setStatus(`Predicting ${list.length} transcripts…`);
    heatmapRows = await model.predictMany({
      dna,
      transcripts: list,
      onProgress: ({ done, total, id }) => setStatus(`Predicted ${done} of ${total} transcripts (${id})…`),
    });
    const ms = performance.now() - started;
    drawHeatmap($("heatmap"), heatmapRows);
    $("heatmap-section").hidden = false;
    $("result").hidden = true;
    const random = heatmapRows[0].randomWeights ? " RANDOM WEIGHTS: these numbers mean nothing." : "";
    $("heatmap-summary").textContent = `${heatmapRows.length} transcripts${dna ? " against one DNA window" : ""} (${heatmapRows[0].units}); blue below the table's median, red above; click a tissue to sort by it.${random}`;
    timings["Transcripts (DNA once, then each transcript)"] = `${ms.toFixed(0)} ms for ${heatmapRows.length}`;
    showTimings();
    setStatus("Done.");
  } catch (error) {
    showError(error.transcript ? Object.assign(error, { message: `transcript ${error.transcript}: ${error.message}` }) : error);
  } finally {
    for (const id of ["predict", "embed"]) $(id).disabled = false;
  }
}

async function predict() {
  const list = transcripts();
  if (list) return predictTranscripts(list);
  const given = inputs();
  if (Object.keys(given).length === 0) return showError("Give at least one sequence.");
  for (const id of ["predict", "embed"]) $(id).disabled = true;
  setStatus("Predicting…");
  const started = performance.now();
  try {
    const prediction = await model.predict(given);
    const ms = performance.now() - started;
    lastChart = [prediction.tissues, Array.from(prediction.values)];
    drawChart(...lastChart);
    $("result").hidden = false;
    $("heatmap-section").hidden = true;
    $("result").dataset.values = JSON.stringify(Array.from(prediction.values));
    $("result-summary").textContent = `From ${prediction.modalities.join(" + ")} (${prediction.units}).${prediction.randomWeights ? " RANDOM WEIGHTS: these numbers mean nothing." : ""}`;
    timings["Prediction (tokenize, encoders, aggregation, readback)"] = `${ms.toFixed(0)} ms`;
    timings["Stages"] = Object.entries(prediction.stages).map(([stage, stageMs]) => `${stage} ${stageMs.toFixed(stageMs < 10 ? 1 : 0)} ms`).join(", ");
    showTimings();
    setStatus("Done.");
  } catch (error) {
    showError(error);
  } finally {
    for (const id of ["predict", "embed"]) $(id).disabled = false;
  }
}

async function embed() {
  const given = inputs();
  if (Object.keys(given).length === 0) return showError("Give at least one sequence.");
  for (const id of ["predict", "embed"]) $(id).disabled = true;
  const body = $("embedding-table").querySelector("tbody");
  body.replaceChildren();
  try {
    for (const [modality, sequence] of Object.entries(given)) {
      setStatus(`Embedding ${modality}…`);
      const started = performance.now();
      const embedding = await model.embed(modality, sequence);
      const ms = performance.now() - started;
      const norm = Math.sqrt(embedding.meanEmbedding.reduce((s, v) => s + v * v, 0));
      const row = document.createElement("tr");
      for (const text of [modality, `[${embedding.shape.join(", ")}]`, norm.toFixed(6), `${ms.toFixed(0)} ms`]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      body.append(row);
    }
    $("embeddings").hidden = false;
    setStatus("Done.");
  } catch (error) {
    showError(error);
  } finally {
    for (const id of ["predict", "embed"]) $(id).disabled = false;
  }
}

let mapFile = null;

/** The embedding map: every record's mean embedding (one model.embed each), then UMAP, drawn. */
async function map(isoforms) {
  const modality = $("map-modality").value;
  const records = mapFile
    ? fastaRecords(mapFile)
    : isoforms.map((isoform) => ({ id: isoform.name, label: "TP73", sequence: modality === "rna" ? isoform.rna : isoform.protein }));
  if (records.length < 4) return showError(`The embedding map needs at least 4 sequences (${records.length} given).`);
  for (const id of ["predict", "embed", "map"]) $(id).disabled = true;
  const started = performance.now();
  try {
    const vectors = [];
    for (const [i, record] of records.entries()) {
      setStatus(`Embedding ${i + 1} of ${records.length} (${record.id})…`);
      vectors.push((await model.embed(modality, record.sequence)).meanEmbedding);
    }
    setStatus("Projecting with UMAP…");
    const points = project(vectors);
    drawMap($("map-chart"), points, records.map((r) => r.id), records.map((r) => r.label));
    $("map-figure").hidden = false;
    $("map-caption").textContent = `${records.length} ${modality} sequences, mean embeddings, UMAP (seeded). ${model.info.randomWeights ? "RANDOM WEIGHTS: the layout means nothing." : ""}`;
    timings["Embedding map"] = `${(performance.now() - started).toFixed(0)} ms for ${records.length} sequences`;
    showTimings();
    setStatus("Done.");
  } catch (error) {
    showError(error);
  } finally {
    for (const id of ["predict", "embed", "map"]) $(id).disabled = false;
  }
}

function updateCount(modality) {
  const { sequence, records } = readFasta($(modality).value);
  const unit = modality === "protein" ? "aa" : modality === "rna" ? "nt" : "bp";
  const many = modality === "dna" ? ` — the first of ${records} records is used` : ` — ${records} transcripts: each is predicted (a heatmap)`;
  const extra = records > 1 ? many : "";
  $(`${modality}-count`).textContent = sequence ? `${sequence.length.toLocaleString()} ${unit}${extra}` : "";
}

async function optionalJson(url) {
  try {
    const response = await fetch(url);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

async function main() {
  const models = (await optionalJson("models.json")) ?? [];
  for (const { label, url } of models) $("model").append(new Option(label, url));
  $("model").append(new Option("Another weight directory on this site…", "custom"));
  $("model").addEventListener("change", () => ($("custom-url-label").hidden = $("model").value !== "custom"));

  // The TP73 isoforms (scripts/demo_examples.py): one gene window shared by every isoform's cDNA
  // and protein. Picking one replaces the three boxes; typed text is kept until then.
  const examples = await optionalJson("examples/examples.json");
  const isoforms = examples?.isoforms ?? [];
  isoforms.forEach((isoform, i) => $("example").append(new Option(isoform.name, String(i))));
  if (isoforms.length > 1) $("example").append(new Option(`All ${isoforms.length} TP73 isoforms (a heatmap)`, "all"));
  $("example").disabled = isoforms.length === 0;
  const fasta = (key) => isoforms.map((isoform) => `>${isoform.id} ${isoform.name}\n${isoform[key]}\n`).join("");
  const fill = () => {
    const all = $("example").value === "all";
    const isoform = isoforms[Number($("example").value)];
    if (!isoform && !all) return;
    const inputs = all ? { dna: examples.dna, rna: fasta("rna"), protein: fasta("protein") } : { dna: examples.dna, rna: isoform.rna, protein: isoform.protein };
    for (const modality of MODALITIES) {
      $(modality).value = inputs[modality];
      updateCount(modality);
    }
  };
  $("example").addEventListener("change", fill);
  if (!MODALITIES.some((modality) => $(modality).value.trim())) fill();

  for (const modality of MODALITIES) {
    $(modality).addEventListener("input", () => updateCount(modality));
    // Files are read here, in the page; they are never uploaded.
    $(`${modality}-file`).addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (!file) return;
      $(modality).value = await file.text();
      updateCount(modality);
    });
  }
  $("load").addEventListener("click", loadModel);
  $("predict").addEventListener("click", predict);
  $("embed").addEventListener("click", embed);
  // The chart is laid out for its width: redrawn when the window changes (a phone turned, say).
  window.addEventListener("resize", () => lastChart && !$("result").hidden && drawChart(...lastChart));
  $("heatmap-tsv").addEventListener("click", () => download(predictionsTsv(heatmapRows), "isoformer-predictions.tsv"));
  // A file to map is read here, in the page, never uploaded.
  $("map-file").addEventListener("change", async (event) => (mapFile = event.target.files[0] ? await event.target.files[0].text() : null));
  $("map").addEventListener("click", () => map(isoforms));
  await setUpVariants({ model: () => model, status: setStatus, fail: showError });
  if (!navigator.gpu) setStatus("This browser has no WebGPU: the model runs on the CPU (slowly). Chrome/Edge 113+, Safari 26 or Firefox 141+ use the GPU.");
  if (models.length) await loadModel();
}

main();
