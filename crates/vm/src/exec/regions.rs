//! The cycle tracker: inclusive cycles per nested region path, per segment.

use std::collections::HashMap;

use crate::exec::stats::RegionCycles;

const ROOT: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct RegionTracker {
    names: Vec<String>,
    /// Path ids -> `outer;inner` strings.
    paths: Vec<String>,
    /// (parent path or ROOT, name id) -> path id. Consulted at markers only.
    index: HashMap<(u32, u32), u32>,
    /// Open regions: (path id, cycle up to which it has been credited).
    stack: Vec<(u32, u64)>,
    /// Cycles credited in the current segment, per path id.
    cycles: Vec<u64>,
    /// Whether the path was active in the current segment.
    active: Vec<bool>,
}

impl RegionTracker {
    pub fn new(names: Vec<String>) -> Self {
        RegionTracker {
            names,
            paths: Vec::new(),
            index: HashMap::new(),
            stack: Vec::new(),
            cycles: Vec::new(),
            active: Vec::new(),
        }
    }

    pub fn start(&mut self, name: u32, now: u64) {
        let parent = self.stack.last().map(|&(p, _)| p).unwrap_or(ROOT);
        let id = match self.index.get(&(parent, name)) {
            Some(&id) => id,
            None => {
                let leaf = &self.names[name as usize];
                let path = match parent {
                    ROOT => leaf.clone(),
                    p => format!("{};{leaf}", self.paths[p as usize]),
                };
                self.paths.push(path);
                self.cycles.push(0);
                self.active.push(false);
                let id = self.paths.len() as u32 - 1;
                self.index.insert((parent, name), id);
                id
            }
        };
        self.active[id as usize] = true;
        self.stack.push((id, now));
    }

    /// Closes the innermost region; false when none is open.
    pub fn end(&mut self, now: u64) -> bool {
        match self.stack.pop() {
            Some((id, since)) => {
                self.cycles[id as usize] += now - since;
                true
            }
            None => false,
        }
    }

    /// Closes every open region (at `halt`).
    pub fn close_all(&mut self, now: u64) {
        while self.end(now) {}
    }

    /// The current segment's regions, crediting open regions up to `now`; resets the
    /// counts for the next segment, where the still-open regions continue.
    pub fn take_segment(&mut self, now: u64) -> Vec<RegionCycles> {
        for (id, since) in self.stack.iter_mut() {
            self.cycles[*id as usize] += now - *since;
            *since = now;
        }
        let mut out = Vec::new();
        for (id, path) in self.paths.iter().enumerate() {
            if self.active[id] {
                out.push(RegionCycles {
                    path: path.clone(),
                    cycles: self.cycles[id],
                });
            }
            self.cycles[id] = 0;
            self.active[id] = false;
        }
        for &(id, _) in &self.stack {
            self.active[id as usize] = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_regions_are_inclusive_and_split_across_segments() {
        let mut t = RegionTracker::new(vec!["outer".into(), "inner".into()]);
        t.start(0, 0);
        t.start(1, 2);
        assert!(t.end(5));
        // segment boundary at 6 while `outer` is open
        let s0 = t.take_segment(6);
        assert_eq!(
            s0,
            vec![
                RegionCycles {
                    path: "outer".into(),
                    cycles: 6
                },
                RegionCycles {
                    path: "outer;inner".into(),
                    cycles: 3
                }
            ]
        );
        assert!(t.end(10));
        assert!(!t.end(10));
        let s1 = t.take_segment(12);
        assert_eq!(
            s1,
            vec![RegionCycles {
                path: "outer".into(),
                cycles: 4
            }]
        );
        // a region used at top level and nested gets two paths
        t.start(1, 12);
        t.end(13);
        assert_eq!(
            t.take_segment(13),
            vec![RegionCycles {
                path: "inner".into(),
                cycles: 1
            }]
        );
    }
}
