#!/usr/bin/env node
// End-to-end test of the demo site (www/dist, as `make demo` serves it) in headless Chromium
// (run by `make test-web`; needs target/release/isoformer for the native comparison), in a
// Chromium without WebGPU, so the page runs the package's CPU fallback: on SwiftShader (these
// machines' only WebGPU adapter) each of the demo's Enformer passes over 196,608 bp (every load,
// every DNA prediction and embedding, the variant windows) takes minutes, and the package's WebGPU path is package_api.mjs's, faults.mjs's and tests/web.rs's:
//   1. the page loads the default (tiny, random) model by itself, on the CPU (auto: no WebGPU here),
//      and says the weights are random;
//   2. a protein-only prediction from an uploaded FASTA file, and a full DNA + RNA + protein
//      prediction from the example inputs, each equal to the native CLI's on the same input;
//   3. the chart has 30 drawn bars carrying the predicted values; a screenshot is saved
//      (target/e2e/demo.png);
//   3b. every TP73 isoform against the gene's window: an isoforms × tissues heatmap equal to the
//      CLI's batch, sorted by a tissue on a click, downloaded as TSV; the chart and the heatmap
//      at 1,280 and 390 px (screenshots);
//   3c. variant effects: the TP73 example is offered; DOC2B's GFF3 and FASTA opened as files and
//      typed VCF lines scored in the page (the variant table, a refused record, the Δ heatmap
//      equal to the CLI's `variants`, the TSV);
//   4. embeddings of the three inputs; reloading the model keeps what was typed;
//   5. privacy: weights on another site are refused, the CSP blocks a connection to another origin,
//      and no request made after the model loaded carries any piece of the sequences (nor goes
//      anywhere but this site).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { launchChromium, maxRelativeDifference, newPage, staticServer, testPaths } from "./harness.mjs";

const { site, root, cli, outDir } = testPaths();

// The native CLI's prediction on the same weights and inputs (sequences passed as @files).
function nativePrediction(inputs) {
  const args = ["predict", "--weights", resolve(root, "weights/isoformer-tiny-random"), "--backend", "cpu"];
  for (const [modality, sequence] of Object.entries(inputs)) {
    const file = resolve(outDir, `${modality}.fasta`);
    writeFileSync(file, `>${modality}\n${sequence}\n`);
    args.push(`--${modality}`, `@${file}`);
  }
  return JSON.parse(execFileSync(cli, args, { encoding: "utf8", maxBuffer: 1 << 26 })).values;
}

// The page (wasm, the CPU backend) against the native CLI, relative to the values' scale
// (measured ≤ 8.6e-7).
const TOLERANCE = 1e-5;

function assertClose(browserValues, nativeValues, what) {
  assert.equal(browserValues.length, 30, what);
  const difference = maxRelativeDifference(browserValues, nativeValues);
  assert.ok(difference <= TOLERANCE, `${what}: the page and the CLI differ by ${difference} of the values' scale`);
  return difference;
}

// What the user submitted, none of which may leave the page or be stored by it: every 16-letter
// piece of every sequence (all of each, DNA windows included), and each shorter sequence and typed
// VCF line whole. `find(text)` names the first piece a text holds.
function leakDetector() {
  const pieces = new Set();
  const whole = new Set();
  const add = (sequence) => {
    const letters = sequence.replace(/\s+/g, "").toUpperCase();
    if (letters.length < 16) return letters && whole.add(letters);
    // (a run of N is padding, not the user's data)
    for (let i = 0; i + 16 <= letters.length; i++) if (!/^N+$/.test(letters.slice(i, i + 16))) pieces.add(letters.slice(i, i + 16));
  };
  const find = (text) => {
    const upper = text.toUpperCase();
    for (let i = 0; i + 16 <= upper.length; i++) if (pieces.has(upper.slice(i, i + 16))) return upper.slice(i, i + 16);
    for (const piece of whole) if (upper.includes(piece)) return piece;
    return null;
  };
  return { add, addLines: (text) => text.split("\n").filter(Boolean).forEach((line) => whole.add(line.toUpperCase())), find, size: () => pieces.size + whole.size };
}
const fastaSequences = (text) => text.split(/^>.*$/m).map((s) => s.replace(/\s+/g, "")).filter(Boolean);

const server = await staticServer(site);
const browser = await launchChromium({ webgpu: false });
const pageRequests = [];
try {
  const page = await newPage(browser, "demo");
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.setViewportSize({ width: 1100, height: 1800 });
  page.on("request", (request) => pageRequests.push({ url: request.url(), body: request.postData() ?? "" }));
  await page.goto(`${server.origin}/`);

  // 1. The default model loads by itself.
  await page.waitForFunction(() => !document.getElementById("predict").disabled, null, { timeout: 600_000 });
  assert.equal(await page.locator("#random-banner").isVisible(), true, "the random-weights banner is shown");
  assert.match(await page.locator("#progress-text").textContent(), /^Ready: IsoFormer, tiny test model \(random weights\)/);
  assert.match(await page.locator("#device-info").textContent(), /^cpu: /, "auto falls back to the CPU without WebGPU");
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
  assert.match(csp, /connect-src 'self'/);
  const afterLoad = { server: server.requests.length, page: pageRequests.length };

  const predict = async () => {
    await page.click("#predict");
    await page.waitForFunction(() => ["Done.", "error"].some((s) => document.getElementById("status").textContent === s || document.getElementById("status").className === s), null, { timeout: 600_000 });
    const status = await page.locator("#status").textContent();
    assert.equal(status, "Done.", status);
    return JSON.parse(await page.locator("#result").getAttribute("data-values"));
  };

  // 2a. Protein only, from an uploaded FASTA file.
  const protein = "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSSRGNNEVVGGTDSSMDVFHLEGMTTSVMAQFNLLSSTMDQMSSRAASASPYTPEHAASVPTHSPYAQPSSTFDTMSPAPVIPSNTDYPGPHHFEVTFQQSSTAKSATWTYSPLLKKLYCQIAKTCPIQIKVSTPPPPGTAIRAMPVYKKAEHVTDVVKRCPNHELGRDFNEGQSAPASHLIRVEGNNLSQYVDDPVTGRQSVVVPYEPPQVGTEFTTILYNFMCNSSCVGGMNRRPILIIITLEMRDGQVLGRRSFEGRICACPGRDRKADEDHYREQQALNESSAKNGAASKRAFKQSPPAVPALGAGVKKRRHGDEDTYYLQVRGRENFEILMKLKESLELMELVPQPLVDSYRQQQQLLQRPSHLQPPSYGPVLSPMNKVHGGMNKLPSVNQLVGQPPPHSSAATPNLGPVGPGMLNNHGHAVPANGEMSSSHSAQSMVSGSHCTPPPPYHADPSLVSFLTGLGCPNCIEYFTSQGLQSIYHLQNLTIEDLGALKIPEQYRMTIWRGLQDLKQGHDYSTAQQLLRSSNAATISIGGSGELQRQRVMEAVHFRVRHTITIPNRGGPGGGPDEWADFGFDLPDCKARKQPIKEEFTEAEIH";
  for (const modality of ["dna", "rna"]) await page.fill(`#${modality}`, "");
  await page.setInputFiles("#protein-file", { name: "tp73-isoform.fasta", mimeType: "text/plain", buffer: Buffer.from(`>TP73 isoform\n${protein.match(/.{1,60}/g).join("\n")}\n`) });
  await page.waitForFunction((n) => document.getElementById("protein-count").textContent.startsWith(`${n} aa`), protein.length);
  const proteinOnly = await predict();
  const proteinWorst = assertClose(proteinOnly, nativePrediction({ protein }), "protein only");
  assert.match(await page.locator("#result-summary").textContent(), /^From protein .*RANDOM WEIGHTS/);

  // 2b. All three inputs: the first TP73 isoform example (gene window, cDNA, protein; from data/).
  await page.selectOption("#example", "0");
  const inputs = {};
  for (const modality of ["dna", "rna", "protein"]) inputs[modality] = (await page.inputValue(`#${modality}`)).replace(/\s+/g, "");
  assert.ok(inputs.dna && inputs.rna && inputs.protein, "the example fills all three boxes");
  const full = await predict();
  const fullWorst = assertClose(full, nativePrediction(inputs), "DNA + RNA + protein");
  assert.match(await page.locator("#result-summary").textContent(), /^From dna \+ rna \+ protein/);

  // 3. The chart: 30 bars, drawn (non-zero boxes), carrying the values; and a screenshot.
  const bars = await page.locator("#chart rect.bar").evaluateAll((rects) => rects.map((r) => ({ value: Number(r.dataset.value), box: r.getBoundingClientRect().toJSON() })));
  assert.equal(bars.length, 30);
  bars.forEach((bar, i) => {
    assert.ok(bar.box.width >= 1 && bar.box.height > 0, `bar ${i} is drawn`);
    assert.ok(Math.abs(bar.value - full[i]) <= 1e-6 * Math.max(1, Math.abs(full[i])));
  });
  const biggest = bars.reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a));
  assert.ok(biggest.box.width > 100, "the largest value spans most of the plot");
  const shot = await page.screenshot({ path: resolve(outDir, "demo.png"), fullPage: true });
  assert.ok(shot.length > 20_000, "the screenshot has content");
  await page.locator("#chart").screenshot({ path: resolve(outDir, "chart.png") });
  // On a phone the chart is laid out again for the width, its text kept at 11 px.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => document.getElementById("chart").getBoundingClientRect().width <= 390);
  const narrow = await page.evaluate(() => ({
    width: document.getElementById("chart").getBoundingClientRect().width,
    font: getComputedStyle(document.querySelector("#chart text.tissue")).fontSize,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  }));
  assert.equal(narrow.font, "11px");
  assert.ok(narrow.overflow <= 0, `the page scrolls sideways by ${narrow.overflow} px at 390`);
  await page.locator("#chart").screenshot({ path: resolve(outDir, "chart-390.png") });
  await page.setViewportSize({ width: 1280, height: 1800 });

  // 3b. Every isoform of the gene against its window (the DNA embedding once): the heatmap.
  await page.selectOption("#example", "all");
  assert.match(await page.locator("#rna-count").textContent(), /transcripts: each is predicted/);
  const isoformFasta = { rna: await page.inputValue("#rna"), protein: await page.inputValue("#protein") };
  await page.click("#predict");
  await page.waitForFunction(() => ["Done."].includes(document.getElementById("status").textContent) || document.getElementById("status").className === "error", null, { timeout: 900_000 });
  assert.equal(await page.locator("#status").textContent(), "Done.");
  const heatRows = () => page.evaluate(() => [...document.querySelectorAll("#heatmap tbody tr")].map((tr) => ({ id: tr.dataset.id, values: [...tr.querySelectorAll("td")].map((td) => Number(td.dataset.value)) })));
  const heat = await heatRows();
  const transcriptCount = (await page.locator("#example option").count()) - 1;
  assert.equal(heat.length, transcriptCount, "one heatmap row per isoform");
  assert.ok(heat.every((r) => r.values.length === 30));
  for (const [modality, text] of Object.entries(isoformFasta)) writeFileSync(resolve(outDir, `isoforms-${modality}.fasta`), text);
  writeFileSync(resolve(outDir, "window.fasta"), `>window\n${inputs.dna}\n`);
  const batch = resolve(outDir, "isoforms.tsv");
  execFileSync(cli, ["predict", "--weights", resolve(root, "weights/isoformer-tiny-random"), "--backend", "cpu", "--dna", `@${resolve(outDir, "window.fasta")}`,
    "--rna-fasta", resolve(outDir, "isoforms-rna.fasta"), "--protein-fasta", resolve(outDir, "isoforms-protein.fasta"), "--out", batch], { stdio: "ignore" });
  const native = new Map(readFileSync(batch, "utf8").trim().split("\n").slice(1).filter((l) => !l.startsWith("#")).map((l) => l.split("\t")).map(([id, ...v]) => [id, v.map(Number)]));
  let heatWorst = 0;
  for (const row of heat) heatWorst = Math.max(heatWorst, assertClose(row.values, native.get(row.id), `heatmap row ${row.id}`));
  await page.click('#heatmap thead button[data-sort="5"]');
  const sorted = (await heatRows()).map((r) => r.values[5]);
  assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a), "a tissue header sorts the rows by it, highest first");
  const [saved] = await Promise.all([page.waitForEvent("download"), page.click("#heatmap-tsv")]);
  const tsv = readFileSync(await saved.path(), "utf8").trim().split("\n").map((l) => l.split("\t"));
  assert.equal(tsv.length, transcriptCount + 1);
  assert.equal(tsv[0][0], "id");
  assert.equal(tsv[0].length, 31);
  assert.ok(maxRelativeDifference(tsv[1].slice(1).map(Number), native.get(tsv[1][0])) <= TOLERANCE);
  await page.locator("#heatmap-section").screenshot({ path: resolve(outDir, "heatmap.png") }); // 1,280 px wide
  await page.setViewportSize({ width: 390, height: 844 });
  const narrowHeat = await page.evaluate(() => {
    const box = document.querySelector(".heatmap-scroll");
    return { width: box.getBoundingClientRect().width, scrolls: box.scrollWidth > box.clientWidth, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, cell: document.querySelector("#heatmap td").getBoundingClientRect().width };
  });
  assert.ok(narrowHeat.width <= 390 && narrowHeat.overflow <= 0, JSON.stringify(narrowHeat));
  assert.ok(narrowHeat.cell >= 14, `heatmap cells stay visible at 390 px (${narrowHeat.cell} px)`);
  await page.locator("#heatmap-section").screenshot({ path: resolve(outDir, "heatmap-390.png") });
  await page.setViewportSize({ width: 1100, height: 1800 });
  await page.selectOption("#example", "0");

  // 3c. Variant effects: the TP73 example is offered (its VCF lines filled in); then DOC2B's GFF3
  //     and FASTA opened as files (one isoform and one DNA window: the TP73 example's 15 isoforms
  //     and 5 windows take SwiftShader many minutes, tests/browser/variants.mjs checks the scores'
  //     kinds) and VCF lines typed here, scored in the page: the variant table with a refused
  //     record, the isoforms × tissues Δ heatmap equal to the CLI's `variants` on the same files, the TSV.
  const vcfText = "chr17\t31240\tmissense_snv\tT\tG\nchr17\t31240\tref_mismatch\tC\tG\n";
  assert.match(await page.inputValue("#vcf"), /missense_snv/, "the example VCF lines are filled in");
  assert.equal(await page.inputValue("#variant-gene"), "TP73");
  const gffPath = resolve(root, "tests/fixtures/variants/doc2b.gff3");
  const fastaPath = resolve(root, "data/pyfaidx/chr17.hg19.part.fa");
  await page.selectOption("#annotation-source", "gff");
  await page.setInputFiles("#annotation-file", gffPath);
  await page.setInputFiles("#annotation-fasta", fastaPath);
  await page.fill("#variant-gene", "DOC2B");
  await page.fill("#vcf", vcfText);
  await page.click("#score-variants");
  await page.waitForFunction(() => document.getElementById("status").textContent === "Done." || document.getElementById("status").className === "error", null, { timeout: 1_800_000 });
  assert.equal(await page.locator("#status").textContent(), "Done.");
  const variantRows = await page.locator("#variant-table tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(variantRows.length, 2);
  assert.equal(variantRows[0][0], "missense_snv");
  assert.match(variantRows[0][3], /missense_variant \(1\)/);
  assert.match(variantRows[1][0], /^REF_MISMATCH: VCF record 2/);
  assert.match(await page.locator("#variant-summary").textContent(), /1 variant on 1 isoform, 1 record refused.*RANDOM WEIGHTS/);
  const deltaRows = await page.evaluate(() => [...document.querySelectorAll("#variant-heatmap tbody tr")].map((tr) => ({ id: tr.dataset.id, values: [...tr.querySelectorAll("td")].map((td) => Number(td.dataset.value)) })));
  assert.equal(deltaRows.length, 1);
  const vcfFile = resolve(outDir, "typed.vcf");
  writeFileSync(vcfFile, vcfText);
  const scoresTsv = resolve(outDir, "variants.tsv");
  execFileSync(cli, ["variants", "--weights", resolve(root, "weights/isoformer-tiny-random"), "--gff", gffPath, "--fasta", fastaPath, "--vcf", vcfFile, "--gene", "DOC2B", "--out", scoresTsv], { stdio: "ignore" });
  const scoreLines = readFileSync(scoresTsv, "utf8").trim().split("\n").filter((l) => !l.startsWith("#")).map((l) => l.split("\t"));
  const deltaColumn = scoreLines[0].indexOf("delta:Adipose Tissue");
  const nativeDelta = new Map(scoreLines.slice(1).filter((r) => r[0]).map((r) => [r[5], r.slice(deltaColumn, deltaColumn + 30).map(Number)]));
  const predictionScale = Math.max(...[...native.values()].flat().map(Math.abs));
  let deltaWorst = 0;
  for (const row of deltaRows) {
    const expected = nativeDelta.get(row.id);
    assert.ok(expected, `the CLI scored ${row.id}`);
    assert.equal(row.values.length, 30, `${row.id}: a Δ per tissue`);
    assert.equal(expected.length, 30);
    for (const [i, value] of row.values.entries()) deltaWorst = Math.max(deltaWorst, Math.abs(value - expected[i]) / predictionScale);
  }
  assert.ok(deltaRows.length > 0 && deltaWorst <= TOLERANCE, `variant Δ: the page and the CLI differ by ${deltaWorst} of the predictions' scale`);
  const [savedScores] = await Promise.all([page.waitForEvent("download"), page.click("#variant-tsv")]);
  const scoreTsv = readFileSync(await savedScores.path(), "utf8").trim().split("\n");
  assert.equal(scoreTsv.length, 1 + 1);
  await page.locator("#variants-section").screenshot({ path: resolve(outDir, "variants.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  const narrowVariants = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(narrowVariants <= 0, `the variant view scrolls the page sideways by ${narrowVariants} px at 390`);
  await page.locator("#variants-section").screenshot({ path: resolve(outDir, "variants-390.png") });
  await page.setViewportSize({ width: 1100, height: 1800 });

  // 4. Embeddings, and the typed text kept across a model reload.
  await page.click("#embed");
  await page.waitForFunction(() => document.querySelectorAll("#embedding-table tbody tr").length === 3 && document.getElementById("status").textContent === "Done.", null, { timeout: 600_000 });
  const rows = await page.locator("#embedding-table tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(rows.map((r) => r[0]), ["dna", "rna", "protein"]);
  assert.ok(rows[0][1].startsWith("[896, "), rows[0][1]);
  assert.equal(rows[2][1].split(",")[0], `[${inputs.protein.length + 2}`);
  // The embedding map: the TP73 isoform proteins by default (one point each), then a FASTA file
  // opened in the page (read locally) with two labels, coloured with a legend; screenshots.
  const isoformCount = await page.locator("#example option:not([value=all])").count();
  await page.click("#map");
  await page.waitForFunction((n) => document.querySelectorAll("#map-chart circle.point").length === n && document.getElementById("status").textContent === "Done.", isoformCount, { timeout: 600_000 });
  const fasta = [">a1 geneA:x\nMKTAYIAKQRQISFVK", ">a2 geneA:y\nMKTAYIAKQRQISFVR", ">a3 geneA\nMKTAYIAKQ", ">b1 geneB\nGGGGSGGGGSPPPW", ">b2 geneB\nGGGGSGGGGSPPPF", ">b3 geneB\nWWWWPPPPGGGG"].join("\n");
  await page.setInputFiles("#map-file", { name: "six.fasta", mimeType: "text/plain", buffer: Buffer.from(fasta) });
  await page.click("#map");
  await page.waitForFunction(() => document.querySelectorAll("#map-chart circle.point").length === 6 && document.getElementById("status").textContent === "Done.", null, { timeout: 600_000 });
  const map = await page.evaluate(() => ({
    legend: [...document.querySelectorAll("#map-chart text.legend")].map((t) => t.textContent),
    ids: [...document.querySelectorAll("#map-chart circle.point")].map((c) => c.dataset.id),
    spread: new Set([...document.querySelectorAll("#map-chart circle.point")].map((c) => c.getAttribute("cx"))).size,
    caption: document.getElementById("map-caption").textContent,
  }));
  assert.deepEqual(map.legend, ["geneA", "geneB"]);
  assert.deepEqual(map.ids, ["a1", "a2", "a3", "b1", "b2", "b3"]);
  assert.ok(map.spread > 1, "the points are spread over the map");
  assert.match(map.caption, /RANDOM WEIGHTS/);
  await page.locator("#map-figure").screenshot({ path: resolve(outDir, "map.png") }); // 1,100 px wide
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator("#map-figure").screenshot({ path: resolve(outDir, "map-390.png") });
  await page.setViewportSize({ width: 1100, height: 1800 });

  await page.fill("#protein", "MKTAYIAKQRQ typed by hand");
  await page.click("#load");
  await page.waitForFunction(() => !document.getElementById("predict").disabled, null, { timeout: 600_000 });
  assert.equal(await page.inputValue("#protein"), "MKTAYIAKQRQ typed by hand");

  // 5. Privacy: weights from another site are refused, the CSP blocks other origins, and nothing
  //    after loading carries the sequences.
  await page.selectOption("#model", "custom");
  await page.fill("#custom-url", "http://127.0.0.2:9/weights/");
  await page.click("#load");
  assert.match(await page.locator("#status").textContent(), /another site/);
  assert.equal(await page.isEnabled("#predict"), true, "the loaded model stays loaded");
  const violated = await page.evaluate(() => new Promise((resolve) => {
    document.addEventListener("securitypolicyviolation", (event) => resolve(event.effectiveDirective), { once: true });
    fetch("http://127.0.0.2:9/leak").catch(() => {});
    setTimeout(() => resolve("no violation"), 5000);
  }));
  assert.equal(violated, "connect-src");
  const leaks = leakDetector();
  for (const sequence of [inputs.dna, inputs.rna, inputs.protein, protein, "MKTAYIAKQRQ typed by hand"]) leaks.add(sequence);
  for (const text of [isoformFasta.rna, isoformFasta.protein, fasta, readFileSync(fastaPath, "utf8")]) fastaSequences(text).forEach(leaks.add);
  leaks.addLines(vcfText);
  const later = [...server.requests.slice(afterLoad.server).map((r) => ({ url: r.url, body: r.body })), ...pageRequests.slice(afterLoad.page)];
  for (const request of later) {
    const found = leaks.find(`${decodeURIComponent(request.url)} ${request.body}`);
    assert.equal(found, null, `a request carries sequence data (${found}): ${request.url}`);
  }
  // …nor does the page's storage: the Cache API (the weights the package keeps), IndexedDB,
  // localStorage, sessionStorage and cookies, read back in full.
  const stored = await page.evaluate(async () => {
    const latin1 = (bytes) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
    const entries = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        entries.push({ where: `cache ${name}: ${request.url}`, text: `${request.url} ${latin1(new Uint8Array(await response.arrayBuffer()))}` });
      }
    }
    for (const [label, storage] of [["localStorage", localStorage], ["sessionStorage", sessionStorage]]) {
      for (let i = 0; i < storage.length; i++) entries.push({ where: label, text: `${storage.key(i)} ${storage.getItem(storage.key(i))}` });
    }
    entries.push({ where: "cookies", text: document.cookie });
    const withArrays = (_, value) => (ArrayBuffer.isView(value) ? latin1(new Uint8Array(value.buffer)) : value);
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => Object.assign(indexedDB.open(name), { onsuccess: (e) => resolve(e.target.result), onerror: reject }));
      for (const store of db.objectStoreNames) {
        const all = (method) => new Promise((resolve, reject) => Object.assign(db.transaction(store).objectStore(store)[method](), { onsuccess: (e) => resolve(e.target.result), onerror: reject }));
        entries.push({ where: `IndexedDB ${name}/${store}`, text: JSON.stringify([await all("getAllKeys"), await all("getAll")], withArrays) });
      }
      db.close();
    }
    return entries;
  });
  assert.ok(stored.some((e) => e.where.startsWith("cache ")), "the storage read saw the cached weights");
  for (const { where, text } of stored) {
    const found = leaks.find(text);
    assert.equal(found, null, `the page stored sequence data (${found}) in ${where}`);
  }
  for (const { url } of pageRequests.slice(afterLoad.page)) {
    // (blob: URLs are the TSV download, made in the page)
    assert.ok(url.startsWith(server.origin) || url.startsWith(`blob:${server.origin}/`) || url === "http://127.0.0.2:9/leak", `a request left the site: ${url}`);
  }
  assert.deepEqual(pageErrors, [], "no uncaught error in the page");
  console.log(`demo_e2e: ok (protein-only relative max |Δ| vs CLI ${proteinWorst.toExponential(2)}, full ${fullWorst.toExponential(2)}, heatmap ${heatWorst.toExponential(2)}, variant Δ ${deltaWorst.toExponential(2)}; ${later.length} requests after loading, none with sequence data, nor ${stored.length} stored entries (${leaks.size()} pieces of the inputs looked for); screenshot target/e2e/demo.png)`);
} finally {
  await browser.close();
  server.close();
}
