//! One split of one config as sharded Parquet: rows arrive one at a time and are serialized
//! straight into Arrow columns ([`dasynth_parquet::columnar`]) until a row group's worth
//! (`row-group-bytes`) has gathered; each row group is written to the open shard; a shard is closed before it could pass `shard-bytes`. Memory is
//! one row group per open split, whatever the number of rows. Files are named once their count
//! is known: `{split}-{i:05}-of-{n:05}.parquet`.

use crate::error::ExportError;
use dasynth_parquet::Schema;
use dasynth_parquet::columnar::Columns;
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::SchemaRef;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Sizes and compression of the files.
#[derive(Debug, Clone, Copy)]
pub struct SinkOptions {
    pub row_group_bytes: u64,
    pub shard_bytes: u64,
    pub zstd_level: i32,
}

/// A file being written, shared between the Parquet writer and the sink that closes it.
#[derive(Clone)]
struct SharedFile {
    inner: Arc<Mutex<std::io::BufWriter<std::fs::File>>>,
    written: Arc<AtomicU64>,
}

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.lock().map_err(|_| std::io::Error::other("poisoned file lock"))?.write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.lock().map_err(|_| std::io::Error::other("poisoned file lock"))?.flush()
    }
}

struct Shard {
    writer: BatchedWriter<SharedFile>,
    file: SharedFile,
    path: PathBuf,
}

/// What a finished sink wrote.
#[derive(Debug, Clone, Default)]
pub struct SinkOutput {
    /// Final paths, in order.
    pub files: Vec<PathBuf>,
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Bytes of the rows as JSON (an estimate of their in-memory size).
    pub data_bytes: u64,
}

/// The rows of one split of one config.
pub struct Sink {
    dir: PathBuf,
    split: &'static str,
    schema: SchemaRef,
    opts: SinkOptions,
    columns: Option<Columns>,
    shard: Option<Shard>,
    closed: Vec<PathBuf>,
    out: SinkOutput,
}

impl Sink {
    pub fn new(dir: &Path, split: &'static str, schema: Schema, opts: SinkOptions) -> Self {
        Sink {
            dir: dir.to_path_buf(),
            split,
            schema: Arc::new(schema),
            opts,
            columns: None,
            shard: None,
            closed: Vec::new(),
            out: SinkOutput::default(),
        }
    }

    /// Adds one row (a serde value of the config's row type).
    pub fn push<T: serde::Serialize>(&mut self, row: &T) -> Result<(), ExportError> {
        let rows_err = |dir: &Path, e: dasynth_parquet::columnar::ColumnError| ExportError::Rows {
            config: dir.display().to_string(),
            source: std::io::Error::other(e),
        };
        if self.columns.is_none() {
            self.columns = Some(Columns::new(self.schema.clone()).map_err(|e| rows_err(&self.dir, e))?);
        }
        let Some(columns) = self.columns.as_mut() else { return Ok(()) };
        let before = columns.bytes();
        columns.push(row).map_err(|e| rows_err(&self.dir, e))?;
        self.out.rows += 1;
        self.out.data_bytes += (columns.bytes() - before) as u64;
        if columns.bytes() as u64 >= self.opts.row_group_bytes {
            self.flush_group()?;
        }
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.out.rows
    }

    fn flush_group(&mut self) -> Result<(), ExportError> {
        let Some(columns) = self.columns.as_mut().filter(|c| c.rows() > 0) else { return Ok(()) };
        let df =
            columns.take().map_err(|e| ExportError::Rows { config: self.dir.display().to_string(), source: std::io::Error::other(e) })?;
        if self.shard.is_none() {
            self.open_shard()?;
        }
        let Some(shard) = self.shard.as_mut() else { return Ok(()) };
        shard.writer.write_batch(&df).map_err(|e| ExportError::write(&shard.path, e))?;
        if shard.file.written.load(Ordering::Relaxed) + self.opts.row_group_bytes >= self.opts.shard_bytes {
            self.close_shard()?;
        }
        Ok(())
    }

    fn open_shard(&mut self) -> Result<(), ExportError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ExportError::write(&self.dir, e))?;
        let path = self.dir.join(format!(".{}-{}.parquet.partial", self.split, self.closed.len()));
        let f = std::fs::File::create(&path).map_err(|e| ExportError::write(&path, e))?;
        let file = SharedFile { inner: Arc::new(Mutex::new(std::io::BufWriter::with_capacity(1 << 20, f))), written: Arc::default() };
        let writer = dasynth_parquet::parquet_writer(file.clone(), &self.schema, self.opts.zstd_level, &[])
            .batched(&self.schema)
            .map_err(|e| ExportError::write(&path, e))?;
        self.shard = Some(Shard { writer, file, path });
        Ok(())
    }

    fn close_shard(&mut self) -> Result<(), ExportError> {
        let Some(shard) = self.shard.take() else { return Ok(()) };
        shard.writer.finish().map_err(|e| ExportError::write(&shard.path, e))?;
        drop(shard.writer);
        let mut w = shard.file.inner.lock().map_err(|_| ExportError::write(&shard.path, "poisoned file lock"))?;
        w.flush().map_err(|e| ExportError::write(&shard.path, e))?;
        w.get_ref().sync_all().map_err(|e| ExportError::write(&shard.path, e))?;
        self.out.bytes += shard.file.written.load(Ordering::Relaxed);
        self.closed.push(shard.path);
        Ok(())
    }

    /// Writes what is left, closes the last shard and gives every file its final name. A split
    /// without rows writes no file.
    pub fn finish(mut self) -> Result<SinkOutput, ExportError> {
        self.flush_group()?;
        self.close_shard()?;
        let n = self.closed.len();
        for (i, tmp) in self.closed.iter().enumerate() {
            let path = self.dir.join(format!("{}-{:05}-of-{:05}.parquet", self.split, i, n));
            std::fs::rename(tmp, &path).map_err(|e| ExportError::write(&path, e))?;
            self.out.files.push(path);
        }
        Ok(self.out)
    }
}
