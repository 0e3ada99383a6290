//! Shared by the report's tests and its benchmark (`bench/report/`).

#![allow(dead_code)]

pub mod cdp;
pub mod fixtures;
pub mod synth;
