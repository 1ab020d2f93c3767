//! Property tests: parse ∘ write is the identity for versions, dependencies, index records and
//! installed-db records, and arbitrary input never panics.

use apk_index::{
    Acl, Checksum, ChecksumForm, Dependency, DependencyRef, Index, IndexOptions, InstalledDb,
    InstalledDbOptions, InstalledDir, InstalledFile, Op, PackageInfo, Rules, Version,
    parse_pkginfo, write_pkginfo,
};
use proptest::prelude::*;

fn version() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0u32..200, 1..4),
        prop::option::of("[a-z]"),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p",
                ]),
                prop::option::of(0u32..30),
            ),
            0..3,
        ),
        prop::option::of("[0-9a-f]{1,8}"),
        prop::option::of(0u32..20),
    )
        .prop_map(|(nums, letter, suffixes, hash, rev)| {
            let mut s = nums
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".");
            if let Some(l) = letter {
                s.push_str(&l);
            }
            for (name, n) in suffixes {
                s.push('_');
                s.push_str(name);
                if let Some(n) = n {
                    s.push_str(&n.to_string());
                }
            }
            if let Some(h) = hash {
                s.push('~');
                s.push_str(&h);
            }
            if let Some(r) = rev {
                s.push_str(&format!("-r{r}"));
            }
            s
        })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9._+-]{0,12}",
        "(so|cmd|pc|py3\\.12):[a-zA-Z0-9._+-]{1,12}",
        "/bin/[a-z]{1,5}",
    ]
}

fn checksum() -> impl Strategy<Value = Checksum> {
    prop::array::uniform20(any::<u8>()).prop_map(Checksum::sha1)
}

fn dependency() -> impl Strategy<Value = Dependency> {
    (
        any::<bool>(),
        name(),
        prop::option::of("[a-z]{1,6}"),
        prop::option::of((
            prop::sample::select(vec![
                Op::EQUAL,
                Op::LESS,
                Op::GREATER,
                Op::LESS_EQUAL,
                Op::GREATER_EQUAL,
                Op::FUZZY,
                Op::LESS_FUZZY,
                Op::GREATER_FUZZY,
                Op::CHECKSUM,
            ]),
            version(),
            checksum(),
        )),
    )
        .prop_map(|(conflict, name, tag, c)| {
            let c = c.map(|(op, v, sum)| {
                if op == Op::CHECKSUM {
                    (op, sum.to_string())
                } else {
                    (op, v)
                }
            });
            Dependency::new(
                &name,
                tag.as_deref(),
                c.as_ref().map(|(op, v)| (*op, v.as_str())),
                conflict,
            )
            .expect("generated dependencies are valid")
        })
}

fn text() -> impl Strategy<Value = String> {
    "[ -~äöü]{0,30}".prop_map(|s| s.trim_end().to_owned())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[!-~][ -~]{0,20}")
}

fn package() -> impl Strategy<Value = PackageInfo> {
    (
        (
            prop::option::of(checksum()),
            name(),
            version(),
            opt_text(),
            any::<u32>(),
            any::<u32>(),
            text(),
            text(),
            text(),
        ),
        (
            opt_text(),
            opt_text(),
            any::<u32>(),
            opt_text(),
            0u32..1000,
            prop::collection::vec(dependency(), 0..5),
            prop::collection::vec(dependency(), 0..3),
            prop::collection::vec(dependency(), 0..2),
        ),
    )
        .prop_map(
            |(
                (identity, name, version, arch, size, isize, description, url, license),
                (origin, maintainer, build_time, commit, prio, depends, provides, install_if),
            )| PackageInfo {
                identity,
                name,
                version,
                arch,
                size: u64::from(size),
                installed_size: u64::from(isize),
                description,
                url,
                license,
                origin,
                maintainer,
                build_time: u64::from(build_time),
                commit,
                provider_priority: prio,
                depends,
                provides,
                install_if,
                ..PackageInfo::default()
            },
        )
}

fn acl() -> impl Strategy<Value = Acl> {
    (
        0u32..70000,
        0u32..70000,
        0u32..0o7777,
        prop::option::of(checksum()),
    )
        .prop_map(|(uid, gid, mode, xattr_checksum)| Acl {
            uid,
            gid,
            mode,
            xattr_checksum,
        })
}

fn installed_package() -> impl Strategy<Value = PackageInfo> {
    (
        package(),
        prop::collection::vec(dependency(), 0..3),
        0u32..5,
        prop::option::of("[a-z]{1,5}"),
        prop::option::of(prop::sample::select(vec!["S", "f", "fsx"])),
        prop::collection::vec(
            (
                "[a-z0-9/]{0,20}",
                prop::option::of(acl()),
                prop::collection::vec(
                    (
                        "[a-zA-Z0-9._ -]{1,12}",
                        prop::option::of(acl()),
                        prop::option::of(checksum()),
                    ),
                    0..4,
                ),
            ),
            0..4,
        ),
    )
        .prop_map(|(mut p, replaces, q, tag, flags, dirs)| {
            p.replaces = replaces;
            p.replaces_priority = q;
            p.repository_tag = tag;
            p.flags = flags.map(str::to_owned);
            p.dirs = dirs
                .into_iter()
                .map(|(path, acl, files)| InstalledDir {
                    path,
                    acl,
                    files: files
                        .into_iter()
                        .map(|(name, acl, checksum)| InstalledFile {
                            name,
                            acl,
                            checksum,
                        })
                        .collect(),
                })
                .collect();
            p
        })
}

proptest! {
    #[test]
    fn version_round_trips(v in version()) {
        let parsed = Version::parse(&v).expect("generated versions are valid");
        prop_assert_eq!(parsed.to_string(), v.clone());
        // v2 knows no `~hash`; everything else v3 accepts, v2 accepts too.
        if !v.contains('~') {
            prop_assert!(Version::parse_with(&v, Rules::V2).is_ok());
        }
    }

    #[test]
    fn dependency_round_trips(d in dependency()) {
        let text = d.to_string();
        let back = Dependency::parse(&text, Rules::V3).expect("reparse");
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(back, d);
    }

    #[test]
    fn arbitrary_dependency_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(d) = DependencyRef::parse(&bytes, Rules::V3) {
            let text = d.to_string();
            let again = DependencyRef::parse(text.as_bytes(), Rules::V3).expect("accepted text reparses");
            prop_assert_eq!(again.to_string(), text);
        }
        let _ = DependencyRef::parse(&bytes, Rules::V2);
    }

    #[test]
    fn index_record_round_trips(pkgs in prop::collection::vec(package(), 1..6)) {
        let mut text = Vec::new();
        for p in &pkgs {
            p.write_index_record(&mut text).unwrap();
            text.push(b'\n');
        }
        let index = Index::from_text(text.clone(), &IndexOptions::default());
        prop_assert_eq!(index.len(), pkgs.len());
        for (i, p) in pkgs.iter().enumerate() {
            prop_assert_eq!(&index.package(i).to_owned(), p);
        }
        let mut again = Vec::new();
        index.write_text(&mut again).unwrap();
        prop_assert_eq!(again, text);
    }

    #[test]
    fn installed_record_round_trips(pkgs in prop::collection::vec(installed_package(), 0..4)) {
        let db = InstalledDb { packages: pkgs };
        let mut text = Vec::new();
        db.write_to(&mut text).unwrap();
        let back = InstalledDb::from_bytes(&text, &InstalledDbOptions::default()).expect("reparse");
        prop_assert_eq!(back, db);
    }

    #[test]
    fn pkginfo_round_trips(mut p in package()) {
        p.identity = None;
        p.size = 0;
        let mut text = Vec::new();
        write_pkginfo(&p, &mut text).unwrap();
        let back = parse_pkginfo(&text, Rules::V3).expect("reparse");
        prop_assert_eq!(back, p);
    }

    #[test]
    fn arbitrary_index_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let index = Index::from_text(bytes, &IndexOptions::default());
        let mut out = Vec::new();
        index.write_text(&mut out).unwrap();
        for p in index.packages() {
            let _ = p.to_owned();
        }
    }

    #[test]
    fn arbitrary_installed_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = InstalledDb::from_bytes(&bytes, &InstalledDbOptions::default());
    }
}

#[test]
fn checksum_forms() {
    let c = Checksum::from_digest(&[9u8; 32], ChecksumForm::Q2).unwrap();
    assert_eq!(c.to_string().parse::<Checksum>().unwrap(), c);
}
