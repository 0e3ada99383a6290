//! Launchers: a sharded dasynth command as a Slurm array job or a Kubernetes Indexed Job, each
//! followed by a merge job.
//!
//! The command after `--` (`generate …`, `trajectories …`, `verify …`, `sample …`) runs once per shard with
//! `--shard I/N` appended, I taken from the engine (`SLURM_ARRAY_TASK_ID`, the Job's completion
//! index). The merge job runs `dasynth merge` on the same run folder, then `dasynth export` when
//! the sharded command was `generate` (as the unsharded `generate` ends with export). It runs
//! after every shard has finished, failed ones included, so its log names a shard that failed
//! rather than the merge silently never running.

pub mod k8s;
pub mod slurm;
mod submit;

pub use submit::{Submitted, submit_k8s, submit_slurm};

use crate::ScaleError;

/// The commands that accept `--shard`.
pub const SHARDED_COMMANDS: [&str; 4] = ["generate", "trajectories", "verify", "sample"];

/// Flags of the sharded commands that take a value (to tell a value from the run folder).
const VALUE_FLAGS: [&str; 24] = [
    "--config",
    "--out",
    "-o",
    "--templates",
    "--per-table",
    "--per-template",
    "--max-tasks",
    "--seed",
    "--family",
    // sample's
    "--student",
    "--student-endpoint",
    "--student-model",
    "--student-api-key-env",
    "--n",
    "--temperature",
    "--top-p",
    "--turn-tokens",
    "--stage",
    "--device",
    "--dtype",
    "--max-seqs",
    "--max-len",
    "--max-batch-tokens",
    "--tokenizer",
];

/// What to launch.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// N: one shard per array task or completion index.
    pub shards: u32,
    /// The dasynth command line after `--`, without the program name.
    pub args: Vec<String>,
    /// The dasynth program as the job runs it.
    pub program: String,
    /// The job's name (Slurm job name, Kubernetes Job name; the merge job adds `-merge`).
    pub name: String,
}

impl LaunchSpec {
    pub fn validate(&self) -> Result<(), ScaleError> {
        if self.shards == 0 {
            return Err(ScaleError::Launch { message: "--shards 0".into(), hint: "pass --shards N with N >= 1" });
        }
        let Some(command) = self.args.first() else {
            return Err(ScaleError::Launch {
                message: "no dasynth command after `--`".into(),
                hint: "write the command each shard runs after `--`, e.g. `-- generate --config dasynth.toml --out run`",
            });
        };
        if !SHARDED_COMMANDS.contains(&command.as_str()) {
            return Err(ScaleError::Launch {
                message: format!("`{command}` does not run in shards; the sharded commands are: {}", SHARDED_COMMANDS.join(", ")),
                hint: "put generate, trajectories, verify or sample right after `--`",
            });
        }
        if self.args.iter().any(|a| a == "--shard" || a.starts_with("--shard=")) {
            return Err(ScaleError::Launch {
                message: "the command already has --shard".into(),
                hint: "leave --shard out: the launcher appends it for every shard",
            });
        }
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 52
            && self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.name.starts_with('-')
            && !self.name.ends_with('-');
        if !valid_name {
            return Err(ScaleError::Launch {
                message: format!("job name {:?}", self.name),
                hint: "use lowercase letters, digits and '-', at most 52 characters (a Kubernetes name)",
            });
        }
        Ok(())
    }

    /// The command of shard `index` (an expression the engine fills in).
    pub fn shard_args(&self, index: &str) -> Vec<String> {
        let mut a = self.args.clone();
        a.push("--shard".into());
        a.push(format!("{index}/{}", self.shards));
        a
    }

    fn flag_value(&self, names: &[&str]) -> Option<String> {
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            for n in names {
                if a == n {
                    return it.next().cloned();
                }
                if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                    return Some(v.to_string());
                }
            }
        }
        None
    }

    /// The run folder the command names (`--out` of generate, the folder argument of the
    /// others); `None` when it comes from the configuration.
    pub fn run_dir(&self) -> Option<String> {
        if let Some(out) = self.flag_value(&["--out", "-o"]) {
            return Some(out);
        }
        if self.args.first().is_some_and(|c| c == "generate") {
            return None;
        }
        let mut prev: Option<&str> = None;
        for a in self.args.iter().skip(1) {
            if !a.starts_with('-') && !prev.is_some_and(|p| VALUE_FLAGS.contains(&p)) {
                return Some(a.clone());
            }
            prev = Some(a.as_str());
        }
        None
    }

    /// The merge job's commands: `merge`, then `export` after a sharded `generate`.
    pub fn merge_commands(&self) -> Vec<Vec<String>> {
        let mut global = Vec::new();
        if let Some(c) = self.flag_value(&["--config"]) {
            global.push("--config".to_string());
            global.push(c);
        }
        let dir: Vec<String> = self.run_dir().into_iter().collect();
        let mut commands = vec![[global.clone(), vec!["merge".into()], dir.clone()].concat()];
        if self.args.first().is_some_and(|c| c == "generate") {
            commands.push([global, vec!["export".into()], dir].concat());
        }
        commands
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// A command line for a shell, every word quoted as needed.
pub fn shell_line(program: &str, args: &[String]) -> String {
    std::iter::once(shell_quote(program)).chain(args.iter().map(|a| shell_quote(a))).collect::<Vec<_>>().join(" ")
}

/// One file a launcher writes.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFile {
    pub name: &'static str,
    pub text: String,
}

#[cfg(test)]
pub(crate) fn spec(args: &[&str]) -> LaunchSpec {
    LaunchSpec { shards: 4, args: args.iter().map(|s| s.to_string()).collect(), program: "dasynth".into(), name: "dasynth".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_folder_and_the_merge_commands_come_from_the_sharded_command() {
        let s = spec(&["generate", "--config", "my run.toml", "--out", "runs/a"]);
        s.validate().unwrap();
        assert_eq!(s.run_dir().as_deref(), Some("runs/a"));
        assert_eq!(
            s.merge_commands(),
            vec![vec!["--config", "my run.toml", "merge", "runs/a"], vec!["--config", "my run.toml", "export", "runs/a"]]
        );
        assert_eq!(shell_line("dasynth", &s.shard_args("$X")), "dasynth generate --config 'my run.toml' --out runs/a --shard '$X/4'");
        let v = spec(&["verify", "--config=c.toml", "runs/b"]);
        assert_eq!(v.run_dir().as_deref(), Some("runs/b"));
        assert_eq!(v.merge_commands(), vec![vec!["--config", "c.toml", "merge", "runs/b"]]);
        assert_eq!(spec(&["generate"]).merge_commands(), vec![vec!["merge"], vec!["export"]]);
        // The student's flags take values; the run folder is the positional argument.
        let st = spec(&["sample", "--student", "/models/q3", "--n", "8", "--device", "cuda", "runs/c", "--temperature", "0.8"]);
        st.validate().unwrap();
        assert_eq!(st.run_dir().as_deref(), Some("runs/c"));
        assert_eq!(st.merge_commands(), vec![vec!["merge", "runs/c"]]);
    }

    #[test]
    fn bad_launches_are_refused_with_a_hint() {
        for (args, what) in [
            (vec![], "no dasynth command"),
            (vec!["export"], "does not run in shards"),
            (vec!["generate", "--shard", "0/2"], "already has --shard"),
        ] {
            let e = spec(&args).validate().unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("hint:"), "{e}");
        }
        let mut s = spec(&["generate"]);
        s.shards = 0;
        assert!(s.validate().is_err());
        s.shards = 2;
        s.name = "Bad_Name".into();
        assert!(s.validate().unwrap_err().to_string().contains("job name"));
    }
}
