//! The batch script of a worker job: what it asks Slurm for and the `libdask worker` it
//! runs, written where users can read and adapt it.

use super::SlurmOptions;
use crate::distributed::cluster::LocalCluster;
use std::path::Path;

/// A shell word: `s` in single quotes, its own single quotes closed and escaped.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Megabytes asked of Slurm for a worker of `opts` (at least one).
pub(super) fn mib(opts: &SlurmOptions) -> u64 {
    opts.mem_per_worker.div_ceil(1 << 20).max(1)
}

/// The `libdask worker` command (program first) of a worker of `opts` named `name`.
pub(super) fn worker_command(
    opts: &SlurmOptions,
    scheduler: &LocalCluster,
    name: &str,
) -> Vec<String> {
    let mut command = vec![
        scheduler.program().display().to_string(),
        "worker".into(),
        scheduler.address().to_string(),
        "--nthreads".into(),
        opts.cpus_per_worker.to_string(),
        "--memory-limit".into(),
        (mib(opts) << 20).to_string(),
        "--name".into(),
        name.to_string(),
        "--death-timeout".into(),
        "60".into(),
    ];
    command.extend(scheduler.worker_tls_args());
    command
}

/// The batch script of one worker job of `opts` against `scheduler`.
pub(super) fn job_script(opts: &SlurmOptions, scheduler: &LocalCluster, dir: &Path) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("#SBATCH --job-name=libdask-worker\n");
    s.push_str(&format!(
        "#SBATCH --cpus-per-task={}\n",
        opts.cpus_per_worker
    ));
    s.push_str(&format!("#SBATCH --mem={}M\n", mib(opts)));
    s.push_str(&format!("#SBATCH --time={}\n", opts.time));
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(a) = &opts.account {
        s.push_str(&format!("#SBATCH --account={a}\n"));
    }
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        dir.join("worker-%j.log").display()
    ));
    // Each word quoted but the name, which the shell expands to the job's.
    const NAME: &str = "slurm-$SLURM_JOB_ID";
    let words: Vec<String> = worker_command(opts, scheduler, NAME)
        .iter()
        .map(|w| if w == NAME { w.clone() } else { quoted(w) })
        .collect();
    s.push_str("# The worker leaves cleanly on the SIGTERM of scancel or of the time limit.\n");
    s.push_str(&format!("exec {}\n", words.join(" ")));
    s
}

/// The name of this process's worker steps (`scancel` signals them by it).
pub(super) fn step_name() -> String {
    format!("libdask-worker-{}", std::process::id())
}

/// The `srun` command starting worker `i` of `opts` as a step of the allocation this process
/// runs in (its output to `dir/worker-<job>.<step>.log`).
pub(super) fn step_command(
    opts: &SlurmOptions,
    scheduler: &LocalCluster,
    dir: &Path,
    i: usize,
) -> Vec<String> {
    let mut c = vec![
        "srun".to_string(),
        // Only the CPUs and memory asked: the steps of one allocation run side by side.
        "--exact".into(),
        "--ntasks=1".into(),
        "--nodes=1".into(),
        format!("--cpus-per-task={}", opts.cpus_per_worker),
        format!("--mem={}M", mib(opts)),
        format!("--job-name={}", step_name()),
        format!("--output={}", dir.join("worker-%J.log").display()),
    ];
    c.extend(worker_command(opts, scheduler, &format!("srun-{i}")));
    c
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn shell_words_keep_their_quotes() {
        assert_eq!(quoted("tcp://h:1"), "'tcp://h:1'");
        assert_eq!(quoted("it's"), r"'it'\''s'");
    }
}
