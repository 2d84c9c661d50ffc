//! Adaptive clusters (Dask's `Adaptive`, dask-jobqueue's `adapt`): the scheduler decides
//! how many workers it wants from its own queue and lets idle workers go
//! ([`AdaptRule`](super::AdaptRule), asked through `Client::adapt_advice`); the cluster
//! manager turns that into jobs — at most `max_pending` of them waiting to start at once, so
//! a busy batch system is not flooded, and pending jobs cancelled first when fewer workers
//! are wanted.

use crate::error::{Error, Result};
use std::time::Duration;

/// The scheduler's answer to an adaptive cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAdvice {
    /// Workers wanted, those still starting included.
    pub target: usize,
    /// Names of the workers connected and staying.
    pub workers: Vec<String>,
    /// Names of the idle workers just told to retire (they leave on their own).
    pub retiring: Vec<String>,
}

/// How an adaptive cluster scales.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptive {
    pub min: usize,
    pub max: usize,
    /// A worker idle this long is let go (Dask's `wait_count` × `interval`).
    pub idle_grace: Duration,
    /// Worker jobs submitted and not started yet, at most.
    pub max_pending: usize,
    /// How often the scheduler is asked.
    pub interval: Duration,
}

impl Adaptive {
    /// Bounds from "MIN:MAX" (`--adapt 0:8`), with the default pace.
    pub fn parse(bounds: &str) -> Result<Adaptive> {
        let bad = || Error::invalid(format!("'{bounds}' is not MIN:MAX (for example 0:8)"));
        let (lo, hi) = bounds.split_once(':').ok_or_else(bad)?;
        let min: usize = lo.trim().parse().map_err(|_| bad())?;
        let max: usize = hi.trim().parse().map_err(|_| bad())?;
        let a = Adaptive {
            min,
            max,
            ..Adaptive::default()
        };
        a.check()?;
        Ok(a)
    }

    pub fn check(&self) -> Result<()> {
        if self.max == 0 || self.min > self.max {
            return Err(Error::invalid(format!(
                "adaptive bounds {}:{} need 0 <= min <= max and max >= 1",
                self.min, self.max
            )));
        }
        if self.max_pending == 0 {
            return Err(Error::invalid("max_pending must be at least 1"));
        }
        Ok(())
    }

    /// What to do about `advice` with `joined` workers connected and `pending` jobs not
    /// started.
    pub fn plan(&self, target: usize, joined: usize, pending: usize) -> Scale {
        let have = joined + pending;
        let room = self.max_pending.saturating_sub(pending);
        if target > have && room > 0 {
            Scale::Start((target - have).min(room))
        } else if target < have && pending > 0 {
            Scale::CancelPending((have - target).min(pending))
        } else {
            Scale::Stay
        }
    }
}

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            min: 0,
            max: 1,
            idle_grace: Duration::from_secs(10),
            max_pending: 4,
            interval: Duration::from_secs(1),
        }
    }
}

/// One step of an adaptive cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Stay,
    /// Submit this many more worker jobs.
    Start(usize),
    /// Cancel this many jobs that have not started (the newest first).
    CancelPending(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_and_are_checked() {
        let a = Adaptive::parse("0:8").unwrap();
        assert_eq!((a.min, a.max), (0, 8));
        for bad in ["8", "a:b", "3:2", "0:0", ":4", "-1:4"] {
            assert!(Adaptive::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jobs_in_flight_are_bounded_and_pending_ones_go_first() {
        let a = Adaptive {
            max: 100,
            max_pending: 4,
            ..Adaptive::default()
        };
        assert_eq!(a.plan(10, 0, 0), Scale::Start(4));
        assert_eq!(a.plan(10, 2, 3), Scale::Start(1));
        assert_eq!(a.plan(10, 2, 4), Scale::Stay, "four wait already");
        assert_eq!(a.plan(3, 2, 4), Scale::CancelPending(3));
        assert_eq!(a.plan(0, 2, 1), Scale::CancelPending(1));
        // Fewer workers wanted and none pending: the scheduler retires idle ones itself.
        assert_eq!(a.plan(1, 3, 0), Scale::Stay);
    }
}
