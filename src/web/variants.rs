//! `IsoformerModel.scoreVariants`: a gene's annotation and VCF text scored in the page (the same
//! [`GeneScorer`] as the CLI's `variants`), each variant handed to `onResult` as it is scored.

use js_sys::{Array, Function, Object};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::models::isoformer::{Isoformer, RunOptions, TISSUES};
use crate::variants::{Annotation, GeneScorer, WindowStrand, read_vcf, refuses_record};

/// `scoreVariants` input: the gene's annotation (GenBank text, or GFF3/GTF text with the FASTA
/// of its sequence), the VCF text (its header may be left out), and optionally one gene's name
/// and the strand the DNA window is read on.
#[derive(serde::Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantsInput {
    annotation: AnnotationInput,
    vcf: String,
    #[tsify(optional)]
    gene: Option<String>,
    #[serde(default)]
    #[tsify(optional, type = "\"genome\" | \"transcript\"")]
    window_strand: WindowStrand,
}

/// `{ genbank }` or `{ gff, fasta }` (GFF3 or GTF).
#[derive(serde::Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
pub struct AnnotationInput {
    #[tsify(optional)]
    genbank: Option<String>,
    #[tsify(optional)]
    gff: Option<String>,
    #[tsify(optional)]
    fasta: Option<String>,
}

impl AnnotationInput {
    fn read(&self) -> Result<crate::variants::GeneRecord, Error> {
        match (&self.genbank, &self.gff, &self.fasta) {
            (Some(text), None, None) => Annotation::GenBank(text.as_bytes()).read(),
            (None, Some(gff), Some(fasta)) => {
                Annotation::Gff { features: gff.as_bytes(), fasta: fasta.as_bytes() }.read()
            }
            _ => Err(Error::InvalidArgument(
                "scoreVariants: annotation is { genbank } or { gff, fasta } (GFF3 or GTF with the sequence's FASTA)"
                    .into(),
            )),
        }
    }
}

/// One transcript of the scored gene, with its reference prediction.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TranscriptSummary<'a> {
    id: &'a str,
    gene: &'a str,
    kind: &'a str,
    strand: crate::variants::Strand,
    protein_id: Option<&'a str>,
    reference: &'a [f32],
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

fn error_entry(index: usize, error: &Error) -> JsValue {
    to_js(&serde_json::json!({ "index": index, "code": error.code(), "message": error.to_string() }))
}

/// Scores every VCF record on every transcript: `{ tissues, randomWeights, transcripts, variants,
/// errors }`; `on_result(index, entry, total)` gets each record's scores (or `{ error }`) as they come.
pub async fn score_variants(
    model: &Isoformer,
    input: VariantsInput,
    run: RunOptions,
    on_result: Option<Function>,
) -> Result<JsValue, Error> {
    let mut gene = input.annotation.read()?;
    if let Some(name) = &input.gene {
        gene.keep_gene(name)?;
    }
    let entries = read_vcf(&input.vcf);
    if entries.is_empty() {
        return Err(Error::InvalidArgument("scoreVariants: the VCF has no records".into()));
    }
    let total = entries.len();
    let scorer = GeneScorer::new(model, gene, input.window_strand, run).await?;
    let (variants, errors) = (Array::new(), Array::new());
    for (index, entry) in entries.into_iter().enumerate() {
        let scored = match entry {
            Ok(variant) => scorer.score(&variant).await,
            Err(error) => Err(error),
        };
        let reported = match scored {
            Ok(score) => {
                let js = to_js(&score);
                variants.push(&js);
                js
            }
            Err(error) if refuses_record(&error) => {
                let js = error_entry(index, &error);
                errors.push(&js);
                let wrapped = Object::new();
                let _ = js_sys::Reflect::set(&wrapped, &"error".into(), &js);
                wrapped.into()
            }
            Err(error) => return Err(error),
        };
        if let Some(callback) = &on_result {
            let _ = callback.call3(&JsValue::UNDEFINED, &(index as u32).into(), &reported, &(total as u32).into());
        }
    }
    let transcripts: Vec<TranscriptSummary> = scorer
        .reference_predictions()
        .map(|(t, p)| TranscriptSummary {
            id: &t.id,
            gene: &t.gene,
            kind: &t.kind,
            strand: t.strand,
            protein_id: t.cds.as_ref().and_then(|c| c.protein_id.as_deref()),
            reference: &p.values,
        })
        .collect();
    let result = Object::new();
    let set = |key: &str, value: &JsValue| {
        let _ = js_sys::Reflect::set(&result, &key.into(), value);
    };
    set("tissues", &to_js(&TISSUES));
    set("randomWeights", &model.random_weights().into());
    set("transcripts", &to_js(&transcripts));
    set("variants", &variants.into());
    set("errors", &errors.into());
    Ok(result.into())
}
