//! `.npy` output: one array as bytes (npyz), and a matrix that grows a block of rows at a time and
//! stays a valid file between blocks — its header has room for any shape and is rewritten after
//! each block (npyz writes a header once) — so an interrupted run leaves its rows readable with
//! `np.load` and the next run resumes after them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use isoformer::{Error, Result};
use npyz::WriterBuilder;

/// Magic, version 1.0, header length and the padded header dict: 128 bytes, a multiple of 64 as
/// the format asks, and room for any `(rows, width)`.
const HEADER_BYTES: u64 = 128;
const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// One `f32` array of `shape` as a complete .npy file's bytes.
pub fn npy_bytes(shape: &[u64], values: &[f32]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .map_err(|e| Error::io("npy", e))?;
    writer.extend(values.iter().copied()).map_err(|e| Error::io("npy", e))?;
    writer.finish().map_err(|e| Error::io("npy", e))?;
    Ok(bytes)
}

/// A `[rows, width]` little-endian f32 matrix on disk that rows are appended to.
pub struct NpyRows {
    file: File,
    path: PathBuf,
    width: usize,
    rows: u64,
}

impl NpyRows {
    /// Opens (or creates) `path` as a matrix `width` wide keeping its first `keep` rows.
    pub fn open(path: &Path, width: usize, keep: u64) -> Result<Self> {
        let io = |e| Error::io(path.display(), e);
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        file.set_len(HEADER_BYTES + keep * row_bytes(width)).map_err(io)?;
        let mut matrix = NpyRows { file, path: path.to_path_buf(), width, rows: keep };
        matrix.write_header()?;
        Ok(matrix)
    }

    /// `(complete rows, width)` of a matrix this type wrote at `path`, counted from the file's
    /// size (rows written after the header's last rewrite count too); `None` when there is none.
    pub fn on_disk(path: &Path) -> Result<Option<(u64, usize)>> {
        let io = |e| Error::io(path.display(), e);
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut header = [0u8; HEADER_BYTES as usize];
        let not_ours = || Error::InvalidArgument(format!("{}: not a matrix this command wrote", path.display()));
        file.read_exact(&mut header).map_err(|_| not_ours())?;
        let text = std::str::from_utf8(&header[10..]).map_err(|_| not_ours())?;
        let width = text
            .split_once("'shape': (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(shape, _)| shape.split(',').nth(1))
            .and_then(|width| width.trim().parse::<usize>().ok())
            .filter(|&width| header.starts_with(MAGIC) && width > 0)
            .ok_or_else(not_ours)?;
        let length = file.metadata().map_err(io)?.len();
        Ok(Some(((length - HEADER_BYTES) / row_bytes(width), width)))
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Appends whole rows (`values.len()` a multiple of the width), then records them in the header.
    pub fn append(&mut self, values: &[f32]) -> Result<()> {
        debug_assert_eq!(values.len() % self.width, 0);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let end = HEADER_BYTES + self.rows * row_bytes(self.width);
        self.file.seek(SeekFrom::Start(end)).map_err(|e| Error::io(self.path.display(), e))?;
        self.file.write_all(&bytes).map_err(|e| Error::io(self.path.display(), e))?;
        self.rows += (values.len() / self.width) as u64;
        self.write_header()
    }

    fn write_header(&mut self) -> Result<()> {
        let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", self.rows, self.width);
        let room = HEADER_BYTES as usize - MAGIC.len() - 2;
        let mut header = Vec::with_capacity(HEADER_BYTES as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(room as u16).to_le_bytes());
        header.extend_from_slice(format!("{dict:<width$}\n", width = room - 1).as_bytes());
        let io = |e| Error::io(self.path.display(), e);
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.file.write_all(&header).map_err(io)
    }
}

fn row_bytes(width: usize) -> u64 {
    width as u64 * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_resumes_and_stays_a_valid_npy() {
        let path = std::env::temp_dir().join(format!("npy_rows_{}.npy", std::process::id()));
        let mut matrix = NpyRows::open(&path, 3, 0).unwrap();
        matrix.append(&[1., 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(NpyRows::on_disk(&path).unwrap(), Some((2, 3)));
        let bytes = std::fs::read(&path).unwrap();
        let reader = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(reader.shape(), &[2, 3]);
        assert_eq!(reader.into_vec::<f32>().unwrap(), vec![1., 2., 3., 4., 5., 6.]);
        // A resume keeps the first row only, then appends.
        let mut matrix = NpyRows::open(&path, 3, 1).unwrap();
        matrix.append(&[7., 8., 9.]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let reader = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(reader.shape(), &[2, 3]);
        assert_eq!(reader.into_vec::<f32>().unwrap(), vec![1., 2., 3., 7., 8., 9.]);
        std::fs::remove_file(&path).unwrap();
    }
}
