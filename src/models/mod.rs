//! The models: shared transformer blocks (`nn`), the ESM-family encoder (`esm`; NT-v2's sizes in
//! `nucleotide`), Enformer (`enformer`), IsoFormer's aggregator (`aggregator`) and the whole
//! model (`isoformer`: the encoders and the aggregator on one device). No I/O, no JavaScript.

pub mod aggregator;
pub mod enformer;
pub mod esm;
pub mod isoformer;
pub mod nn;
pub mod nucleotide;
