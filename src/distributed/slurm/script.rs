//! The batch script of a worker job: what it asks Slurm for and the `libdask worker` it
//! runs, written where users can read and adapt it.

use super::SlurmOptions;
use crate::distributed::cluster::LocalCluster;
use std::path::Path;

/// A shell word: `s` in single quotes, its own single quotes closed and escaped.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The batch script of one worker job of `opts` against `scheduler`.
pub(super) fn job_script(opts: &SlurmOptions, scheduler: &LocalCluster, dir: &Path) -> String {
    let mib = opts.mem_per_worker.div_ceil(1 << 20).max(1);
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("#SBATCH --job-name=libdask-worker\n");
    s.push_str(&format!(
        "#SBATCH --cpus-per-task={}\n",
        opts.cpus_per_worker
    ));
    s.push_str(&format!("#SBATCH --mem={mib}M\n"));
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
    let mut command = vec![
        quoted(&scheduler.program().display().to_string()),
        "worker".into(),
        quoted(scheduler.address()),
        "--nthreads".into(),
        opts.cpus_per_worker.to_string(),
        "--memory-limit".into(),
        (mib << 20).to_string(),
        "--name".into(),
        "slurm-$SLURM_JOB_ID".into(),
        "--death-timeout".into(),
        "60".into(),
    ];
    command.extend(scheduler.worker_tls_args().iter().map(|a| quoted(a)));
    s.push_str("# The worker leaves cleanly on the SIGTERM of scancel or of the time limit.\n");
    s.push_str(&format!("exec {}\n", command.join(" ")));
    s
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
