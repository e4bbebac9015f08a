#!/usr/bin/env node
// Browser test of the package's scoreVariants (www/index.js → worker → wasm), on the built site
// (run by `make test-web`; needs target/release/isoformer): in headless Chromium, on the CPU
// backend (the scoring logic is the same on every backend, and on SwiftShader each of its Enformer
// passes over 196,608 bp takes minutes; the model calls it makes are compared with their
// references on WebGPU by tests/web.rs), the tiny random IsoFormer scores VCF records on DOC2B (GFF3 + FASTA, a minus-strand gene) and the
// page's answer equals the native CLI's `isoformer variants --format json` on the same files —
// every field equal (consequences, protein changes, flags) and every number — Δ and share Δ per
// tissue, ESM-2 / NT-v2 scores, Enformer's track Δ per head — within VARIANT_TOLERANCE; a bad record is an entry of `errors` naming it while the others are scored; progress
// events per record; bad requests are typed; an aborted call rejects with ABORTED and the model
// still answers.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, maxRelativeDifference, newPage, staticServer, testPaths } from "./harness.mjs";

const { site, root, cli, outDir } = testPaths();
// Largest difference between the page (wasm, the CPU backend) and the native CLI for any number of
// the scores, relative to the largest value of its field. Measured ≤ 4.8e-6 (Δ, a difference of two
// predictions, so smaller than they are while their rounding is theirs; the others ≤ 3.9e-6; the
// log line below prints each field's).
const VARIANT_TOLERANCE = 2e-5;

const gff = readFileSync(resolve(root, "tests/fixtures/variants/doc2b.gff3"), "utf8");
const fasta = readFileSync(resolve(root, "data/pyfaidx/chr17.hg19.part.fa"), "utf8");
// A missense and a synonymous change of DOC2B's codon 11 (minus strand), a 3-bp deletion in its
// first coding exon, and a record whose REF is wrong.
const vcf = [
  "chr17\t31240\tmissense\tT\tG",
  "chr17\t31238\tcodon_11_third\tG\tA",
  "chr17\t31230\tinframe\tATGC\tA",
  "chr17\t31240\tref_mismatch\tC\tG",
].join("\n");
const vcfFile = resolve(outDir, "doc2b.vcf");
writeFileSync(vcfFile, `${vcf}\n`);
const native = JSON.parse(
  execFileSync(cli, ["variants", "--weights", resolve(root, "weights/isoformer-tiny-random"), "--gff", resolve(root, "tests/fixtures/variants/doc2b.gff3"),
    "--fasta", resolve(root, "data/pyfaidx/chr17.hg19.part.fa"), "--vcf", vcfFile, "--format", "json"], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "ignore"] }),
);

const server = await staticServer(site, { routes: { "/test.html": blankPage("variants test") } });
const browser = await launchChromium();
try {
  const page = await newPage(browser, "variants");
  await page.goto(`${server.origin}/test.html`);
  const out = await page.evaluate(async ({ gff, fasta, vcf }) => {
    const { IsoFormer } = await import("/index.js");
    const codeOf = (promise) => promise.then(() => "resolved", (e) => e.code ?? `uncoded ${e.message}`);
    const model = await IsoFormer.load({ weights: "/weights/isoformer-tiny-random/", device: "cpu" });
    const progress = [];
    const started = performance.now();
    const scores = await model.scoreVariants({
      annotation: { gff, fasta },
      variants: vcf,
      onProgress: (e) => progress.push({ status: e.status, index: e.index, id: e.variant?.id ?? e.error?.code, done: e.done, total: e.total, progress: e.progress }),
    });
    const ms = performance.now() - started;
    const annotation = { gff, fasta };
    const bad = {
      notGenbank: await codeOf(model.scoreVariants({ annotation: { genbank: "LOCUS junk\n//\n" }, variants: vcf })),
      gffWithoutFasta: await codeOf(model.scoreVariants({ annotation: { gff }, variants: vcf })),
      unknownField: await codeOf(model.scoreVariants({ annotation: { gtf: gff }, variants: vcf })),
      variantsNotText: await codeOf(model.scoreVariants({ annotation, variants: 42 })),
      noRecords: await codeOf(model.scoreVariants({ annotation, variants: "#CHROM\tPOS\tID\tREF\tALT\n" })),
      badStrand: await codeOf(model.scoreVariants({ annotation, variants: vcf, windowStrand: "minus" })),
      unknownGene: await codeOf(model.scoreVariants({ annotation, variants: vcf, gene: "TP73" })),
      unknownOption: await codeOf(model.scoreVariants({ annotation, variants: vcf, windowSize: 10 })),
      aborted: await codeOf(model.scoreVariants({ annotation, variants: vcf, signal: AbortSignal.abort() })),
    };
    const running = new AbortController();
    const abortedWhileRunning = codeOf(model.scoreVariants({ annotation, variants: vcf, signal: running.signal }));
    setTimeout(() => running.abort(), 50);
    bad.abortedWhileRunning = await abortedWhileRunning;
    const after = (await model.predict({ protein: "MKTAYIAKQRQ" })).values.length;
    await model.dispose();
    return { scores, progress, bad, after, backend: model.info.backend, ms };
  }, { gff, fasta, vcf });

  // The page's answer against the CLI's JSON, field by field: every key, string and flag equal,
  // every number within the tolerance of its field's scale (each field's numbers grouped by their
  // path, e.g. variants.transcripts.delta or …enformer.heads.human), counted so none is skipped.
  const groups = new Map();
  const walk = (ours, theirs, path) => {
    if (typeof theirs === "number") {
      assert.equal(typeof ours, "number", `${path}: ${ours} where the CLI has ${theirs}`);
      const group = groups.get(path) ?? groups.set(path, { ours: [], theirs: [] }).get(path);
      group.ours.push(ours);
      group.theirs.push(theirs);
    } else if (Array.isArray(theirs)) {
      assert.ok(Array.isArray(ours) || ArrayBuffer.isView(ours), `${path}: not a list`);
      assert.equal(ours.length, theirs.length, `${path}: length`);
      theirs.forEach((value, i) => walk(ours[i], value, path));
    } else if (theirs !== null && typeof theirs === "object") {
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), `${path}: fields`);
      for (const key of Object.keys(theirs)) walk(ours[key], theirs[key], `${path}.${key}`);
    } else {
      assert.equal(ours, theirs, path);
    }
  };
  walk(out.scores.variants, native.variants, "variants");
  walk(out.scores.tissues, native.tissues, "tissues");
  // (the page's errors also carry the record's index in the call)
  walk(out.scores.errors.map(({ code, message }) => ({ code, message })), native.errors, "errors");
  const measured = {};
  let numbers = 0;
  for (const [path, { ours, theirs }] of groups) {
    numbers += theirs.length;
    // A field that is zero throughout (a Δ of an untouched isoform) must be zero in the page too.
    if (theirs.every((v) => v === 0)) assert.deepEqual(ours, theirs, path);
    else measured[path] = maxRelativeDifference(ours, theirs);
  }
  for (const [path, difference] of Object.entries(measured)) assert.ok(difference <= VARIANT_TOLERANCE, `${path}: the page and the CLI differ by ${difference} of its scale`);
  for (const path of ["variants.transcripts.delta", "variants.transcripts.esmLlr", "variants.transcripts.ntLlr", "variants.transcripts.ntCosine", "variants.transcripts.enformer.heads.human", "variants.transcripts.enformer.heads.mouse"]) {
    assert.ok(groups.has(path), `the comparison reached ${path}`);
  }
  console.log(`variants: ${numbers} numbers compared with the CLI's JSON; worst per field: ${JSON.stringify(Object.fromEntries(Object.entries(measured).map(([k, v]) => [k.replace("variants.transcripts.", ""), Number(v.toExponential(1))])))}`);

  assert.equal(out.backend, "cpu");
  assert.equal(out.scores.randomWeights, true);
  assert.deepEqual(out.scores.transcripts.map((t) => [t.id, t.gene, t.strand]), [["uc010vpx.1", "DOC2B", "-"]]);
  assert.deepEqual(out.scores.variants.map((v) => v.id), native.variants.map((v) => v.id));
  assert.deepEqual(out.scores.variants.map((v) => v.id), ["missense", "codon_11_third", "inframe"]);
  assert.deepEqual(out.scores.errors.map((e) => e.code), ["REF_MISMATCH"]);
  assert.match(out.scores.errors[0].message, /VCF record 4/);
  for (const scored of out.scores.variants) {
    assert.equal(scored.transcripts[0].inWindow, true);
    assert.ok(scored.transcripts[0].enformer && Object.keys(scored.transcripts[0].enformer.heads).length === 2, "track Δ per head");
  }
  const kinds = out.scores.variants.map((v) => v.transcripts[0].consequences[0]);
  assert.deepEqual(kinds, ["missense_variant", "synonymous_variant", "inframe_deletion"]);
  assert.deepEqual(out.progress.map((p) => [p.index, p.id, p.done]), [[0, "missense", 1], [1, "codon_11_third", 2], [2, "inframe", 3], [3, "REF_MISMATCH", 4]]);
  assert.ok(out.progress.every((p) => p.status === "scored" && p.total === 4));
  assert.equal(out.progress.at(-1).progress, 100);
  assert.deepEqual(out.bad, {
    notGenbank: "INVALID_ANNOTATION",
    gffWithoutFasta: "INVALID_ARGUMENT",
    unknownField: "INVALID_ARGUMENT",
    variantsNotText: "INVALID_ARGUMENT",
    noRecords: "INVALID_ARGUMENT",
    badStrand: "INVALID_ARGUMENT",
    unknownGene: "INVALID_ANNOTATION",
    unknownOption: "INVALID_ARGUMENT",
    aborted: "ABORTED",
    abortedWhileRunning: "ABORTED",
  });
  assert.equal(out.after, 30, "the model answers after an aborted call");
  console.log(`variants: ok (DOC2B, 3 variants and 1 refused record in ${(out.ms / 1000).toFixed(1)} s with the reference; equal to the CLI's JSON within ${VARIANT_TOLERANCE} of each field's scale)`);
} finally {
  await browser.close();
  server.close();
}
