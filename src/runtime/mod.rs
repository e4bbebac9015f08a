//! Running the models: devices and backends (`backend`), encoders with their forward pass and
//! asynchronous readback (`embed`), what one device buffer may hold (`limits`), the one IsoFormer loader over any source of parts (`parts`),
//! per-stage timings (`stages`) and cooperative cancellation (`cancel`).

pub mod backend;
pub mod cancel;
pub mod embed;
pub mod limits;
pub mod parts;
pub mod stages;
