//! With the `cuda` feature, compiles the engine's own kernels (`src/cuda/kernels.cu` for the
//! forward pass, `src/cuda/sample.cu` for sampling) to PTX with nvcc (found through `CUDA_ROOT`, `CUDA_PATH` or `PATH`) for `CUDA_COMPUTE_CAP`
//! (default 90, Hopper). Without the feature it does nothing.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    const SOURCES: [(&str, &str); 2] = [("kernels", "student_kernels"), ("sample", "student_sample")];
    for (src, _) in SOURCES {
        println!("cargo::rerun-if-changed=src/cuda/{src}.cu");
    }
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
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for (src, ptx) in SOURCES {
        let source = format!("src/cuda/{src}.cu");
        let status = Command::new(&nvcc)
            .args(["--ptx", "-O3", "-std=c++17", &format!("-arch=compute_{cap}"), &source, "-o"])
            .arg(out_dir.join(format!("{ptx}.ptx")))
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; hint: set CUDA_ROOT (scripts/build-student-cuda does)", nvcc.display()));
        assert!(status.success(), "nvcc failed on {source} ({status})");
    }
}
