// The minimal demo: load the tiny ESM-2 weight directory, embed one protein on WebGPU, and show
// the embedding's shape, norm and timing. Everything runs in this page; nothing is uploaded.
import init, { ProteinModel } from "./pkg/isoformer.js";

const WEIGHTS = new URL("weights/esm2-tiny-random/", document.baseURI).href;
const $ = (id) => document.getElementById(id);

function fastaToSequence(text) {
  const lines = text.trim().split(/\r?\n/);
  if (!lines[0].startsWith(">")) return text.trim();
  const end = lines.findIndex((line, i) => i > 0 && line.startsWith(">"));
  return lines.slice(1, end === -1 ? undefined : end).join("").trim();
}

function showError(error) {
  const code = error && error.code ? `[${error.code}] ` : "";
  $("status").textContent = `${code}${error && error.message ? error.message : error}`;
  $("status").className = "error";
}

async function main() {
  if (!navigator.gpu) {
    showError("This browser has no WebGPU (navigator.gpu is missing). Try a recent Chrome, Edge or Safari.");
    return;
  }
  await init();
  const started = performance.now();
  let model;
  try {
    model = await ProteinModel.load(WEIGHTS);
  } catch (error) {
    showError(error);
    return;
  }
  const info = model.info;
  $("device").textContent = `${info.device}`;
  $("random-banner").hidden = !info.randomWeights;
  $("status").textContent = `Model loaded in ${(performance.now() - started).toFixed(0)} ms (hidden size ${info.hiddenSize}, ${info.layers} layers).`;
  const button = $("embed");
  button.textContent = "Embed on WebGPU";
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    $("status").className = "";
    $("status").textContent = "Running…";
    const t0 = performance.now();
    try {
      const result = await model.embedProtein(fastaToSequence($("protein").value));
      const ms = performance.now() - t0;
      const norm = Math.sqrt(result.meanEmbedding.reduce((s, v) => s + v * v, 0));
      $("result").innerHTML = "";
      const rows = [
        ["Tokens", `${result.tokens.length} (with <cls> and <eos>)`],
        ["Last hidden state shape", `[${result.shape.join(", ")}]`],
        ["Mean embedding L2 norm", norm.toFixed(6)],
        ["Time (forward + readback)", `${ms.toFixed(1)} ms`],
      ];
      for (const [label, value] of rows) {
        const row = document.createElement("div");
        row.className = "row";
        row.dataset.label = label;
        row.innerHTML = `<span class="label"></span><span class="value"></span>`;
        row.querySelector(".label").textContent = label;
        row.querySelector(".value").textContent = value;
        $("result").appendChild(row);
      }
      $("status").textContent = "Done.";
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

main();
