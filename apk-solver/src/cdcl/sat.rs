//! A small CDCL SAT core: two watched literals per clause, unit propagation, first-UIP
//! conflict analysis with non-chronological backjumping, phase saving and geometric
//! restarts.
//!
//! Decisions are not made here: a [`Brancher`] picks each decision literal, which is how the
//! package encoding imposes apk's preference order. The core only knows variables, literals
//! and clauses.

/// A variable: a dense index.
pub(crate) type Var = u32;

/// A literal: variable `v` is `2v` (positive) or `2v + 1` (negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Lit(u32);

impl Lit {
    pub(crate) fn pos(v: Var) -> Lit {
        Lit(v << 1)
    }

    pub(crate) fn neg(v: Var) -> Lit {
        Lit(v << 1 | 1)
    }

    pub(crate) fn var(self) -> Var {
        self.0 >> 1
    }

    pub(crate) fn is_neg(self) -> bool {
        self.0 & 1 != 0
    }

    fn code(self) -> usize {
        self.0 as usize
    }
}

impl std::ops::Not for Lit {
    type Output = Lit;
    fn not(self) -> Lit {
        Lit(self.0 ^ 1)
    }
}

/// Chooses decision literals.
pub(crate) trait Brancher {
    /// The next decision: an unassigned literal, or `None` when every variable is assigned
    /// (the assignment is then a model).
    fn decide(&mut self, sat: &Sat) -> Option<Lit>;
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every variable is assigned and no clause is false.
    Sat,
    /// The clauses have no model.
    Unsat,
    /// The conflict budget ran out.
    Unknown,
}

const NO_REASON: u32 = u32::MAX;
const UNASSIGNED: i8 = 0;

/// The solver state.
#[derive(Debug, Default)]
pub(crate) struct Sat {
    /// Clause literals; positions 0 and 1 are the watched ones, and a reason clause has its
    /// implied literal at position 0.
    clauses: Vec<Vec<Lit>>,
    /// Per literal code: the clauses watching that literal (visited when it becomes false).
    watches: Vec<Vec<u32>>,
    /// Per variable: 1 true, -1 false, 0 unassigned.
    value: Vec<i8>,
    level: Vec<u32>,
    reason: Vec<u32>,
    /// Per variable: the value it had when last unassigned (phase saving); starts `false`.
    phase: Vec<bool>,
    seen: Vec<bool>,
    trail: Vec<Lit>,
    trail_lim: Vec<usize>,
    qhead: usize,
    /// A clause was found false at level 0.
    unsat: bool,
    /// Conflicts met so far.
    pub(crate) conflicts: u64,
    /// Backtracks so far (a brancher's cached view of the trail is stale after one).
    pub(crate) backjumps: u64,
}

impl Sat {
    /// A new variable, unassigned.
    pub(crate) fn new_var(&mut self) -> Var {
        let v = self.value.len() as Var;
        self.value.push(UNASSIGNED);
        self.level.push(0);
        self.reason.push(NO_REASON);
        self.phase.push(false);
        self.seen.push(false);
        self.watches.push(Vec::new());
        self.watches.push(Vec::new());
        v
    }

    /// Number of variables.
    pub(crate) fn num_vars(&self) -> usize {
        self.value.len()
    }

    /// Set the saved phase of `v` (the value a brancher prefers for it).
    pub(crate) fn set_phase(&mut self, v: Var, value: bool) {
        self.phase[v as usize] = value;
    }

    /// The saved phase of `v`.
    pub(crate) fn phase(&self, v: Var) -> bool {
        self.phase[v as usize]
    }

    /// `Some(value)` of an assigned literal.
    pub(crate) fn lit_value(&self, l: Lit) -> Option<bool> {
        match self.value[l.var() as usize] {
            UNASSIGNED => None,
            v => Some((v > 0) != l.is_neg()),
        }
    }

    /// `Some(value)` of an assigned variable.
    pub(crate) fn var_value(&self, v: Var) -> Option<bool> {
        self.lit_value(Lit::pos(v))
    }

    /// The assignment trail, oldest first.
    pub(crate) fn trail(&self) -> &[Lit] {
        &self.trail
    }

    fn level_now(&self) -> u32 {
        self.trail_lim.len() as u32
    }

    fn enqueue(&mut self, l: Lit, reason: u32) {
        let v = l.var() as usize;
        self.value[v] = if l.is_neg() { -1 } else { 1 };
        self.level[v] = self.level_now();
        self.reason[v] = reason;
        self.trail.push(l);
    }

    /// Add a clause before solving (at level 0). Duplicate literals are merged, tautologies
    /// and satisfied clauses dropped, literals false at level 0 removed.
    pub(crate) fn add_clause(&mut self, lits: &[Lit]) {
        if self.unsat {
            return;
        }
        debug_assert_eq!(self.level_now(), 0);
        let mut c: Vec<Lit> = Vec::with_capacity(lits.len());
        for &l in lits {
            match self.lit_value(l) {
                Some(true) => return,
                Some(false) => continue,
                None => {}
            }
            if c.contains(&!l) {
                return;
            }
            if !c.contains(&l) {
                c.push(l);
            }
        }
        match c.len() {
            0 => self.unsat = true,
            1 => {
                self.enqueue(c[0], NO_REASON);
                if self.propagate().is_some() {
                    self.unsat = true;
                }
            }
            _ => {
                self.attach(c);
            }
        }
    }

    fn attach(&mut self, c: Vec<Lit>) -> u32 {
        let ci = self.clauses.len() as u32;
        self.watches[c[0].code()].push(ci);
        self.watches[c[1].code()].push(ci);
        self.clauses.push(c);
        ci
    }

    /// Propagate the queued assignments; returns a false clause on conflict.
    fn propagate(&mut self) -> Option<u32> {
        while self.qhead < self.trail.len() {
            let false_lit = !self.trail[self.qhead];
            self.qhead += 1;
            let mut ws = std::mem::take(&mut self.watches[false_lit.code()]);
            let (mut i, mut j) = (0, 0);
            let mut conflict = None;
            while i < ws.len() {
                let ci = ws[i];
                i += 1;
                let c = &mut self.clauses[ci as usize];
                if c[0] == false_lit {
                    c.swap(0, 1);
                }
                let first = c[0];
                let first_value = match self.value[first.var() as usize] {
                    UNASSIGNED => None,
                    v => Some((v > 0) != first.is_neg()),
                };
                if first_value == Some(true) {
                    ws[j] = ci;
                    j += 1;
                    continue;
                }
                let mut moved = false;
                for k in 2..c.len() {
                    let l = c[k];
                    let lv = self.value[l.var() as usize];
                    let is_false = lv != UNASSIGNED && (lv > 0) == l.is_neg();
                    if !is_false {
                        c.swap(1, k);
                        self.watches[l.code()].push(ci);
                        moved = true;
                        break;
                    }
                }
                if moved {
                    continue;
                }
                ws[j] = ci;
                j += 1;
                if first_value == Some(false) {
                    conflict = Some(ci);
                    while i < ws.len() {
                        ws[j] = ws[i];
                        j += 1;
                        i += 1;
                    }
                } else {
                    self.enqueue(first, ci);
                }
            }
            ws.truncate(j);
            self.watches[false_lit.code()] = ws;
            if conflict.is_some() {
                self.qhead = self.trail.len();
                return conflict;
            }
        }
        None
    }

    /// First-UIP analysis of a conflict at a level above 0: the learnt clause (asserting
    /// literal first, a literal of the backjump level second) and the backjump level.
    fn analyze(&mut self, conflict: u32) -> (Vec<Lit>, u32) {
        let now = self.level_now();
        let mut learnt: Vec<Lit> = vec![Lit(0)];
        let mut pending = 0usize;
        let mut idx = self.trail.len();
        let mut ci = conflict;
        let mut skip_first = false;
        let uip = loop {
            let clause = &self.clauses[ci as usize];
            for &q in &clause[usize::from(skip_first)..] {
                let v = q.var() as usize;
                if !self.seen[v] && self.level[v] > 0 {
                    self.seen[v] = true;
                    if self.level[v] == now {
                        pending += 1;
                    } else {
                        learnt.push(q);
                    }
                }
            }
            let p = loop {
                idx -= 1;
                let l = self.trail[idx];
                if self.seen[l.var() as usize] {
                    break l;
                }
            };
            self.seen[p.var() as usize] = false;
            pending -= 1;
            if pending == 0 {
                break p;
            }
            ci = self.reason[p.var() as usize];
            skip_first = true;
        };
        learnt[0] = !uip;
        for l in &learnt[1..] {
            self.seen[l.var() as usize] = false;
        }
        let mut back = 0;
        if learnt.len() > 1 {
            let mut best = 1;
            for k in 1..learnt.len() {
                if self.level[learnt[k].var() as usize] > self.level[learnt[best].var() as usize] {
                    best = k;
                }
            }
            learnt.swap(1, best);
            back = self.level[learnt[1].var() as usize];
        }
        (learnt, back)
    }

    fn backtrack(&mut self, level: u32) {
        if self.level_now() <= level {
            return;
        }
        self.backjumps += 1;
        let keep = self.trail_lim[level as usize];
        for &l in &self.trail[keep..] {
            let v = l.var() as usize;
            self.phase[v] = !l.is_neg();
            self.value[v] = UNASSIGNED;
            self.reason[v] = NO_REASON;
        }
        self.trail.truncate(keep);
        self.trail_lim.truncate(level as usize);
        self.qhead = keep;
    }

    /// Search for a model, asking `brancher` for every decision, giving up after
    /// `max_conflicts` conflicts.
    pub(crate) fn solve(&mut self, brancher: &mut dyn Brancher, max_conflicts: u64) -> Outcome {
        if self.unsat {
            return Outcome::Unsat;
        }
        let mut restart_at = 128u64;
        let mut since_restart = 0u64;
        loop {
            if let Some(conflict) = self.propagate() {
                self.conflicts += 1;
                since_restart += 1;
                if self.level_now() == 0 {
                    self.unsat = true;
                    return Outcome::Unsat;
                }
                if self.conflicts > max_conflicts {
                    return Outcome::Unknown;
                }
                let (learnt, back) = self.analyze(conflict);
                self.backtrack(back);
                if learnt.len() == 1 {
                    self.enqueue(learnt[0], NO_REASON);
                } else {
                    let asserting = learnt[0];
                    let ci = self.attach(learnt);
                    self.enqueue(asserting, ci);
                }
                if since_restart >= restart_at {
                    since_restart = 0;
                    restart_at += restart_at / 2;
                    self.backtrack(0);
                }
                continue;
            }
            match brancher.decide(self) {
                None => return Outcome::Sat,
                Some(l) => {
                    debug_assert!(
                        self.lit_value(l).is_none(),
                        "decision on an assigned literal"
                    );
                    self.trail_lim.push(self.trail.len());
                    self.enqueue(l, NO_REASON);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decide variables in index order, negative first.
    struct Naive;
    impl Brancher for Naive {
        fn decide(&mut self, sat: &Sat) -> Option<Lit> {
            (0..sat.num_vars() as Var)
                .find(|&v| sat.var_value(v).is_none())
                .map(Lit::neg)
        }
    }

    fn check(sat: &Sat, clauses: &[Vec<Lit>]) -> bool {
        clauses
            .iter()
            .all(|c| c.iter().any(|&l| sat.lit_value(l) == Some(true)))
    }

    #[test]
    fn pigeonhole_3_into_2_is_unsat() {
        let mut sat = Sat::default();
        // p[i][h]: pigeon i in hole h.
        let p: Vec<Vec<Var>> = (0..3)
            .map(|_| (0..2).map(|_| sat.new_var()).collect())
            .collect();
        for row in &p {
            sat.add_clause(&row.iter().map(|&v| Lit::pos(v)).collect::<Vec<_>>());
        }
        // No hole holds two pigeons.
        for i in 0..3 {
            for k in i + 1..3 {
                for (&x, &y) in p[i].iter().zip(&p[k]) {
                    sat.add_clause(&[Lit::neg(x), Lit::neg(y)]);
                }
            }
        }
        assert_eq!(sat.solve(&mut Naive, 1000), Outcome::Unsat);
    }

    #[test]
    fn chain_needs_backjump() {
        // x0 decided false first forces a long chain into a conflict; learning flips it.
        let mut sat = Sat::default();
        let v: Vec<Var> = (0..12).map(|_| sat.new_var()).collect();
        let mut clauses = vec![
            vec![Lit::pos(v[0]), Lit::pos(v[1])],
            vec![Lit::pos(v[0]), Lit::neg(v[1]), Lit::pos(v[2])],
            vec![Lit::pos(v[0]), Lit::neg(v[2])],
        ];
        for k in 3..11 {
            clauses.push(vec![Lit::neg(v[k]), Lit::pos(v[k + 1])]);
        }
        for c in &clauses {
            sat.add_clause(c);
        }
        assert_eq!(sat.solve(&mut Naive, 1000), Outcome::Sat);
        assert!(check(&sat, &clauses));
        assert_eq!(sat.var_value(v[0]), Some(true));
    }

    #[test]
    fn random_3sat_models_are_models() {
        // A tiny deterministic generator; every Sat answer is verified.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..200 {
            let n = 8 + round % 10;
            let m = n * 4;
            let mut sat = Sat::default();
            for _ in 0..n {
                sat.new_var();
            }
            let clauses: Vec<Vec<Lit>> = (0..m)
                .map(|_| {
                    (0..3)
                        .map(|_| {
                            let v = (next() % n as u64) as Var;
                            if next() % 2 == 0 {
                                Lit::pos(v)
                            } else {
                                Lit::neg(v)
                            }
                        })
                        .collect()
                })
                .collect();
            for c in &clauses {
                sat.add_clause(c);
            }
            let out = sat.solve(&mut Naive, 100_000);
            if out == Outcome::Sat {
                assert!(check(&sat, &clauses), "round {round}");
            }
            // Brute force agrees on satisfiability.
            let brute = (0..1u32 << n).any(|bits| {
                clauses
                    .iter()
                    .all(|c| c.iter().any(|l| ((bits >> l.var()) & 1 == 1) != l.is_neg()))
            });
            assert_eq!(brute, out == Outcome::Sat, "round {round}");
        }
    }
}
