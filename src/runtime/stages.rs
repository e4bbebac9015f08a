//! Where a prediction's time goes: wall-clock time per stage (tokenize, upload, each encoder,
//! aggregation, readback; `load` for low-memory mode). GPU work is queued, not run, when a call
//! returns, so each device stage ends at a barrier (one value read back): the time of the work it
//! queued is then charged to it, not to whichever later stage first waits for the device.

use burn::tensor::Tensor;
use serde::Serialize;
use web_time::Instant;

use crate::error::Result;
use crate::runtime::embed::read_back;

/// One stage of a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Fetching, verifying and uploading a part's weights (low-memory mode, every prediction).
    Load,
    /// Sequences to token ids and the DNA one-hot, on the host.
    Tokenize,
    /// Token ids and masks to the device (the DNA one-hot is uploaded window by window inside `Dna`).
    Upload,
    /// The Enformer trunk (absent DNA: the cached all-N embedding, ≈ 0).
    Dna,
    /// NT-v2.
    Rna,
    /// ESM-2.
    Protein,
    /// The cross-attentions and the head.
    Aggregation,
    /// The 30 values (and the final DNA embeddings when asked for) back to the host.
    Readback,
}

impl Stage {
    /// The stage's name in JSON and JavaScript.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Tokenize => "tokenize",
            Stage::Upload => "upload",
            Stage::Dna => "dna",
            Stage::Rna => "rna",
            Stage::Protein => "protein",
            Stage::Aggregation => "aggregation",
            Stage::Readback => "readback",
        }
    }
}

/// Milliseconds per stage, in the order the stages first ran; a repeated stage adds up.
/// Serialized as an object: `{"tokenize": 0.4, "upload": 0.1, "dna": 812.0, …}`.
#[derive(Debug, Clone, Default)]
pub struct StageTimes(pub Vec<(Stage, f64)>);

impl Serialize for StageTimes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(stage, ms)| (stage.name(), ms)))
    }
}

impl StageTimes {
    pub fn get(&self, stage: Stage) -> Option<f64> {
        self.0.iter().find(|(s, _)| *s == stage).map(|(_, ms)| *ms)
    }
}

/// A running clock: each `lap` charges the time since the previous one to a stage.
pub struct StageClock {
    last: Instant,
    times: StageTimes,
}

impl Default for StageClock {
    fn default() -> Self {
        StageClock { last: Instant::now(), times: StageTimes::default() }
    }
}

impl StageClock {
    /// Charges the time since the last lap to `stage` (host-only work).
    pub fn lap(&mut self, stage: Stage) {
        let now = Instant::now();
        let ms = now.duration_since(self.last).as_secs_f64() * 1e3;
        self.last = now;
        self.record(stage, ms);
    }

    /// Charges `ms` measured elsewhere (another worker's encoder) to `stage`; the lap runs on.
    pub fn record(&mut self, stage: Stage, ms: f64) {
        match self.times.0.iter_mut().find(|(s, _)| *s == stage) {
            Some((_, total)) => *total += ms,
            None => self.times.0.push((stage, ms)),
        }
    }

    /// Starts the next lap now: the time since the last one (waiting on other workers) is no stage's.
    pub fn restart(&mut self) {
        self.last = Instant::now();
    }

    /// Waits until the device has finished `tensor` (and so everything queued before it), then laps.
    pub async fn lap_after<const D: usize>(&mut self, stage: Stage, tensor: &Tensor<D>) -> Result<()> {
        barrier(tensor).await?;
        self.lap(stage);
        Ok(())
    }

    pub fn finish(self) -> StageTimes {
        self.times
    }
}

/// Reads one value of `tensor` back: the device's queue runs in order, so this returns once the
/// work that produced it is done (a blocking `sync` is not available in the browser).
async fn barrier<const D: usize>(tensor: &Tensor<D>) -> Result<()> {
    if tensor.dims().contains(&0) {
        return Ok(());
    }
    let first: [std::ops::Range<usize>; D] = std::array::from_fn(|_| 0..1);
    read_back(tensor.clone().slice(first)).await.map(drop)
}
