//! Running the models: devices and backends (`backend`), encoders with their forward pass and
//! asynchronous readback (`embed`), and per-stage timings (`stages`).

pub mod backend;
pub mod embed;
pub mod stages;
