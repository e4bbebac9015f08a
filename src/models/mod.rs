//! The models: shared transformer blocks (`nn`), scaled dot-product attention (`attention`: Burn's
//! fused op, or our own vectorised kernel on the CPU), activations (`activation`: Burn's, or
//! vectorised on the CPU; the f32 math both CPU kernels share is `vector_math`), the ESM-family
//! encoder (`esm`; NT-v2's sizes in `nucleotide`), Enformer (`enformer`), IsoFormer's aggregator
//! (`aggregator`) and the whole model (`isoformer`: the encoders and the aggregator on one device).
//! No I/O, no JavaScript.

pub mod activation;
pub mod aggregator;
pub mod attention;
pub mod enformer;
pub mod esm;
pub mod isoformer;
pub mod nn;
pub mod nucleotide;
pub mod vector_math;
