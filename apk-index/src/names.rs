//! Interned package names.
//!
//! An index mentions each name many times (as a package, in provides, in dependencies); storing
//! every mention as a small integer keeps records compact and makes name comparisons free.
//! Every distinct name is stored once, in a single growing arena.

use std::fmt;
use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;

/// A name's number in its [`NameTable`].
///
/// ```
/// use apk_index::NameTable;
/// let mut names = NameTable::new();
/// let id = names.intern("musl");
/// assert_eq!(names.get(id), "musl");
/// assert_eq!(names.lookup("musl"), Some(id));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameId(u32);

impl NameId {
    /// The id as an index, for side tables indexed by name.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// An id that names nothing, for records still being built.
    pub(crate) fn placeholder() -> NameId {
        NameId(u32::MAX)
    }
}

/// A set of distinct names, each with a [`NameId`].
#[derive(Clone, Default)]
pub struct NameTable {
    arena: String,
    spans: Vec<(u32, u32)>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl NameTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with room for about `names` names.
    pub fn with_capacity(names: usize) -> Self {
        NameTable {
            arena: String::with_capacity(names * 16),
            spans: Vec::with_capacity(names),
            table: HashTable::with_capacity(names),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Makes room for about `names` more names.
    ///
    /// ```
    /// use apk_index::NameTable;
    /// let mut names = NameTable::new();
    /// names.reserve(1000);
    /// assert!(names.is_empty());
    /// ```
    pub fn reserve(&mut self, names: usize) {
        self.arena.reserve(names * 16);
        self.spans.reserve(names);
        let rehash = rehash(&self.arena, &self.spans, &self.hasher);
        self.table.reserve(names, rehash);
    }

    /// The id of `name`, adding it if it is new.
    ///
    /// # Panics
    ///
    /// Panics if the arena would exceed 4 GiB of names (far beyond any real index).
    pub fn intern(&mut self, name: &str) -> NameId {
        let hash = self.hasher.hash_one(name);
        let NameTable {
            arena,
            spans,
            table,
            hasher,
        } = self;
        let found = table.find(hash, |&id| {
            let (start, len) = spans[id as usize];
            &arena[start as usize..(start + len) as usize] == name
        });
        if let Some(&id) = found {
            return NameId(id);
        }
        let id = u32::try_from(spans.len()).expect("fewer than 2^32 names");
        let start = u32::try_from(arena.len()).expect("name arena below 4 GiB");
        let len = u32::try_from(name.len()).expect("name below 4 GiB");
        arena.push_str(name);
        spans.push((start, len));
        table.insert_unique(hash, id, rehash(arena, spans, hasher));
        NameId(id)
    }

    /// The id of `name`, if it is in the table.
    pub fn lookup(&self, name: &str) -> Option<NameId> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&id| self.get(NameId(id)) == name)
            .map(|&id| NameId(id))
    }

    /// The name with this id.
    ///
    /// # Panics
    ///
    /// Panics if `id` comes from another table and is out of range.
    pub fn get(&self, id: NameId) -> &str {
        let (start, len) = self.spans[id.index()];
        &self.arena[start as usize..(start + len) as usize]
    }

    /// The name whose id has [`NameId::index`] `index`, if there is one: for users that keep
    /// ids as plain integers in their own tables.
    ///
    /// ```
    /// use apk_index::NameTable;
    /// let mut names = NameTable::new();
    /// let id = names.intern("musl");
    /// assert_eq!(names.get_index(id.index()), Some("musl"));
    /// assert_eq!(names.get_index(1), None);
    /// ```
    pub fn get_index(&self, index: usize) -> Option<&str> {
        let &(start, len) = self.spans.get(index)?;
        self.arena.get(start as usize..(start + len) as usize)
    }

    /// How many distinct names there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// All names with their ids, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (NameId, &str)> {
        (0..self.spans.len()).map(|i| {
            let id = NameId(i as u32);
            (id, self.get(id))
        })
    }
}

/// The hash of the name an id stands for, for the table to grow by.
fn rehash<'t>(
    arena: &'t str,
    spans: &'t [(u32, u32)],
    hasher: &'t DefaultHashBuilder,
) -> impl Fn(&u32) -> u64 + 't {
    move |&id| {
        let (start, len) = spans[id as usize];
        hasher.hash_one(&arena[start as usize..(start + len) as usize])
    }
}

impl fmt::Debug for NameTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameTable")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable() {
        let mut t = NameTable::new();
        let names: Vec<String> = (0..5000).map(|i| format!("name{i}")).collect();
        let ids: Vec<NameId> = names.iter().map(|n| t.intern(n)).collect();
        for (n, id) in names.iter().zip(&ids) {
            assert_eq!(t.intern(n), *id);
            assert_eq!(t.get(*id), n);
            assert_eq!(t.lookup(n), Some(*id));
        }
        assert_eq!(t.len(), 5000);
        assert_eq!(t.lookup("nope"), None);
    }
}
