#!/usr/bin/env node
// The README's first JavaScript — the five-line example under "Use it in your web app" — run as
// written in headless Chromium against the built package (www/dist), with only its placeholders
// filled: the weights URL becomes the site's tiny random IsoFormer, the module specifier the
// package's index.js, and `dnaWindow`, `transcript`, `protein` a TP73 window, cDNA and protein.
// The table it prints must hold the 30 tissues with the native CLI's values on the same inputs.
// (A Chromium without WebGPU, so the package runs on its CPU fallback: an Enformer pass on
// SwiftShader takes minutes.)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, maxRelativeDifference, newPage, staticServer, testPaths } from "./harness.mjs";

const { site, root, cli, outDir } = testPaths();

const readme = readFileSync(resolve(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
const example = blocks[0];
assert.ok(example, "the README has a ```js block");
const lines = example.trim().split("\n");
assert.equal(lines.length, 5, `the first JavaScript is five lines:\n${example}`);
const line = readme.slice(0, readme.indexOf("```js")).split("\n").length;
assert.ok(line <= 60, `the example is on the README's first screen (it starts on line ${line})`);
assert.match(lines[0], /^import \{ IsoFormer \} from "isoformer-web";$/);
const WEIGHTS = "https://your.host/weights/isoformer/";
assert.ok(example.includes(JSON.stringify(WEIGHTS)), `the example loads ${WEIGHTS}`);
const body = example.replace('import { IsoFormer } from "isoformer-web";', 'const { IsoFormer } = await import("/index.js");').replace(JSON.stringify(WEIGHTS), JSON.stringify("/weights/isoformer-tiny-random/"));

// The inputs: TP73's region (its GenBank record), one Ensembl cDNA and RefSeq's protein.
const genbank = readFileSync(resolve(root, "data/gentle_rs/tp73.ncbi.gb"), "utf8");
const dnaWindow = genbank.split("ORIGIN")[1].split("//")[0].replace(/[^a-z]/gi, "").toUpperCase();
const cdnas = readFileSync(resolve(root, "data/gentle_rs/ensembl_human_tp73_all.fasta"), "utf8").split(">").filter(Boolean);
const transcript = cdnas.find((r) => r.startsWith("ENST00000713571.1")).split("\n").slice(1).join("").trim();
const protein = genbank.split('/protein_id="NP_005418.1"')[1].split('/translation="')[1].split('"')[0].replace(/\s+/g, "");

const args = ["predict", "--weights", resolve(root, "weights/isoformer-tiny-random"), "--backend", "cpu"];
for (const [name, sequence] of Object.entries({ dna: dnaWindow, rna: transcript, protein })) {
  const file = resolve(outDir, `readme-${name}.fasta`);
  writeFileSync(file, `>${name}\n${sequence}\n`);
  args.push(`--${name}`, `@${file}`);
}
const native = JSON.parse(execFileSync(cli, args, { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "ignore"] }));

const server = await staticServer(site, { routes: { "/test.html": blankPage("README example") } });
const browser = await launchChromium({ webgpu: false });
try {
  const page = await newPage(browser, "readme");
  await page.goto(`${server.origin}/test.html`);
  const table = await page.evaluate(async ({ body, dnaWindow, transcript, protein }) => {
    const printed = [];
    console.table = (rows) => printed.push(rows);
    await new Function("dnaWindow", "transcript", "protein", `return (async () => {\n${body}\n})();`)(dnaWindow, transcript, protein);
    return printed;
  }, { body, dnaWindow, transcript, protein });
  assert.equal(table.length, 1, "the example prints one table");
  const rows = table[0];
  assert.deepEqual(rows.map((r) => r.tissue), native.tissues, "the 30 tissues, in order");
  const difference = maxRelativeDifference(rows.map((r) => r.value), native.values);
  assert.ok(difference <= 1e-5, `the example's values and the CLI's differ by ${difference} of their scale`);
  console.log(`readme_example: ok (the README's five lines predict the CLI's 30 values within ${difference.toExponential(2)} of their scale)`);
} finally {
  await browser.close();
  server.close();
}
