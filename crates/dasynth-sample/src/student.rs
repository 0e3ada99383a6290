//! The student as the agent loop sees it: an OpenAI-compatible endpoint, either one the user
//! runs or the in-process engine served on a loopback port for the run's lifetime.

use crate::error::SampleError;
use dasynth_core::config::{TeacherConfig, TeacherKind};
#[cfg(feature = "student")]
use dasynth_student::{Engine, EngineOptions, StudentServer};
#[cfg(feature = "student")]
use std::path::PathBuf;
#[cfg(feature = "student")]
use std::sync::Arc;

/// Where the student runs.
#[derive(Debug, Clone)]
pub enum Student {
    /// A Qwen3 checkpoint folder loaded into the in-process engine (the `student` feature).
    #[cfg(feature = "student")]
    Local { model_dir: PathBuf, engine: EngineOptions },
    /// Any OpenAI-compatible server (`base_url` ends in `/v1`), with the model name it serves
    /// and, optionally, the NAME of the environment variable holding its key.
    Endpoint { base_url: String, model: String, api_key_env: Option<String> },
}

/// A student ready for requests; a local engine stops when this is dropped.
pub struct RunningStudent {
    /// The endpoint the teacher client talks to.
    pub config: TeacherConfig,
    /// Sequences the student serves at once (the engine's slots, or the endpoint's limit).
    pub parallel: usize,
    #[cfg(feature = "student")]
    _server: Option<StudentServer>,
}

impl Student {
    /// The model name recorded in trajectories.
    pub fn model(&self) -> String {
        match self {
            #[cfg(feature = "student")]
            Student::Local { model_dir, .. } => model_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "student".into()),
            Student::Endpoint { model, .. } => model.clone(),
        }
    }

    /// Loads and serves a local student, or checks an endpoint's settings. `concurrency` bounds
    /// the requests an endpoint gets at once.
    pub fn start(&self, concurrency: usize) -> Result<RunningStudent, SampleError> {
        match self {
            #[cfg(feature = "student")]
            Student::Local { model_dir, engine } => {
                let model = self.model();
                let e = Engine::load(model_dir, engine)
                    .map_err(|source| SampleError::Load { path: model_dir.clone(), source: Box::new(source) })?;
                let slots = e.info().slots;
                let server = StudentServer::start(Arc::new(e), "127.0.0.1:0", &model)
                    .map_err(|source| SampleError::Serve { path: model_dir.clone(), source: Box::new(source) })?;
                let mut config = TeacherConfig::new(TeacherKind::OpenAi, model);
                config.base_url = Some(server.url());
                // A CPU engine can take minutes per turn; the engine itself never drops a request.
                config.timeout_secs = 3600.0;
                config.max_retries = 1;
                config.max_concurrency = slots.max(1);
                Ok(RunningStudent { config, parallel: slots.max(1), _server: Some(server) })
            }
            Student::Endpoint { base_url, model, api_key_env } => {
                let mut config = TeacherConfig::new(TeacherKind::OpenAi, model.clone());
                config.base_url = Some(base_url.trim_end_matches('/').to_string());
                config.api_key_env = api_key_env.clone();
                config.max_concurrency = concurrency.max(1);
                // A server that is down stays down for the run: fail over to the next sample fast.
                config.max_retries = 2;
                Ok(RunningStudent {
                    config,
                    parallel: concurrency.max(1),
                    #[cfg(feature = "student")]
                    _server: None,
                })
            }
        }
    }
}
