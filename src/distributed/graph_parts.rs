//! A graph on its way to the scheduler, in parts of bounded size, each sent as soon as it is
//! encoded. The scheduler takes every part as it arrives, so the workers start on the first
//! while the client still encodes the rest.
//!
//! Parts go dependencies first (the plan's order), so a task's inputs are in its own part or
//! an earlier one. An input read by a later part must not be freed before that part is in:
//! such "bridge" keys are wanted with their part and released after the last one (they stay
//! needed then only as long as their readers are pending).

use super::msg::{Message, Msg, TaskHead};

/// Tasks per `UpdateGraph` message: a graph of a million tasks goes as parts of bounded size
/// (its header alone would pass the message limit).
pub(crate) const GRAPH_PART: usize = 20_000;

/// The part of the task at `position` among the graph's tasks (externals not counted).
pub(crate) fn part_of(position: usize) -> usize {
    position / GRAPH_PART
}

/// The part being filled, and the bridge keys of the parts so far.
pub(crate) struct GraphParts {
    tasks: Vec<TaskHead>,
    frames: Vec<Vec<u8>>,
    wanted: Vec<String>,
    pushed: usize,
    bridges: Vec<String>,
}

impl GraphParts {
    /// Starts a graph; `externals` (keys the client computes and puts on a worker) go in the
    /// first part, wanted, since tasks of any part may read them.
    pub(crate) fn new(externals: &[String]) -> Self {
        GraphParts {
            tasks: externals
                .iter()
                .map(|k| TaskHead {
                    key: k.clone(),
                    deps: Vec::new(),
                    frame: u32::MAX,
                    external: true,
                })
                .collect(),
            frames: Vec::new(),
            wanted: externals.to_vec(),
            pushed: 0,
            bridges: Vec::new(),
        }
    }

    /// Adds a task (`wanted`: the client waits for it; `bridge`: a later part reads it);
    /// returns the part to send when this task completes one.
    pub(crate) fn push(
        &mut self,
        mut head: TaskHead,
        frame: Vec<u8>,
        wanted: bool,
        bridge: bool,
    ) -> Option<Message> {
        head.frame = self.frames.len() as u32;
        head.external = false;
        if wanted || bridge {
            self.wanted.push(head.key.clone());
        }
        if bridge && !wanted {
            self.bridges.push(head.key.clone());
        }
        self.tasks.push(head);
        self.frames.push(frame);
        self.pushed += 1;
        self.pushed
            .is_multiple_of(GRAPH_PART)
            .then(|| self.part(true))
    }

    /// The last part, and the release of the bridge keys to send after it.
    pub(crate) fn finish(mut self) -> (Message, Option<Message>) {
        let last = self.part(false);
        (last, self.abandon())
    }

    /// The release of the bridge keys of the parts so far (the graph is given up after some
    /// parts were sent, or has ended).
    pub(crate) fn abandon(self) -> Option<Message> {
        (!self.bridges.is_empty()).then(|| Message::new(Msg::Release { keys: self.bridges }))
    }

    fn part(&mut self, more: bool) -> Message {
        Message::with_frames(
            Msg::UpdateGraph {
                tasks: std::mem::take(&mut self.tasks),
                wanted: std::mem::take(&mut self.wanted),
                more,
            },
            std::mem::take(&mut self.frames),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(k: &str) -> TaskHead {
        TaskHead {
            key: k.into(),
            deps: Vec::new(),
            frame: 7,
            external: false,
        }
    }

    fn parts_of(m: &Message) -> (Vec<String>, Vec<String>, bool, usize) {
        match &m.msg {
            Msg::UpdateGraph {
                tasks,
                wanted,
                more,
            } => (
                tasks.iter().map(|t| t.key.clone()).collect(),
                wanted.clone(),
                *more,
                m.frames.len(),
            ),
            other => panic!("not a graph part: {other:?}"),
        }
    }

    #[test]
    fn parts_split_at_the_bound_and_bridges_are_wanted_then_released() {
        let mut g = GraphParts::new(&["ext".to_string()]);
        let mut sent = Vec::new();
        for i in 0..GRAPH_PART + 3 {
            let bridge = i == 5; // read by the second part
            let wanted = i == 6 || i == GRAPH_PART + 1;
            if let Some(m) = g.push(head(&format!("t{i}")), vec![i as u8], wanted, bridge) {
                sent.push(m);
            }
        }
        assert_eq!(sent.len(), 1, "the first part leaves once full");
        let (last, release) = g.finish();
        let (keys, wanted, more, frames) = parts_of(&sent[0]);
        assert!(more);
        assert_eq!(keys.len(), GRAPH_PART + 1, "the external goes first");
        assert_eq!(keys[0], "ext");
        assert_eq!(frames, GRAPH_PART);
        assert_eq!(wanted, vec!["ext", "t5", "t6"]);
        let (keys, wanted, more, frames) = parts_of(&last);
        assert!(!more);
        assert_eq!(
            keys,
            vec![
                format!("t{GRAPH_PART}"),
                format!("t{}", GRAPH_PART + 1),
                format!("t{}", GRAPH_PART + 2)
            ]
        );
        assert_eq!(frames, 3);
        assert_eq!(wanted, vec![format!("t{}", GRAPH_PART + 1)]);
        match release.map(|m| m.msg) {
            Some(Msg::Release { keys }) => assert_eq!(keys, vec!["t5"]),
            other => panic!("expected the bridge's release, got {other:?}"),
        }
        // Frame indices are per part.
        if let Msg::UpdateGraph { tasks, .. } = &last.msg {
            let idx: Vec<u32> = tasks.iter().map(|t| t.frame).collect();
            assert_eq!(idx, vec![0, 1, 2]);
        }
        assert_eq!(part_of(GRAPH_PART - 1), 0);
        assert_eq!(part_of(GRAPH_PART), 1);
    }

    #[test]
    fn a_small_graph_is_one_part_without_release() {
        let mut g = GraphParts::new(&[]);
        assert!(g.push(head("a"), vec![1], true, false).is_none());
        let (last, release) = g.finish();
        assert!(release.is_none());
        let (keys, wanted, more, _) = parts_of(&last);
        assert_eq!(
            (keys, wanted, more),
            (vec!["a".to_string()], vec!["a".to_string()], false)
        );
    }
}
