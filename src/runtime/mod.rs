//! Running the models: devices and backends (`backend`), encoders with their forward pass and
//! asynchronous readback (`embed`), the one IsoFormer loader over any source of parts (`parts`), and
//! per-stage timings (`stages`).

pub mod backend;
pub mod embed;
pub mod parts;
pub mod stages;
