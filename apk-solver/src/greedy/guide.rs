//! What other engines borrow from the greedy pass: its selection (apk's own answer), the order
//! in which it reaches names, and its preference order among a name's providers. Living
//! inside the greedy module, this reuses the engine's state and `compare` instead of
//! duplicating apk's ranking rules.

use super::{PkgSt, Selection, State};
use crate::model::{Dep, NameIdx, PkgIdx, Universe};
use crate::task::SolverTask;

/// The greedy pass after it ran, as guidance.
pub(crate) struct Guide<'u> {
    state: State<'u>,
    /// apk's answer (possibly failing the rules).
    pub(crate) selection: Selection,
}

impl<'u> Guide<'u> {
    /// Run the greedy pass for `world` and keep its state.
    pub(crate) fn new(u: &'u Universe, world: &[Dep], task: &SolverTask) -> Guide<'u> {
        let mut state = State::new(u, task);
        state.solve(world, task);
        let selection = state.sel.clone();
        // Rank on the static preferences only: disqualification and conflict counts are the
        // greedy pass's dynamic state, which another engine replaces with its own reasoning.
        for p in &mut state.ps {
            *p = PkgSt {
                disqualified: false,
                conflicts: 0,
                ..p.clone()
            };
        }
        Guide { state, selection }
    }

    /// When the greedy pass reached `n`: higher is nearer to world, decided earlier
    /// (discovery post-order, the tie-break of apk's name order); 0 for names never reached.
    pub(crate) fn name_order(&self, n: NameIdx) -> u32 {
        self.state.ns[n as usize].order_id
    }

    /// The packages providing `n`, best first in apk's preference order.
    pub(crate) fn ranked(&self, n: NameIdx) -> Vec<PkgIdx> {
        let mut group = self.state.grouped(n);
        group.sort_by(|&a, &b| self.state.compare(b, a));
        group.into_iter().map(|p| p.pkg).collect()
    }
}
