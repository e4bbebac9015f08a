//! Warnings and errors that Burn, CubeCL and wgpu report through the `log` crate, on the browser
//! console. Without a logger they vanish: a WGSL module that WebGPU rejects, for one, is otherwise
//! seen only as a later "invalid due to a previous error" with no reason given.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Console;

impl Log for Console {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Warn
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!("[{}] {}", record.target(), record.args());
        match record.level() {
            Level::Error => web_sys::console::error_1(&line.into()),
            _ => web_sys::console::warn_1(&line.into()),
        }
    }

    fn flush(&self) {}
}

/// Installs the console logger once per module instance (later calls change nothing).
pub fn install() {
    if log::set_logger(&Console).is_ok() {
        log::set_max_level(LevelFilter::Warn);
    }
}
