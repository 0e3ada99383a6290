//! Hostile inputs for the crawl, generated on the spot and small on disk: each one once made a
//! reader overflow its stack, ask for hundreds of gigabytes, run for minutes or fill the disk.
//! [`write_all`] writes the whole corpus at the sizes that were measured (the crawl must turn
//! every file into one failed catalog row with a reason, in bounded time and memory); the
//! single generators take smaller sizes for quick tests. [`TrickleServer`] is an HTTP server
//! that sends a body a few bytes at a time.

use std::io::{BufWriter, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// JSON nested `levels` deep (`[[[...]]]`): 30,000 levels is a 60 KB file.
pub fn deep_json(dir: &Path, levels: usize) -> PathBuf {
    let path = dir.join("deep.json");
    std::fs::write(&path, format!("{}{}", "[".repeat(levels), "]".repeat(levels))).expect("write deep.json");
    path
}

/// A workbook whose one sheet holds two cells, `A1` and `XFD1048576`: its extent is the whole
/// sheet, 17 billion cells, from 1.6 KB.
pub fn spanning_xlsx(dir: &Path) -> PathBuf {
    let path = dir.join("span.xlsx");
    let rows = r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>"#;
    write_xlsx(&path, |w| w.write_all(rows.as_bytes()));
    path
}

/// A workbook of `cells` one-digit cells in rows of 1,000 (40 million cells compress to about
/// 1.6 MB).
pub fn many_cells_xlsx(dir: &Path, cells: u64) -> PathBuf {
    let path = dir.join("cells.xlsx");
    let row = format!("<row>{}</row>", "<c><v>1</v></c>".repeat(1000));
    write_xlsx(&path, |w| {
        for _ in 0..cells / 1000 {
            w.write_all(row.as_bytes())?;
        }
        Ok(())
    });
    path
}

/// A minimal `.xlsx` with one sheet whose `<sheetData>` the closure writes.
fn write_xlsx(path: &Path, rows: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let file = std::fs::File::create(path).expect("create workbook");
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, options).expect("zip part");
        zip.write_all(text.as_bytes()).expect("zip part");
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).expect("sheet");
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#)
        .expect("sheet");
    rows(&mut zip).expect("sheet rows");
    zip.write_all(b"</sheetData></worksheet>").expect("sheet");
    zip.finish().expect("finish workbook").flush().expect("flush workbook");
}

/// A CSV whose header has `columns` columns and one data row (3 million columns is ~31 MB).
pub fn wide_csv(dir: &Path, columns: usize) -> PathBuf {
    let path = dir.join("wide.csv");
    let mut w = BufWriter::new(std::fs::File::create(&path).expect("create wide.csv"));
    for row in ["c", "1"] {
        for i in 0..columns {
            let sep = if i + 1 == columns { "\n" } else { "," };
            write!(w, "{row}{i}{sep}").expect("write wide.csv");
        }
    }
    w.flush().expect("flush wide.csv");
    path
}

/// An 8 KB SQLite database whose only table is a view over a recursive query without end.
pub fn recursive_view_sqlite(dir: &Path) -> PathBuf {
    let path = dir.join("view.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("create view.sqlite");
    conn.execute_batch("CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c;")
        .expect("create the view");
    path
}

/// A zip archive with one member of `member_bytes` zeros and `entries` central-directory entries
/// that all point at it (2,000 entries over 70 MiB is a 176 KB file).
pub fn overlapping_zip(dir: &Path, entries: usize, member_bytes: usize) -> PathBuf {
    let path = dir.join("overlap.zip");
    let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut crc = flate2::Crc::new();
    let mut left = member_bytes;
    while left > 0 {
        let n = left.min(zeros.len());
        deflated.write_all(&zeros[..n]).expect("deflate");
        crc.update(&zeros[..n]);
        left -= n;
    }
    let data = deflated.finish().expect("deflate");
    let (crc, csize, usize_) = (crc.sum(), data.len() as u32, member_bytes as u32);
    let first = b"t0.csv";
    let mut out = Vec::new();
    // The one local header and its data.
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]); // version, flags, deflate, time, date
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&csize.to_le_bytes());
    out.extend_from_slice(&usize_.to_le_bytes());
    out.extend_from_slice(&(first.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(first);
    out.extend_from_slice(&data);
    let dir_start = out.len() as u32;
    for i in 0..entries {
        let name = format!("t{i}.csv");
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]); // made by, needed, flags, deflate, time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&usize_.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 12]); // extra, comment, disk, internal and external attributes
        out.extend_from_slice(&0u32.to_le_bytes()); // every entry's local header is at offset 0
        out.extend_from_slice(name.as_bytes());
    }
    let dir_len = out.len() as u32 - dir_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries as u16).to_le_bytes());
    out.extend_from_slice(&(entries as u16).to_le_bytes());
    out.extend_from_slice(&dir_len.to_le_bytes());
    out.extend_from_slice(&dir_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(&path, out).expect("write overlap.zip");
    path
}

/// A CSV of `bytes` that holds a few bytes on disk: a header and a row, then a hole.
pub fn sparse_csv(dir: &Path, bytes: u64) -> PathBuf {
    let path = dir.join("sparse.csv");
    let mut f = std::fs::File::create(&path).expect("create sparse.csv");
    f.write_all(b"a,b\n1,2\n").expect("write sparse.csv");
    f.set_len(bytes).expect("grow sparse.csv");
    path
}

/// The whole corpus at the sizes that were measured, one file each, in `dir`.
pub fn write_all(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("create the corpus folder");
    vec![
        deep_json(dir, 30_000),
        spanning_xlsx(dir),
        many_cells_xlsx(dir, 40_000_000),
        wide_csv(dir, 3_000_000),
        recursive_view_sqlite(dir),
        overlapping_zip(dir, 2_000, 70 << 20),
        sparse_csv(dir, 6 << 30),
    ]
}

/// An HTTP server on loopback that answers every request with `body`, announcing its full
/// length but sending `chunk` bytes every `every`. Stops when dropped.
pub struct TrickleServer {
    url: String,
    stop: Arc<AtomicBool>,
}

impl TrickleServer {
    pub fn start(body: Vec<u8>, chunk: usize, every: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let body = Arc::new(body);
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (body, halt) = (body.clone(), halt.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let mut head = [0u8; 4096];
                    let _ = stream.read(&mut head);
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    for piece in body.chunks(chunk.max(1)) {
                        if halt.load(Ordering::Relaxed) || stream.write_all(piece).and_then(|_| stream.flush()).is_err() {
                            return;
                        }
                        std::thread::sleep(every);
                    }
                });
            }
        });
        Self { url, stop }
    }

    /// The URL of `path` on this server (every path gets the same body).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for TrickleServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The bytes a file takes on disk (a sparse file takes far fewer than its length).
pub fn allocated_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.blocks() * 512).unwrap_or(0)
}
