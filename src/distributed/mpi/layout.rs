//! Which rank of an MPI job does what.

use crate::error::{Error, Result};

/// A rank's part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankRole {
    Scheduler,
    /// The client's side: a program (`libdask mpi -- COMMAND`) or the caller of
    /// `dask_mpi_init`.
    Client,
    Worker,
}

/// The ranks of the scheduler and of the client's side; every other rank is a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub scheduler: i32,
    pub client: Option<i32>,
}

impl Layout {
    /// `mpirun libdask mpi`: rank 0 the scheduler; rank 1 COMMAND's when there is one, a
    /// worker otherwise (as `dask-mpi`'s command line, whose clients connect from outside).
    pub fn command_line(with_command: bool) -> Layout {
        Layout {
            scheduler: 0,
            client: with_command.then_some(1),
        }
    }

    /// `dask_mpi_init`: rank 0 goes on with the program as the client (where MPI programs
    /// print and gather), rank 1 the scheduler.
    pub fn library() -> Layout {
        Layout {
            scheduler: 1,
            client: Some(0),
        }
    }

    pub fn role(&self, rank: i32) -> RankRole {
        if rank == self.scheduler {
            RankRole::Scheduler
        } else if Some(rank) == self.client {
            RankRole::Client
        } else {
            RankRole::Worker
        }
    }

    /// The rank whose end ends the job: the client's side when there is one (its exit code
    /// becomes every rank's), else the scheduler's (stopped by SIGINT or SIGTERM).
    pub fn decider(&self) -> i32 {
        self.client.unwrap_or(self.scheduler)
    }

    /// The worker ranks of a job of `size` ranks.
    pub fn workers(&self, size: i32) -> Vec<i32> {
        (0..size)
            .filter(|&r| self.role(r) == RankRole::Worker)
            .collect()
    }

    /// An error unless a job of `size` ranks has a rank for each role and at least one
    /// worker.
    pub fn check(&self, size: i32) -> Result<()> {
        let needed = 2 + i32::from(self.client.is_some());
        if size < needed {
            let roles = match self.client {
                Some(0) => "the client (rank 0), the scheduler (rank 1) and workers (2 on)",
                Some(_) => "the scheduler (rank 0), COMMAND (rank 1) and workers (2 on)",
                None => "the scheduler (rank 0) and workers (1 on)",
            };
            return Err(Error::invalid(format!(
                "an MPI cluster of {size} rank{} has no worker: it needs at least {needed} ranks, \
                 for {roles} (mpirun -np {needed} or more)",
                if size == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_puts_the_scheduler_first_and_the_command_second() {
        let l = Layout::command_line(true);
        assert_eq!(l.role(0), RankRole::Scheduler);
        assert_eq!(l.role(1), RankRole::Client);
        assert_eq!(l.workers(4), vec![2, 3]);
        assert_eq!(l.decider(), 1);
        let l = Layout::command_line(false);
        assert_eq!(l.workers(4), vec![1, 2, 3]);
        assert_eq!(l.decider(), 0);
    }

    #[test]
    fn the_library_keeps_rank_zero_for_the_program() {
        let l = Layout::library();
        assert_eq!(l.role(0), RankRole::Client);
        assert_eq!(l.role(1), RankRole::Scheduler);
        assert_eq!(l.workers(3), vec![2]);
        assert_eq!(l.decider(), 0);
    }

    #[test]
    fn a_job_without_a_worker_is_refused_with_the_count_it_needs() {
        let e = Layout::library().check(2).unwrap_err().to_string();
        assert!(e.contains("at least 3 ranks"), "{e}");
        assert!(Layout::command_line(false).check(1).is_err());
        assert!(Layout::command_line(false).check(2).is_ok());
        assert!(Layout::command_line(true).check(3).is_ok());
    }
}
