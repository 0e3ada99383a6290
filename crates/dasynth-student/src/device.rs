//! Choosing the device and the dtype the weights run in.

use std::fmt;
use std::str::FromStr;

use candle_core::{DType, Device};

use crate::error::{Result, StudentError};

/// Where the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` feature).
    Cuda(usize),
}

impl FromStr for DeviceSpec {
    type Err = StudentError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceSpec::Cuda)
                .ok_or_else(|| StudentError::InvalidRequest(format!("unknown device {s:?}; expected cpu, cuda or cuda:N"))),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceSpec {
    /// Opens the device.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => {
                if !cfg!(feature = "cuda") {
                    return Err(StudentError::Device {
                        device: self.to_string(),
                        message: "this build has no CUDA support".into(),
                        hint: "build with `--features cuda` (scripts/build-student-cuda), or use --device cpu",
                    });
                }
                let device = Device::new_cuda(n).map_err(|e| StudentError::Device {
                    device: self.to_string(),
                    message: e.to_string(),
                    hint: "check that a GPU is visible (nvidia-smi) and that LD_LIBRARY_PATH holds libcuda and the CUDA 13 libraries",
                })?;
                #[cfg(feature = "cuda")]
                if let Device::Cuda(d) = &device {
                    // SAFETY: the engine uses the device's one stream for everything, so no
                    // buffer is shared between streams; per-buffer events would only add a
                    // record per kernel argument and break CUDA graph capture.
                    unsafe { d.disable_event_tracking() };
                }
                Ok(device)
            }
        }
    }

    /// The dtype used when none is asked for: bf16 on GPUs, f32 on the CPU.
    pub fn default_dtype(self) -> DType {
        match self {
            DeviceSpec::Cpu => DType::F32,
            DeviceSpec::Cuda(_) => DType::BF16,
        }
    }

    /// Parses a dtype name and checks the device can compute in it.
    pub fn dtype(self, name: &str) -> Result<DType> {
        let dt = match name {
            "f32" | "float32" => DType::F32,
            "bf16" | "bfloat16" => DType::BF16,
            "f16" | "float16" => DType::F16,
            other => {
                return Err(StudentError::DType { device: self.to_string(), dtype: other.to_string(), hint: "f32, bf16 or f16" });
            }
        };
        Ok(dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_dtypes() {
        assert_eq!("cuda:1".parse::<DeviceSpec>().expect("cuda:1"), DeviceSpec::Cuda(1));
        assert_eq!("cpu".parse::<DeviceSpec>().expect("cpu"), DeviceSpec::Cpu);
        assert!("tpu".parse::<DeviceSpec>().is_err());
        assert_eq!(DeviceSpec::Cpu.dtype("bfloat16").expect("bf16"), DType::BF16);
        let e = DeviceSpec::Cpu.dtype("f8e4m3").expect_err("fp8");
        assert!(e.to_string().contains("device cpu cannot run dtype f8e4m3"), "{e}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let e = DeviceSpec::Cuda(0).open().expect_err("no cuda");
        assert!(e.to_string().contains("--features cuda"), "{e}");
    }
}
