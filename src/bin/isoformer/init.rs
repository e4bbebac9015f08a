//! `isoformer init`: random (untrained) IsoFormer weights at the published shapes.

use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use isoformer::weights::init::{IsoformerShapes, init_isoformer};
use isoformer::{Error, Result};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("shapes").required(true).args(["preset", "like"])))]
pub struct InitArgs {
    /// The shapes to write: `isoformer`, the released model's (≈700M values, 2.8 GB as f32).
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Or the shapes of an existing IsoFormer weight directory.
    #[arg(long)]
    like: Option<PathBuf>,
    /// Required: these weights are random, and every output made from them says so.
    #[arg(long, required = true)]
    random: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    storage: crate::convert::StorageArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Isoformer,
}

pub fn run(args: &InitArgs) -> Result<()> {
    if !args.random {
        return Err(Error::InvalidArgument("init only writes random weights: pass --random".into()));
    }
    let shapes = match (&args.preset, &args.like) {
        (Some(Preset::Isoformer), _) => IsoformerShapes::published(),
        (None, Some(dir)) => IsoformerShapes::like(dir)?,
        (None, None) => return Err(Error::InvalidArgument("give --preset or --like".into())),
    };
    let started = Instant::now();
    eprintln!("writing {} random values (seed {}) to {}", shapes.parameter_count(), args.seed, args.out.display());
    let index = init_isoformer(&shapes, args.seed, &args.out, &args.storage.storage()?)?;
    eprintln!(
        "wrote parts {:?} in {:.1} s; these weights are RANDOM (untrained)",
        index.parts,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
