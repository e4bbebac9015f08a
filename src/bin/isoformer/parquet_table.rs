//! `embed --format parquet`: a finished gene-set directory (ids.tsv + one `[N, D]` .npy per
//! output, see [`crate::embed_set`]) as one Parquet table, `embeddings.parquet` — a row per
//! record in input order: `row`, `id`, `length`, `tokens`, then one `list<float>` column per
//! output (`embedding`, or `layer_<i>`), the form pandas, polars and pyarrow read directly.
//! Written by the parquet crate (Apache Arrow's) with its low-level column writers, row groups
//! of [`ROWS_PER_GROUP`] records read from the .npy files in turn: memory stays one group.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use isoformer::{Error, Result};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DataType, FloatType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::parser::parse_message_type;

use crate::embed_set::RunSettings;

pub const FILE_NAME: &str = "embeddings.parquet";
const ROWS_PER_GROUP: usize = 4096;

/// One line of ids.tsv.
struct IdRow {
    row: i64,
    id: String,
    length: i64,
    tokens: i64,
}

/// Writes `dir/embeddings.parquet` from the directory a completed set run wrote.
pub fn write(dir: &Path, settings: &RunSettings) -> Result<()> {
    let ids = read_ids(&dir.join("ids.tsv"))?;
    let columns: Vec<String> = settings
        .outputs
        .iter()
        .map(|name| if name == "embeddings" { "embedding".into() } else { name.clone() })
        .collect();
    let mut matrices = settings
        .outputs
        .iter()
        .map(|name| Matrix::open(&dir.join(format!("{name}.npy")), ids.len()))
        .collect::<Result<Vec<_>>>()?;
    let mut schema = String::from(
        "message embeddings { required int64 row; required binary id (STRING); required int64 length; required int64 tokens;",
    );
    for column in &columns {
        schema += &format!(" required group {column} (LIST) {{ repeated group list {{ required float element; }} }}");
    }
    schema += " }";
    let schema = Arc::new(parse_message_type(&schema).map_err(parquet_error)?);
    let metadata = serde_json::to_string(settings).map_err(|e| Error::io(FILE_NAME, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![KeyValue::new("isoformer.run".into(), metadata)]))
        .build();
    let path = dir.join(FILE_NAME);
    let file = File::create(&path).map_err(|e| Error::io(path.display(), e))?;
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(properties)).map_err(parquet_error)?;
    for group in ids.chunks(ROWS_PER_GROUP) {
        let mut row_group = writer.next_row_group().map_err(parquet_error)?;
        let int64 = |f: fn(&IdRow) -> i64| group.iter().map(f).collect::<Vec<_>>();
        write_column::<Int64Type, _>(&mut row_group, &int64(|r| r.row), None)?;
        let names: Vec<ByteArray> = group.iter().map(|r| ByteArray::from(r.id.as_str())).collect();
        write_column::<ByteArrayType, _>(&mut row_group, &names, None)?;
        write_column::<Int64Type, _>(&mut row_group, &int64(|r| r.length), None)?;
        write_column::<Int64Type, _>(&mut row_group, &int64(|r| r.tokens), None)?;
        for matrix in &mut matrices {
            let values = matrix.next_rows(group.len())?;
            // A list per row: the first element starts a row (repetition 0), the others continue it.
            let repetition: Vec<i16> = (0..values.len()).map(|i| i16::from(i % matrix.width != 0)).collect();
            let definition = vec![1i16; values.len()];
            write_column::<FloatType, _>(&mut row_group, &values, Some((&definition, &repetition)))?;
        }
        row_group.close().map_err(parquet_error)?;
    }
    writer.close().map_err(parquet_error)?;
    eprintln!("wrote {} ({} rows, columns {})", path.display(), ids.len(), columns.join(", "));
    Ok(())
}

fn parquet_error(e: parquet::errors::ParquetError) -> Error {
    Error::io(FILE_NAME, e)
}

/// The row group's next column, all of `values`; `levels` (definition, repetition) for a list column.
fn write_column<T: DataType, W: std::io::Write + Send>(
    row_group: &mut SerializedRowGroupWriter<'_, W>,
    values: &[T::T],
    levels: Option<(&[i16], &[i16])>,
) -> Result<()> {
    let missing = || Error::io(FILE_NAME, "the schema has fewer columns than written");
    let mut column = row_group.next_column().map_err(parquet_error)?.ok_or_else(missing)?;
    let (definition, repetition) = levels.unzip();
    column.typed::<T>().write_batch(values, definition, repetition).map_err(parquet_error)?;
    column.close().map_err(parquet_error)
}

fn read_ids(path: &Path) -> Result<Vec<IdRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    let malformed = |line: &str| Error::io(path.display(), format!("malformed line {line:?}"));
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [row, id, length, tokens] = fields[..] else { return Err(malformed(line)) };
            let number = |field: &str| field.parse::<i64>().map_err(|_| malformed(line));
            Ok(IdRow { row: number(row)?, id: id.to_string(), length: number(length)?, tokens: number(tokens)? })
        })
        .collect()
}

/// A `[rows, width]` f32 .npy read a block of rows at a time.
struct Matrix {
    values: Box<dyn Iterator<Item = std::io::Result<f32>>>,
    width: usize,
    path: String,
}

impl Matrix {
    fn open(path: &Path, rows: usize) -> Result<Self> {
        let io = |e| Error::io(path.display(), e);
        let file = File::open(path).map_err(io)?;
        let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(io)?;
        let shape = npy.shape().to_vec();
        let [on_disk, width] = shape[..] else {
            return Err(Error::io(path.display(), format!("shape {shape:?}, not [rows, width]")));
        };
        if on_disk as usize != rows {
            return Err(Error::io(path.display(), format!("{on_disk} rows, but ids.tsv names {rows}")));
        }
        let values = npy.data::<f32>().map_err(|e| Error::io(path.display(), e))?;
        Ok(Matrix { values: Box::new(values), width: width as usize, path: path.display().to_string() })
    }

    fn next_rows(&mut self, rows: usize) -> Result<Vec<f32>> {
        (&mut self.values)
            .take(rows * self.width)
            .collect::<std::io::Result<Vec<f32>>>()
            .map_err(|e| Error::io(&self.path, e))
    }
}
