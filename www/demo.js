// The minimal demo: load a tiny weight directory (ESM-2 for proteins, NT-v2 for RNA, Enformer for DNA), embed one
// sequence on WebGPU, and show the embedding's shape, norm and timing. Everything runs in this
// page; nothing is uploaded.
import init, { EncoderModel } from "./pkg/isoformer.js";

// Each choice of the model picker: its weight directory, the embed call, and an example input.
const MODELS = {
  protein: {
    weights: "weights/isoformer-tiny-random/protein/",
    label: "Protein sequence (one-letter codes, or FASTA)",
    example: "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDW",
    hint: "Letters outside the ESM-2 alphabet are reported with their position.",
    specials: "with <cls> and <eos>",
    embed: (model, sequence) => model.embedProtein(sequence),
  },
  rna: {
    weights: "weights/isoformer-tiny-random/rna/",
    label: "RNA or cDNA sequence (A C G U/T N, or FASTA)",
    // The first 600 nt of Ensembl TP53 cDNA ENST00000413465.6 (shared/data/gentle_rs), U for T.
    example: "AUGGAGGAGCCGCAGUCAGAUCCUAGCGUCGAGCCCCCUCUGAGUCAGGAAACAUUUUCAGACCUAUGGAAACUACUUCCUGAAAACAACGUUCUGUCCCCCUUGCCGUCCCAAGCAAUGGAUGAUUUGAUGCUGUCCCCGGACGAUAUUGAACAAUGGUUCACUGAAGACCCAGGUCCAGAUGAAGCUCCCAGAAUGCCAGAGGCUGCUCCCCCCGUGGCCCCUGCACCAGCAGCUCCUACACCGGCGGCCCCUGCACCAGCCCCCUCCUGGCCCCUGUCAUCUUCUGUCCCUUCCCAGAAAACCUACCAGGGCAGCUACGGUUUCCGUCUGGGCUUCUUGCAUUCUGGGACAGCCAAGUCUGUGACUUGCACGUACUCCCCUGCCCUCAACAAGAUGUUUUGCCAACUGGCCAAGACCUGCCCUGUGCAGCUGUGGGUUGAUUCCACACCCCCGCCCGGCACCCGCGUCCGCGCCAUGGCCAUCUACAAGCAGUCACAGCACAUGACGGAGGUUGUGAGGCGCUGCCCCCACCAUGAGCGCUGCUCAGAUAGCGAUGGUCUGGCCCCUCCUCAGCAUCUUAUCCGAGUGGAAGGAAAU",
    hint: "U is read as T and lower case as upper case. Other letters are reported with their position; NT-v2 reads 6-mers, so the token count is about a sixth of the length.",
    specials: "with <cls>",
    embed: (model, sequence) => model.embedRna(sequence),
  },
  dna: {
    weights: "weights/isoformer-tiny-random/dna/",
    label: "DNA sequence, up to 196,608 bp (A C G T N, or FASTA)",
    // The first 600 bp of the GRCh38 TP73 region in shared/data/gentle_rs/tp73.ncbi.gb.
    example: "GCCCTGCCTCCCCGCCCGCGCACCCGCCCGGAGGCTCGCGCGCCCGCGAAGGGGACGCAGCGAAACCGGGGCCCGCGCCAGGCCAGCCGGGACGGACGCCGATGCCCGGGGCTGCGACGGCTGCAGGTAGGAGGCCCAGGGCCGGGGGGCGGTTCGGCTCCGCGGGCGGGGGCTGGAGCGCAGCGCTGGGCAGGCACCTGGGCTCGCAGCTCCGAAGCTGGGAGGTGAGGGGAGAGCGATCGGGGACGAGCTGGGACAAGGCGACACAGGGGCTCCCTCGGAGTTGGATCGGCCCCTGGGACTTGGCGCTCGCGAGAGGCTGGAGCGGCCAGAGTCTAGCCTGCGAGGAGACGCGGGTCCTGCCCTCAGCGCCGGCCGCCTTTGGCGCCAAAGACAGCCCCGCAGGGGTTCCGGGAGGGCCCTCCTCCTGCTGTCCCCTCTCCACCCCGGGCTCCGAGGGCCGTTGGGAGGGTAACCCCGGGAAGAGGCCGGGGTGCGGGGCGCGGGTGCAGGTGGAAATCGCCAGCAAGCTCCTCCCCGCCCGCGCGCTCCCTCCGACCTGCAGGGCTGTGCCAATCCCGAGGCCTCAGCTTCCCTGAG",
    hint: "Shorter sequences are padded with N around their centre to Enformer's 196,608 bp; the output has 896 bins of 128 bp.",
    specials: "bins of 128 bp",
    embed: (model, sequence) => model.embedDna(sequence),
  },
};

const $ = (id) => document.getElementById(id);
let model = null;
let current = null;

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

function showRows(rows) {
  $("result").innerHTML = "";
  for (const [label, value] of rows) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.label = label;
    row.innerHTML = `<span class="label"></span><span class="value"></span>`;
    row.querySelector(".label").textContent = label;
    row.querySelector(".value").textContent = value;
    $("result").appendChild(row);
  }
}

// Loads the picked model; the text the user typed is kept unless it is the other model's example.
async function load(choice) {
  const spec = MODELS[choice];
  const button = $("embed");
  button.disabled = true;
  button.textContent = "Loading model…";
  $("status").className = "";
  $("result").innerHTML = "";
  $("sequence-label").textContent = spec.label;
  $("hint").textContent = `An example sequence is filled in; paste your own. ${spec.hint}`;
  const input = $("sequence");
  if (!input.value.trim() || Object.values(MODELS).some((m) => m.example === input.value)) input.value = spec.example;
  const started = performance.now();
  try {
    model = await EncoderModel.load(new URL(spec.weights, document.baseURI).href);
    current = spec;
  } catch (error) {
    showError(error);
    return;
  }
  const info = model.info;
  $("device").textContent = `${info.device}`;
  $("random-banner").hidden = !info.randomWeights;
  $("status").textContent = `Model loaded in ${(performance.now() - started).toFixed(0)} ms (${info.modality}, hidden size ${info.hiddenSize}, ${info.layers} layers).`;
  button.textContent = "Embed on WebGPU";
  button.disabled = false;
}

async function embed() {
  const button = $("embed");
  button.disabled = true;
  $("status").className = "";
  $("status").textContent = "Running…";
  const t0 = performance.now();
  try {
    const result = await current.embed(model, fastaToSequence($("sequence").value));
    const ms = performance.now() - t0;
    const norm = Math.sqrt(result.meanEmbedding.reduce((s, v) => s + v * v, 0));
    const count = result.tokens ? `${result.tokens.length} tokens (${current.specials})` : `${result.bases} bp in, ${result.shape[0]} ${current.specials} out`;
    const tracks = result.tracks ? Object.entries(result.tracks).map(([name, t]) => `${name} [${t.shape.join(", ")}]`).join(", ") : "";
    showRows([
      ["Input", count],
      ["Last hidden state shape", `[${result.shape.join(", ")}]`],
      ["Mean embedding L2 norm", norm.toFixed(6)],
      ...(tracks ? [["Track heads", tracks]] : []),
      ["Time (forward + readback)", `${ms.toFixed(1)} ms`],
    ]);
    $("status").textContent = "Done.";
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  if (!navigator.gpu) {
    showError("This browser has no WebGPU (navigator.gpu is missing). Try a recent Chrome, Edge or Safari.");
    return;
  }
  await init();
  $("embed").addEventListener("click", embed);
  $("model").addEventListener("change", (event) => load(event.target.value));
  await load($("model").value);
}

main();
