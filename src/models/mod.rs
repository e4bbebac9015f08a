//! The models: shared transformer blocks (`nn`), scaled dot-product attention and Enformer's
//! relative attention (`attention`: Burn's fused op, or our own vectorised kernel on the CPU),
//! rotary position embeddings (`rotary`), activations (`activation`), Linear layers (`linear`; on
//! the CPU all of these kernels multiply through `host_gemm`), Enformer's convolutions
//! (`convolution`) and attention pooling (`attention_pool`) — each Burn's ops, or on the CPU in
//! f32 a kernel of ours (the f32 math they share is `vector_math`) — the ESM-family encoder (`esm`;
//! NT-v2's sizes in `nucleotide`), Enformer (`enformer`), IsoFormer's aggregator (`aggregator`) and
//! the whole model (`isoformer`: the encoders and the aggregator on one device). No I/O, no
//! JavaScript.

pub mod activation;
pub mod aggregator;
pub mod attention;
pub mod attention_pool;
pub mod convolution;
pub mod enformer;
pub mod esm;
pub mod gpu_matmul;
pub mod host_gemm;
pub mod isoformer;
pub mod linear;
pub mod nn;
pub mod nucleotide;
pub mod rotary;
pub mod vector_math;
