#!/usr/bin/env node
// Browser test of the package's scoreVariants (www/index.js → worker → wasm), on the built site
// (run by `make test-web`; needs target/release/isoformer): in headless Chromium, on the CPU
// backend (the scoring logic is the same on every backend, and on SwiftShader each of its Enformer
// passes over 196,608 bp takes minutes; the model calls it makes are compared with their
// references on WebGPU by tests/web.rs), the tiny random IsoFormer scores VCF records on DOC2B (GFF3 + FASTA, a minus-strand gene) and the
// page's answer equals the native CLI's `isoformer variants --format json` on the same files —
// the same consequences and protein changes, Δ per tissue and ESM-2 / NT-v2 scores within float
// tolerance; a bad record is an entry of `errors` naming it while the others are scored; progress
// events per record; bad requests are typed; an aborted call rejects with ABORTED and the model
// still answers.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { blankPage, launchChromium, newPage, staticServer, testPaths } from "./harness.mjs";

const { site, root, cli, outDir } = testPaths();

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

  assert.equal(out.backend, "cpu");
  assert.equal(out.scores.randomWeights, true);
  assert.deepEqual(out.scores.transcripts.map((t) => [t.id, t.gene, t.strand]), [["uc010vpx.1", "DOC2B", "-"]]);
  assert.deepEqual(out.scores.variants.map((v) => v.id), native.variants.map((v) => v.id));
  assert.deepEqual(out.scores.variants.map((v) => v.id), ["missense", "codon_11_third", "inframe"]);
  assert.deepEqual(out.scores.errors.map((e) => e.code), ["REF_MISMATCH"]);
  assert.match(out.scores.errors[0].message, /VCF record 4/);
  const scale = Math.max(...out.scores.transcripts[0].reference.map(Math.abs));
  let worst = 0;
  for (const [ours, theirs] of out.scores.variants.map((v, i) => [v.transcripts[0], native.variants[i].transcripts[0]])) {
    assert.deepEqual(ours.consequences, theirs.consequences, ours.transcript);
    assert.equal(ours.proteinChange, theirs.proteinChange);
    assert.equal(ours.inWindow, true);
    for (const [i, d] of ours.delta.entries()) worst = Math.max(worst, Math.abs(d - theirs.delta[i]) / scale);
    for (const key of ["esmLlr", "ntCosine", "ntL2", "ntLlr"]) {
      assert.equal(ours[key] === null, theirs[key] === null, key);
      if (ours[key] !== null) assert.ok(Math.abs(ours[key] - theirs[key]) <= 1e-3 * Math.max(1, Math.abs(theirs[key])), `${key}: ${ours[key]} vs ${theirs[key]}`);
    }
    assert.ok(ours.enformer && Object.keys(ours.enformer.heads).length === 2, "track Δ per head");
  }
  assert.ok(worst <= 1e-4, `Δ: the page and the CLI differ by ${worst} of the predictions' scale`);
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
  console.log(`variants: ok (DOC2B, 3 variants and 1 refused record in ${(out.ms / 1000).toFixed(1)} s with the reference; Δ vs CLI ${worst.toExponential(2)} of the predictions' scale)`);
} finally {
  await browser.close();
  server.close();
}
