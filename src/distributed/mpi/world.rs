//! The MPI calls a cluster needs, through rsmpi: initialise (or join a program's MPI),
//! hand out invitations, tell and hear "stop", finalise. Every call is made from the thread
//! that initialised MPI (`MPI_THREAD_FUNNELED`): the cluster's own threads never touch MPI.
//!
//! Waiting for "stop" is a probe every 10 ms rather than a blocking
//! receive: Open MPI's blocking calls spin a core, which a worker rank's tasks need.

use super::Invitation;
use crate::error::{Error, Result};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{Destination, Source};
use std::ffi::{c_char, c_int};

const TAG_INVITATION: i32 = 0x6461;
const TAG_STOP: i32 = 0x6462;

fn comm() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

/// This process's MPI world (plain numbers, so the client's rank can keep it in a static
/// until `dask_mpi_finalize`).
pub struct World {
    rank: i32,
    size: i32,
    /// MPI was initialised by us (so we finalise it), not by the program.
    ours: bool,
}

impl World {
    /// Initialises MPI with the program's `argc`/`argv` (both may be NULL) unless the
    /// program already has.
    ///
    /// # Safety
    /// `argc` and `argv` are NULL or `main`'s, as `MPI_Init_thread` takes them.
    pub unsafe fn init(argc: *mut c_int, argv: *mut *mut *mut c_char) -> Result<World> {
        if mpi::environment::is_finalized() {
            return Err(Error::Closed(
                "MPI was already finalised in this process".into(),
            ));
        }
        let ours = !mpi::environment::is_initialized();
        if ours {
            let mut provided: c_int = 0;
            // SAFETY: per the contract; MPI is not initialised yet.
            let rc = unsafe {
                mpi::ffi::MPI_Init_thread(
                    argc,
                    argv,
                    mpi::ffi::RSMPI_THREAD_FUNNELED,
                    &mut provided,
                )
            };
            if rc != 0 {
                return Err(Error::Io(format!("MPI_Init_thread failed (error {rc})")));
            }
        }
        let comm = SimpleCommunicator::world();
        Ok(World {
            rank: comm.rank(),
            size: comm.size(),
            ours,
        })
    }

    pub fn rank(&self) -> i32 {
        self.rank
    }

    pub fn size(&self) -> i32 {
        self.size
    }

    /// Sends each rank of `to` its invitation (or the reason there is none).
    pub fn invite(&self, to: i32, answer: &std::result::Result<Invitation, String>) {
        let bytes = Invitation::encode(answer);
        comm()
            .process_at_rank(to)
            .send_with_tag(&bytes[..], TAG_INVITATION);
    }

    /// Waits for the scheduler's rank's invitation (blocking: the scheduler starts in
    /// milliseconds).
    pub fn invitation(&self, from: i32) -> Result<Invitation> {
        let (bytes, _) = comm()
            .process_at_rank(from)
            .receive_vec_with_tag::<u8>(TAG_INVITATION);
        Invitation::decode(&bytes)
    }

    /// Tells every other rank to stop, with the job's exit code.
    pub fn tell_stop(&self, code: i32) {
        for r in (0..self.size).filter(|&r| r != self.rank) {
            comm().process_at_rank(r).send_with_tag(&code, TAG_STOP);
        }
    }

    /// The exit code `from` sent with "stop", if it has (does not wait).
    pub fn heard_stop(&self, from: i32) -> Option<i32> {
        let world = comm();
        let p = world.process_at_rank(from);
        p.immediate_probe_with_tag(TAG_STOP)?;
        let (code, _) = p.receive_with_tag::<i32>(TAG_STOP);
        Some(code)
    }

    /// Finalises MPI when we initialised it (a program that did finalises it itself).
    pub fn finalize(self) {
        if self.ours {
            // SAFETY: MPI is initialised and this is the last MPI call of this process.
            unsafe {
                mpi::ffi::MPI_Finalize();
            }
        }
    }

    /// Finalises MPI whoever initialised it: this process is about to exit.
    pub fn finalize_before_exit(self) {
        // SAFETY: as above; nothing runs MPI after this.
        unsafe {
            mpi::ffi::MPI_Finalize();
        }
    }

    /// Ends the whole job at once (mpirun stops every rank) with `code`.
    pub fn abort(&self, code: i32) -> ! {
        comm().abort(code)
    }
}
