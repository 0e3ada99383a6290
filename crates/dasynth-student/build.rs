//! With the `cuda` feature, compiles the engine's own kernels (`src/cuda/kernels.cu`) to PTX
//! with nvcc (found through `CUDA_ROOT`, `CUDA_PATH` or `PATH`) for `CUDA_COMPUTE_CAP`
//! (default 90, Hopper). Without the feature it does nothing.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=src/cuda/kernels.cu");
    println!("cargo::rerun-if-env-changed=CUDA_COMPUTE_CAP");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let nvcc = ["CUDA_ROOT", "CUDA_PATH"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|root| PathBuf::from(root).join("bin/nvcc"))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nvcc"));
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("student_kernels.ptx");
    let status = Command::new(&nvcc)
        .args(["--ptx", "-O3", "-std=c++17", &format!("-arch=compute_{cap}"), "src/cuda/kernels.cu", "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; hint: set CUDA_ROOT (scripts/build-student-cuda does)", nvcc.display()));
    assert!(status.success(), "nvcc failed on src/cuda/kernels.cu ({status})");
}
