//! Integration tests of apk-pkg: real packages from the corpus, hostile packages made by hand,
//! safe extraction and index building.

mod corpus;
mod extract;
mod hostile;
mod index;
mod util;
