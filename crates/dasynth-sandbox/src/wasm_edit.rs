//! One small edit to a wasm binary: export a function that only the name section knows.

use wasm_encoder::{ExportKind, ExportSection, Module, RawSection};
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// Returns `wasm` with the function called `func_name` in the name section also exported under
/// that name. Errors name what was missing.
pub(crate) fn export_named_function(wasm: &[u8], func_name: &str) -> Result<Vec<u8>, String> {
    let mut index = None;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CustomSection(c) = payload.map_err(|e| e.to_string())?
            && let KnownCustom::Name(names) = c.as_known()
        {
            for name in names {
                if let Name::Function(map) = name.map_err(|e| e.to_string())? {
                    for naming in map {
                        let naming = naming.map_err(|e| e.to_string())?;
                        if naming.name == func_name {
                            index = Some(naming.index);
                        }
                    }
                }
            }
        }
    }
    let index = index.ok_or_else(|| format!("the name section has no function `{func_name}`"))?;

    let mut out = Module::new();
    let mut exported = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| e.to_string())?;
        if let Payload::ExportSection(reader) = &payload {
            let mut section = ExportSection::new();
            for export in reader.clone() {
                let export = export.map_err(|e| e.to_string())?;
                if export.name == func_name {
                    continue;
                }
                let kind = match export.kind {
                    wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => ExportKind::Func,
                    wasmparser::ExternalKind::Table => ExportKind::Table,
                    wasmparser::ExternalKind::Memory => ExportKind::Memory,
                    wasmparser::ExternalKind::Global => ExportKind::Global,
                    wasmparser::ExternalKind::Tag => ExportKind::Tag,
                };
                section.export(export.name, kind, export.index);
            }
            section.export(func_name, ExportKind::Func, index);
            out.section(&section);
            exported = true;
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            out.section(&RawSection { id, data: &wasm[range] });
        }
    }
    if !exported {
        return Err("the module has no export section".into());
    }
    Ok(out.finish())
}
