//! How many workers an adaptive cluster should have, decided from the scheduler's own queue
//! (Dask's `adaptive_target` and `workers_to_close`): more while tasks wait and no worker
//! has a free thread, fewer when workers have been idle for a grace period. The cluster
//! manager (Slurm jobs, processes) only carries the decision out.
//!
//! Scaling down never loses a result: an idle worker told to retire hands the results only
//! it holds to its peers first, and the last worker holding results a client still wants
//! stays, whatever the minimum, until they are released.

use super::{Dest, St, State, WorkerId};
use crate::distributed::msg::{Message, Msg};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The bounds and pace of an adaptive cluster.
#[derive(Debug, Clone, Copy)]
pub struct AdaptRule {
    pub min: usize,
    pub max: usize,
    /// Threads of each worker the cluster would start (how many tasks one more worker takes).
    pub threads_per_worker: usize,
    /// How long a worker must have had nothing to run before it is let go.
    pub idle_grace: Duration,
}

/// What the scheduler wants of the cluster now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// Workers wanted, those starting included.
    pub target: usize,
    /// Idle workers told to retire now (already given no new work).
    pub retiring: Vec<WorkerId>,
}

impl State {
    /// Decides the cluster's size from the queue; the workers it lets go are marked
    /// retiring and sent `Retire`.
    pub fn adapt(&mut self, rule: &AdaptRule, now: Instant) -> Advice {
        let max = rule.max.max(rule.min);
        let live: Vec<WorkerId> = self
            .workers
            .values()
            .filter(|r| !r.retiring)
            .map(|r| r.info.id)
            .collect();
        let n = live.len();
        // Runnable tasks no thread runs: queued in the scheduler (no worker had a slot) or
        // on a worker behind its busy threads.
        let mut waiting = 0usize;
        let mut external = 0usize;
        // Per worker: the bytes it holds, and whether it is the only holder of a result
        // still needed.
        let mut held: HashMap<WorkerId, (u64, bool)> = HashMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let Some(t) = t else { continue };
            match t.state {
                St::Queued => waiting += 1,
                St::External => external += 1,
                St::Memory => {
                    let only = t.who_has.len() == 1 && self.needed(i as u32);
                    for w in &t.who_has {
                        let e = held.entry(*w).or_default();
                        e.0 += t.nbytes;
                        e.1 |= only;
                    }
                }
                _ => {}
            }
        }
        // A value a client computes needs a worker to hold it, not a thread: work to scale
        // for only while there is no worker at all.
        if n == 0 {
            waiting += external;
        }
        let mut free_thread = false;
        for w in &live {
            let r = &self.workers[w];
            let threads = r.info.nthreads.max(1) as usize;
            waiting += r.processing.len().saturating_sub(threads);
            free_thread |= !r.paused && r.processing.len() < threads;
        }
        if waiting > 0 {
            // A worker with a free thread gets the work without help.
            let want = if free_thread {
                n
            } else {
                n + waiting.div_ceil(rule.threads_per_worker.max(1))
            };
            return Advice {
                target: want.clamp(rule.min, max),
                retiring: Vec::new(),
            };
        }
        // Nothing waits: idle workers past their grace period go, those holding the least
        // data first, down to the minimum.
        let mut idle: Vec<(u64, WorkerId)> = live
            .iter()
            .filter(|w| {
                self.workers[w]
                    .idle_since
                    .is_some_and(|t| now.saturating_duration_since(t) >= rule.idle_grace)
            })
            .map(|w| (held.get(w).map_or(0, |h| h.0), *w))
            .collect();
        idle.sort();
        let mut retiring = Vec::new();
        for (_, w) in idle.into_iter().take(n.saturating_sub(rule.min)) {
            let last = retiring.len() + 1 == n;
            if last && held.get(&w).is_some_and(|h| h.1) {
                break; // no peer would be left to take its results
            }
            retiring.push(w);
        }
        for &w in &retiring {
            if let Some(r) = self.workers.get_mut(&w) {
                r.retiring = true;
            }
            self.refresh(w);
            self.out.push((Dest::Worker(w), Message::new(Msg::Retire)));
        }
        Advice {
            target: (n - retiring.len()).max(rule.min),
            retiring,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{computes, worker};
    use super::*;

    fn rule(min: usize, max: usize) -> AdaptRule {
        AdaptRule {
            min,
            max,
            threads_per_worker: 2,
            idle_grace: Duration::from_secs(5),
        }
    }

    fn roots(n: usize) -> Vec<(String, Vec<String>, Vec<u8>)> {
        (0..n).map(|i| (format!("r{i}"), vec![], vec![])).collect()
    }

    fn retire_messages(s: &mut State) -> Vec<WorkerId> {
        s.out
            .drain(..)
            .filter_map(|(d, m)| match (d, m.msg) {
                (Dest::Worker(w), Msg::Retire) => Some(w),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn queued_tasks_with_no_worker_ask_for_workers_up_to_the_maximum() {
        let mut s = State::new(3);
        let now = Instant::now();
        assert_eq!(s.adapt(&rule(0, 4), now).target, 0, "nothing to do");
        s.update_graph(7, roots(3), (0..3).map(|i| format!("r{i}")).collect());
        // Three tasks, two threads per worker: two workers.
        assert_eq!(s.adapt(&rule(0, 4), now).target, 2);
        assert_eq!(s.adapt(&rule(0, 1), now).target, 1, "bounded by max");
        assert_eq!(s.adapt(&rule(3, 4), now).target, 3, "at least min");
    }

    #[test]
    fn no_more_workers_while_one_has_a_free_thread() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 4));
        s.update_graph(7, roots(2), vec!["r0".into(), "r1".into()]);
        assert_eq!(computes(&mut s).len(), 2);
        assert_eq!(s.adapt(&rule(0, 4), Instant::now()).target, 1);
        // Busy and more queued than its slots take: one more per two waiting tasks.
        s.update_graph(8, roots(40), vec![]);
        let advice = s.adapt(&rule(0, 4), Instant::now());
        assert!(advice.target > 1 && advice.target <= 4, "{advice:?}");
        assert!(advice.retiring.is_empty());
    }

    #[test]
    fn values_a_client_computes_ask_for_a_worker_only_while_there_is_none() {
        let mut s = State::new(3);
        s.expect_from_client(7, vec!["h0".into(), "h1".into(), "h2".into()]);
        assert_eq!(s.adapt(&rule(0, 4), Instant::now()).target, 2);
        s.add_worker(worker(1, 1));
        s.update_graph(7, roots(1), vec!["r0".into()]);
        assert_eq!(computes(&mut s).len(), 1, "its one thread is busy");
        // The values need a worker to hold them, which there is: no more workers.
        assert_eq!(s.adapt(&rule(0, 4), Instant::now()).target, 1);
    }

    #[test]
    fn idle_workers_retire_after_the_grace_period_keeping_the_minimum() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.add_worker(worker(2, 1));
        s.add_worker(worker(3, 1));
        let now = Instant::now();
        let soon = s.adapt(&rule(1, 4), now);
        assert_eq!((soon.target, soon.retiring.len()), (3, 0), "within grace");
        let later = now + Duration::from_secs(6);
        let advice = s.adapt(&rule(1, 4), later);
        assert_eq!(advice.target, 1);
        assert_eq!(advice.retiring.len(), 2);
        let mut told = retire_messages(&mut s);
        told.sort();
        let mut retiring = advice.retiring.clone();
        retiring.sort();
        assert_eq!(told, retiring, "each is told to retire");
        // Retiring workers get no new work: the queued task goes to the one that stays.
        let stays = (1..=3).find(|w| !retiring.contains(w)).unwrap();
        s.update_graph(7, roots(1), vec!["r0".into()]);
        assert_eq!(computes(&mut s), vec![(stays, "r0".to_string())]);
        // Not asked twice.
        assert!(s.adapt(&rule(0, 4), later).retiring.is_empty(), "busy now");
    }

    #[test]
    fn the_last_worker_holding_wanted_results_stays() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.update_graph(7, roots(1), vec!["r0".into()]);
        let c = computes(&mut s);
        s.finished(c[0].0, "r0", 8, 1, None);
        let later = Instant::now() + Duration::from_secs(6);
        let advice = s.adapt(&rule(0, 4), later);
        assert_eq!((advice.target, advice.retiring.len()), (1, 0));
        // Released, nothing is lost by letting it go.
        s.release(7, &["r0".into()]);
        let advice = s.adapt(&rule(0, 4), later);
        assert_eq!((advice.target, advice.retiring), (0, vec![1]));
    }

    #[test]
    fn with_a_peer_left_a_worker_holding_results_may_go_they_move() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.update_graph(7, roots(1), vec!["r0".into()]);
        let c = computes(&mut s);
        s.finished(c[0].0, "r0", 8, 1, None);
        s.add_worker(worker(2, 1));
        let later = Instant::now() + Duration::from_secs(6);
        let advice = s.adapt(&rule(0, 4), later);
        // The empty one goes first; the holder stays as the last.
        assert_eq!((advice.target, advice.retiring), (1, vec![2]));
    }
}
