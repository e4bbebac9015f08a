// The demo's variant view: a gene's annotation (the TP73 example, or a GenBank / GFF3 / GTF file
// opened here) and VCF lines scored through the package's scoreVariants; a table of variants with
// their consequences and scores, and for the chosen variant an isoforms × tissues heatmap of the
// change of predicted expression. Files are read in the page; nothing is sent anywhere.
import { download, drawHeatmap } from "./heatmap.js";

const $ = (id) => document.getElementById(id);
let scores = null;

// The annotation the form describes: { genbank } or { gff, fasta }.
async function annotation() {
  const source = $("annotation-source").value;
  if (source === "example") {
    const response = await fetch("examples/tp73.gb");
    if (!response.ok) throw new Error("the example annotation could not be read");
    return { genbank: await response.text() };
  }
  const file = $("annotation-file").files[0];
  if (!file) throw new Error(`Open a ${source === "gff" ? "GFF3 or GTF" : "GenBank"} file.`);
  if (source === "genbank") return { genbank: await file.text() };
  const fasta = $("annotation-fasta").files[0];
  if (!fasta) throw new Error("Open the FASTA of the sequence the GFF3/GTF annotates.");
  return { gff: await file.text(), fasta: await fasta.text() };
}

const number = (value, digits = 3) => (value === null || value === undefined ? "" : value.toFixed(digits));
const largest = (values) => values.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);

// One row per variant: its consequences on the gene's isoforms, the largest |Δ|, ESM-2's score.
function drawVariants(result, onPick) {
  const table = $("variant-table");
  const head = document.createElement("tr");
  for (const label of ["Variant", "Position", "Alleles", "Consequences (isoforms)", "Protein change", "Largest Δ", "ESM-2 LLR", "NT-v2 cosine"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.append(th);
  }
  const body = document.createElement("tbody");
  result.variants.forEach((variant, index) => {
    const tr = document.createElement("tr");
    tr.dataset.id = variant.id;
    const counts = new Map();
    for (const t of variant.transcripts) for (const term of t.consequences) counts.set(term, (counts.get(term) ?? 0) + 1);
    const coding = variant.transcripts.find((t) => t.proteinChange && t.proteinChange !== "=");
    const llr = variant.transcripts.find((t) => t.esmLlr !== null)?.esmLlr ?? null;
    const cosine = variant.transcripts.map((t) => t.ntCosine).filter((c) => c !== null);
    const cells = [
      variant.id,
      `${variant.chrom}:${variant.position}`,
      `${variant.reference}>${variant.alternate}`,
      [...counts].map(([term, n]) => `${term} (${n})`).join(", "),
      coding ? `${coding.proteinChange} (${coding.transcript})` : "",
      number(largest(variant.transcripts.map((t) => largest(t.delta))), 4),
      number(llr),
      cosine.length ? number(Math.min(...cosine), 5) : "",
    ];
    const pick = document.createElement("button");
    pick.type = "button";
    pick.textContent = cells[0];
    pick.title = "show this variant's isoforms × tissues heatmap";
    pick.addEventListener("click", () => onPick(index));
    const first = document.createElement("th");
    first.scope = "row";
    first.append(pick);
    tr.append(first);
    for (const text of cells.slice(1)) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  });
  for (const error of result.errors) {
    const tr = document.createElement("tr");
    tr.className = "error";
    const td = document.createElement("td");
    td.colSpan = 8;
    td.textContent = `${error.code}: ${error.message}`;
    tr.append(td);
    body.append(tr);
  }
  const thead = document.createElement("thead");
  thead.append(head);
  table.replaceChildren(thead, body);
}

function showVariant(index) {
  const variant = scores.variants[index];
  const rows = variant.transcripts.map((t) => ({ id: t.transcript, tissues: scores.tissues, values: Float32Array.from(t.delta) }));
  drawHeatmap($("variant-heatmap"), rows, "id", 0);
  $("variant-heatmap").dataset.variant = variant.id;
  $("variant-heatmap-title").textContent = `${variant.id} (${variant.chrom}:${variant.position} ${variant.reference}>${variant.alternate}): change of predicted expression, alt − ref (blue lower, red higher)`;
}

// Every variant × isoform as TSV: consequences, scores and Δ per tissue.
function scoresTsv(result) {
  const lines = [["variant", "pos", "ref", "alt", "transcript", "consequences", "protein_change", "esm_llr", "nt_cosine", ...result.tissues.map((t) => `delta:${t}`)].join("\t")];
  for (const v of result.variants) {
    for (const t of v.transcripts) {
      lines.push([v.id, v.position, v.reference, v.alternate, t.transcript, t.consequences.join(","), t.proteinChange ?? "", number(t.esmLlr, 6), number(t.ntCosine, 6), ...t.delta.map((d) => d.toPrecision(7))].join("\t"));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Wires the view to the page: `model()` gives the loaded model (or null); `status` and `fail` report. */
export async function setUpVariants({ model, status, fail }) {
  const example = await fetch("examples/tp73.vcf").then((r) => (r.ok ? r.text() : ""), () => "");
  if (!$("vcf").value.trim()) $("vcf").value = example;
  $("annotation-source").addEventListener("change", () => {
    const source = $("annotation-source").value;
    $("annotation-file").hidden = source === "example";
    $("annotation-fasta").hidden = source !== "gff";
    if (source === "example") $("variant-gene").value = "TP73";
  });
  // A VCF file is read here, in the page, never uploaded.
  $("vcf-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) $("vcf").value = await file.text();
  });
  $("variant-tsv").addEventListener("click", () => scores && download(scoresTsv(scores), "isoformer-variants.tsv"));
  $("score-variants").addEventListener("click", async () => {
    const loaded = model();
    if (!loaded) return fail("Load a model first.");
    $("score-variants").disabled = true;
    const started = performance.now();
    try {
      status("Reading the annotation and scoring the reference isoforms…");
      const gene = $("variant-gene").value.trim() || undefined;
      scores = await loaded.scoreVariants({
        annotation: await annotation(),
        variants: $("vcf").value,
        gene,
        onProgress: ({ done, total, variant, error }) => status(`Scored ${done} of ${total} records (${variant?.id ?? error?.code})…`),
      });
      drawVariants(scores, showVariant);
      if (scores.variants.length) showVariant(0);
      const random = scores.randomWeights ? " RANDOM WEIGHTS: the scores mean nothing biologically." : "";
      const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;
      $("variant-summary").textContent = `${count(scores.variants.length, "variant")} on ${count(scores.transcripts.length, "isoform")}, ${count(scores.errors.length, "record")} refused, in ${((performance.now() - started) / 1000).toFixed(1)} s. Pick a variant for its heatmap.${random}`;
      $("variant-results").hidden = false;
      status("Done.");
    } catch (error) {
      fail(error);
    } finally {
      $("score-variants").disabled = false;
    }
  });
}
