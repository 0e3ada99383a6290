//! Excel workbooks (`.xlsx`, `.xls`) through calamine: every sheet is a table. Note rows above
//! the header (titles, sources, footnotes) are detected and skipped; empty or merged header
//! cells get pandas-style names and a warning.
//!
//! calamine lays a sheet out as one dense grid spanning its used cells, so two cells at `A1` and
//! `XFD1048576` ask for 17 billion slots. When the crawl inspects an `.xlsx`, its cells are
//! streamed once without being kept and the sheet is refused as soon as their extent passes the
//! cell limit, before any cell is stored or any grid allocated. An `.xls` is decoded whole when it is opened; the crawl reads
//! it in a child process with a memory cap ([`crate::isolate`]).

use crate::read::{ReadError, mangle_names};
use calamine::{Cell, Data, DataRef, Range, Reader, Sheets, Xlsx, XlsxError, open_workbook_auto};
use polars::prelude::*;
use std::path::Path;

/// A sheet read into a frame.
pub struct Sheet {
    pub frame: DataFrame,
    /// Rows above the header, counted from the top of the sheet (pandas' `skiprows`).
    pub skip_rows: u32,
    pub warnings: Vec<String>,
}

type Workbook = Sheets<std::io::BufReader<std::fs::File>>;

fn open(path: &Path) -> Result<Workbook, ReadError> {
    open_workbook_auto(path).map_err(|e| ReadError::invalid(path, format!("not a readable workbook: {e}")))
}

/// Sheet names, in workbook order.
pub fn sheet_names(path: &Path) -> Result<Vec<String>, ReadError> {
    Ok(open(path)?.sheet_names().to_vec())
}

/// Reads one sheet whole (one the crawl has already inspected).
pub fn read_sheet(path: &Path, sheet: &str) -> Result<Sheet, ReadError> {
    let mut wb = open(path)?;
    let names = wb.sheet_names().to_vec();
    if !names.iter().any(|n| n == sheet) {
        return Err(ReadError::NoMember { path: path.to_path_buf(), what: "sheet", name: sheet.to_string(), available: names.join(", ") });
    }
    let range = load_range(&mut wb, path, sheet, u64::MAX)?;
    sheet_frame(path, sheet, &range)
}

/// A sheet's name and the sheet, or why it could not be read.
pub type NamedSheet = (String, Result<Sheet, ReadError>);

/// Every sheet of a workbook (opened once), in workbook order; a sheet whose cells span or
/// number more than `max_cells` fails on its own, before it is laid out in memory.
pub fn read_workbook(path: &Path, max_cells: u64) -> Result<Vec<NamedSheet>, ReadError> {
    let mut wb = open(path)?;
    let names = wb.sheet_names().to_vec();
    Ok(names
        .into_iter()
        .map(|name| {
            let sheet = load_range(&mut wb, path, &name, max_cells).and_then(|range| sheet_frame(path, &name, &range));
            (name, sheet)
        })
        .collect())
}

/// The rectangle spanned by the cells seen so far.
#[derive(Default)]
struct Extent {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl Extent {
    fn add(&mut self, (r, c): (u32, u32)) {
        let widen = |span: Option<(u32, u32)>, v: u32| Some(span.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
        self.rows = widen(self.rows, r);
        self.cols = widen(self.cols, c);
    }
    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1),
            _ => 0,
        }
    }
    fn describe(&self) -> String {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => {
                format!("{}{}:{}{}", col_letter(c0 as usize), u64::from(r0) + 1, col_letter(c1 as usize), u64::from(r1) + 1)
            }
            _ => "nothing".to_string(),
        }
    }
}

fn too_many_cells(path: &Path, sheet: &str, what: String, max_cells: u64) -> ReadError {
    ReadError::invalid(path, format!("sheet {sheet:?} {what}, more than the limit of {max_cells} cells (crawl.max-cells); not read"))
}

/// A sheet's used cells as calamine's dense range; for `.xlsx` under a limit, only once their
/// count and extent are known to fit in `max_cells`.
fn load_range(wb: &mut Workbook, path: &Path, sheet: &str, max_cells: u64) -> Result<Range<Data>, ReadError> {
    let Sheets::Xlsx(xlsx) = wb else {
        let range = wb.worksheet_range(sheet).map_err(|e| unreadable(path, sheet, &e))?;
        let (h, w) = range.get_size();
        let cells = (h as u64).saturating_mul(w as u64);
        if cells > max_cells {
            return Err(too_many_cells(path, sheet, format!("spans {h} rows × {w} columns ({cells} cells)"), max_cells));
        }
        return Ok(range);
    };
    if max_cells != u64::MAX {
        // A first pass measures without keeping a cell, so a sheet past the limit costs no
        // memory; a sheet within it is streamed twice.
        let mut extent = Extent::default();
        each_cell(xlsx, path, sheet, |pos, _| {
            extent.add(pos);
            match extent.cells() {
                n if n > max_cells => Err(too_many_cells(path, sheet, format!("spans {} ({n} cells)", extent.describe()), max_cells)),
                _ => Ok(()),
            }
        })?;
    }
    let mut cells = Vec::new();
    each_cell(xlsx, path, sheet, |pos, value| {
        cells.push(Cell::new(pos, Data::from(value.clone())));
        Ok(())
    })?;
    // Within the extent checked above, so the grid from_sparse lays out fits in `max_cells`.
    Ok(Range::from_sparse(cells))
}

/// Calls `each` with the position and value of every non-empty cell of an `.xlsx` sheet, in
/// file order, without laying the sheet out. A chart sheet has none.
fn each_cell<R: std::io::Read + std::io::Seek>(
    xlsx: &mut Xlsx<R>,
    path: &Path,
    sheet: &str,
    mut each: impl FnMut((u32, u32), &DataRef<'_>) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut reader = match xlsx.worksheet_cells_reader(sheet) {
        Ok(r) => r,
        // calamine reads a chart sheet as an empty range too.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(()),
        Err(e) => return Err(unreadable(path, sheet, &e)),
    };
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(path, sheet, &e))? {
        if !matches!(cell.get_value(), DataRef::Empty) {
            each(cell.get_position(), cell.get_value())?;
        }
    }
    Ok(())
}

fn unreadable(path: &Path, sheet: &str, e: &dyn std::fmt::Display) -> ReadError {
    ReadError::invalid(path, format!("sheet {sheet:?} cannot be read: {e}"))
}

fn non_empty(row: &[Data]) -> usize {
    row.iter().filter(|c| !matches!(c, Data::Empty)).count()
}

/// Index (within the range) of the header row: the first row that fills at least half of the
/// table's width and is followed by a row that is not empty, skipping note rows with one cell.
fn header_row(range: &Range<Data>) -> usize {
    let rows: Vec<&[Data]> = range.rows().collect();
    let width = rows.iter().map(|r| r.iter().rposition(|c| !matches!(c, Data::Empty)).map_or(0, |p| p + 1)).max().unwrap_or(0);
    if width <= 1 {
        return rows.iter().position(|r| non_empty(r) > 0).unwrap_or(0);
    }
    let need = (width.div_ceil(2)).max(2);
    rows.iter().position(|r| non_empty(r) >= need).unwrap_or(0)
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Turns a sheet's range into a frame: finds the header row and names the columns.
fn sheet_frame(path: &Path, sheet: &str, range: &Range<Data>) -> Result<Sheet, ReadError> {
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let mut warnings = Vec::new();
    let h = header_row(range);
    let rows: Vec<&[Data]> = range.rows().collect();
    if rows.is_empty() {
        return Err(ReadError::invalid(path, format!("sheet {sheet:?} is empty")));
    }
    if h > 0 {
        warnings.push(format!("sheet {sheet:?}: {h} note row(s) above the header were skipped"));
    }
    let width = range.width();
    // pandas keeps leading empty columns; so do we, so column positions agree.
    let mut raw_names: Vec<String> = Vec::with_capacity(start_col as usize + width);
    raw_names.extend((0..start_col).map(|_| String::new()));
    raw_names.extend(rows[h].iter().map(cell_text));
    let empty_headers: Vec<usize> = raw_names.iter().enumerate().filter(|(_, n)| n.trim().is_empty()).map(|(i, _)| i).collect();
    let (names, _) = mangle_names(&raw_names);
    if !empty_headers.is_empty() && empty_headers.len() < names.len() {
        let cols: Vec<String> = empty_headers.iter().map(|&i| col_letter(i)).collect();
        warnings.push(format!(
            "sheet {sheet:?}: header row {} has empty or merged cells in column(s) {}; named them \"Unnamed: N\"",
            start_row as usize + h + 1,
            cols.join(", ")
        ));
    }
    let data = &rows[h + 1..];
    // Trailing all-empty rows are dropped (pandas drops them too).
    let last = data.iter().rposition(|r| non_empty(r) > 0).map_or(0, |p| p + 1);
    let data = &data[..last];
    let mut columns = Vec::with_capacity(names.len());
    for (ci, name) in names.iter().enumerate() {
        let cells: Vec<&Data> = if ci < start_col as usize {
            data.iter().map(|_| &Data::Empty).collect()
        } else {
            data.iter().map(|r| r.get(ci - start_col as usize).unwrap_or(&Data::Empty)).collect()
        };
        columns.push(column(name, &cells).into_column());
    }
    let frame = DataFrame::new_infer_height(columns).map_err(|e| ReadError::invalid(path, format!("sheet {sheet:?}: {e}")))?;
    Ok(Sheet { frame, skip_rows: start_row + h as u32, warnings })
}

fn col_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Builds a typed column: integers, floats, booleans and datetimes stay typed when the whole
/// column agrees; anything mixed becomes text.
fn column(name: &str, cells: &[&Data]) -> Series {
    let mut ints = true;
    let mut nums = true;
    let mut bools = true;
    let mut dates = true;
    let mut any = false;
    for c in cells {
        match c {
            // pandas' `read_excel` takes the same missing-value text as `read_csv`.
            Data::Empty => continue,
            Data::String(s) if crate::missing::is_na(s.as_bytes()) => continue,
            Data::Int(_) => {
                bools = false;
                dates = false;
            }
            Data::Float(f) => {
                bools = false;
                dates = false;
                if f.fract() != 0.0 || f.abs() > 9e15 {
                    ints = false;
                }
            }
            Data::Bool(_) => {
                ints = false;
                nums = false;
                dates = false;
            }
            Data::DateTime(d) if d.is_datetime() => {
                ints = false;
                nums = false;
                bools = false;
            }
            _ => {
                ints = false;
                nums = false;
                bools = false;
                dates = false;
            }
        }
        any = true;
    }
    let name = PlSmallStr::from(name);
    if !any {
        let v: Vec<Option<&str>> = vec![None; cells.len()];
        return Series::new(name, v);
    }
    if nums && ints {
        let v: Vec<Option<i64>> = cells
            .iter()
            .map(|c| match c {
                Data::Int(i) => Some(*i),
                Data::Float(f) => Some(*f as i64),
                _ => None,
            })
            .collect();
        return Series::new(name, v);
    }
    if nums {
        let v: Vec<Option<f64>> = cells
            .iter()
            .map(|c| match c {
                Data::Int(i) => Some(*i as f64),
                Data::Float(f) => Some(*f),
                _ => None,
            })
            .collect();
        return Series::new(name, v);
    }
    if bools {
        let v: Vec<Option<bool>> = cells.iter().map(|c| if let Data::Bool(b) = c { Some(*b) } else { None }).collect();
        return Series::new(name, v);
    }
    if dates {
        // Excel serial days since 1899-12-30 → milliseconds since the Unix epoch.
        let v: Vec<Option<i64>> = cells
            .iter()
            .map(|c| match c {
                Data::DateTime(d) => Some(((d.as_f64() - 25569.0) * 86_400_000.0).round() as i64),
                _ => None,
            })
            .collect();
        let s = Series::new(name.clone(), v);
        return s.cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).unwrap_or(s);
    }
    let v: Vec<Option<String>> = cells
        .iter()
        .map(|c| match c {
            Data::Empty => None,
            Data::String(s) if crate::missing::is_na(s.as_bytes()) => None,
            c => Some(cell_text(c)),
        })
        .collect();
    Series::new(name, v)
}
