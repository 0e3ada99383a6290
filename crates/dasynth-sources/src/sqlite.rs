//! SQLite databases through rusqlite, opened read-only: every table and view is a table.
//!
//! A view is a query, and a query can run forever or return without end (an 8 KB file with a
//! recursive view does). When the crawl inspects a database, each table or view is first
//! counted up to the row limit its column count leaves under `crawl.max-cells`, with a progress
//! handler that interrupts any statement past the inspection's deadline, and only then read.

use crate::read::ReadError;
use polars::prelude::*;
use rusqlite::{Connection, OpenFlags, types::ValueRef};
use std::path::Path;
use std::time::Instant;

fn connect(path: &Path) -> Result<Connection, ReadError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| ReadError::invalid(path, format!("cannot open as SQLite: {e}")))?;
    // A locked database fails after a short wait instead of hanging the crawl.
    conn.busy_timeout(std::time::Duration::from_millis(500))
        .map_err(|e| ReadError::invalid(path, format!("cannot configure SQLite: {e}")))?;
    // Sorts and temporary tables a view needs stay in memory (under the caller's memory cap)
    // instead of growing files in the system's temporary folder.
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(|e| ReadError::invalid(path, format!("cannot configure SQLite: {e}")))?;
    Ok(conn)
}

/// Tables and views (`sqlite_*` internals excluded), in name order.
pub fn list_tables(path: &Path) -> Result<Vec<String>, ReadError> {
    let conn = connect(path)?;
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .map_err(|e| ReadError::invalid(path, format!("not a readable SQLite database: {e}")))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ReadError::invalid(path, format!("not a readable SQLite database: {e}")))?;
    Ok(names)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

enum Col {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// Reads a whole table or view (one the crawl has already inspected).
pub fn read_table(path: &Path, table: &str) -> Result<DataFrame, ReadError> {
    let conn = connect(path)?;
    read_all(&conn, path, table, &|e| ReadError::invalid(path, format!("table {table:?}: {e}")))
}

/// Reads a table or view only if it holds at most `max_cells` cells (rows × columns), giving up
/// on any statement still running at `deadline`.
pub fn read_table_bounded(path: &Path, table: &str, max_cells: u64, deadline: Instant) -> Result<DataFrame, ReadError> {
    let mut conn = connect(path)?;
    // Called every 10,000 virtual-machine steps; returning true interrupts the statement.
    conn.progress_handler(10_000, Some(move || Instant::now() >= deadline))
        .map_err(|e| ReadError::invalid(path, format!("cannot configure SQLite: {e}")))?;
    let timed_out = |e: rusqlite::Error| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
            ReadError::invalid(path, format!("table {table:?}: still running at the inspection's time limit (crawl.inspect-timeout-secs)"))
        } else {
            ReadError::invalid(path, format!("table {table:?}: {e}"))
        }
    };
    let columns = prepare(&conn, path, table)?.column_count().max(1) as u64;
    let max_rows = max_cells / columns;
    // Count without holding rows: SQLite streams the query and stops one row past the limit.
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {})", quote_ident(table), max_rows.saturating_add(1));
    let rows: u64 = conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map_err(&timed_out)?.try_into().unwrap_or(0);
    if rows > max_rows {
        return Err(ReadError::invalid(
            path,
            format!(
                "table {table:?} has more than {max_rows} rows of {columns} column(s), over the limit of {max_cells} cells (crawl.max-cells); not read"
            ),
        ));
    }
    read_all(&conn, path, table, &timed_out)
}

fn prepare<'c>(conn: &'c Connection, path: &Path, table: &str) -> Result<rusqlite::Statement<'c>, ReadError> {
    conn.prepare(&format!("SELECT * FROM {}", quote_ident(table))).map_err(|e| {
        if e.to_string().contains("no such table") {
            let available = list_tables(path).map(|t| t.join(", ")).unwrap_or_default();
            ReadError::NoMember { path: path.to_path_buf(), what: "table", name: table.to_string(), available }
        } else {
            ReadError::invalid(path, format!("table {table:?}: {e}"))
        }
    })
}

/// Every row of a table or view; `err` describes a failed step.
fn read_all(conn: &Connection, path: &Path, table: &str, err: &dyn Fn(rusqlite::Error) -> ReadError) -> Result<DataFrame, ReadError> {
    let mut stmt = prepare(conn, path, table)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let n = names.len();
    let mut cols: Vec<Col> = (0..n).map(|_| Col::Int(Vec::new())).collect();
    let mut rows = stmt.query([]).map_err(err)?;
    let mut height = 0usize;
    while let Some(row) = rows.next().map_err(err)? {
        for (i, col) in cols.iter_mut().enumerate() {
            let v = row.get_ref(i).map_err(err)?;
            push(col, v, height);
        }
        height += 1;
    }
    let (names, _) = crate::read::mangle_names(&names);
    let columns: Vec<Column> = cols
        .into_iter()
        .zip(names)
        .map(|(c, name)| {
            let name = PlSmallStr::from(name.as_str());
            match c {
                Col::Int(v) => Series::new(name, v),
                Col::Float(v) => Series::new(name, v),
                Col::Text(v) => Series::new(name, v),
            }
            .into_column()
        })
        .collect();
    DataFrame::new(height, columns).map_err(|e| ReadError::invalid(path, format!("table {table:?}: {e}")))
}

/// Appends a value, widening the column (int → float → text) when the value needs it.
fn push(col: &mut Col, v: ValueRef<'_>, height: usize) {
    match v {
        ValueRef::Null => match col {
            Col::Int(x) => x.push(None),
            Col::Float(x) => x.push(None),
            Col::Text(x) => x.push(None),
        },
        ValueRef::Integer(i) => match col {
            Col::Int(x) => x.push(Some(i)),
            Col::Float(x) => x.push(Some(i as f64)),
            Col::Text(x) => x.push(Some(i.to_string())),
        },
        ValueRef::Real(f) => {
            if let Col::Int(x) = col {
                let widened: Vec<Option<f64>> = x.iter().map(|o| o.map(|i| i as f64)).collect();
                *col = Col::Float(widened);
            }
            match col {
                Col::Float(x) => x.push(Some(f)),
                Col::Text(x) => x.push(Some(f.to_string())),
                Col::Int(_) => {}
            }
        }
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t).into_owned();
            to_text(col);
            if let Col::Text(x) = col {
                x.push(Some(s));
            }
        }
        ValueRef::Blob(b) => {
            to_text(col);
            if let Col::Text(x) = col {
                x.push(Some(format!("<blob {} bytes>", b.len())));
            }
        }
    }
    debug_assert!(match col {
        Col::Int(x) => x.len() == height + 1,
        Col::Float(x) => x.len() == height + 1,
        Col::Text(x) => x.len() == height + 1,
    });
}

fn to_text(col: &mut Col) {
    let widened: Option<Vec<Option<String>>> = match col {
        Col::Int(x) => Some(x.iter().map(|o| o.map(|i| i.to_string())).collect()),
        Col::Float(x) => Some(x.iter().map(|o| o.map(|f| f.to_string())).collect()),
        Col::Text(_) => None,
    };
    if let Some(w) = widened {
        *col = Col::Text(w);
    }
}
