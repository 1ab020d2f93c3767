//! A synthetic repository shaped like Alpine's: shared by the benchmarks and the demo example.

use apk_index::{Checksum, Dependency, Op, PackageInfo};

/// A small deterministic generator (xorshift), so runs are comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `count` packages: libraries providing `so:` names, programs depending on them, with
/// origins, maintainers, install_if on some, and realistic field lengths.
pub fn packages(count: usize, arch: &str, seed: u64) -> Vec<PackageInfo> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let lib = i % 3 == 0;
        let name = if lib {
            format!("lib{}-{}", word(&mut rng), i)
        } else {
            format!("{}-{}", word(&mut rng), i)
        };
        let version = format!(
            "{}.{}.{}-r{}",
            rng.below(10),
            rng.below(40),
            rng.below(20),
            rng.below(5)
        );
        let mut p = PackageInfo::new(name.clone(), version.clone());
        let mut digest = [0u8; 20];
        for b in digest.iter_mut() {
            *b = rng.next() as u8;
        }
        p.identity = Some(Checksum::sha1(digest));
        p.arch = Some(arch.to_owned());
        p.size = 1000 + rng.below(2_000_000);
        p.installed_size = 4096 * (1 + rng.below(500));
        p.description = format!("The {} {} for {}", word(&mut rng), word(&mut rng), name);
        p.url = format!("https://{}.example.org/", word(&mut rng));
        p.license = ["MIT", "GPL-2.0-or-later", "BSD-3-Clause", "Apache-2.0"]
            [rng.below(4) as usize]
            .to_owned();
        p.origin = Some(name.clone());
        p.maintainer = Some("Jane Doe <jane@example.org>".to_owned());
        p.build_time = 1_680_000_000 + rng.below(10_000_000);
        p.commit = Some(format!(
            "{:016x}{:016x}{:08x}",
            rng.next(),
            rng.next(),
            rng.next() as u32
        ));
        // Depend on up to 5 earlier libraries through their so: names, plus libc.
        let mut deps = vec!["so:libc.musl-x86_64.so.1".to_owned()];
        let libs_before = i / 3;
        for _ in 0..rng.below(5) {
            if libs_before > 0 {
                deps.push(format!("so:lib{}.so.1", rng.below(libs_before as u64) * 3));
            }
        }
        if rng.below(4) == 0 {
            deps.push(format!("busybox>={}.{}", rng.below(2), rng.below(37)));
        }
        p.depends = deps
            .iter()
            .filter_map(|d| d.parse::<Dependency>().ok())
            .collect();
        if lib {
            p.provides = vec![
                Dependency::new(
                    &format!("so:lib{i}.so.1"),
                    None,
                    Some((Op::EQUAL, "1.0.0")),
                    false,
                )
                .expect("valid provide"),
            ];
        } else if rng.below(3) == 0 {
            p.provides = vec![
                Dependency::new(
                    &format!("cmd:{}", name),
                    None,
                    Some((Op::EQUAL, &version)),
                    false,
                )
                .expect("valid provide"),
            ];
        }
        if rng.below(10) == 0 && i > 0 {
            p.install_if = vec![
                format!("docs-{}", rng.below(i as u64))
                    .parse()
                    .expect("valid"),
                "man-pages".parse().expect("valid"),
            ];
        }
        out.push(p);
    }
    out
}

fn word(rng: &mut Rng) -> &'static str {
    const WORDS: &[&str] = &[
        "alpha", "bravo", "cairo", "delta", "echo", "fox", "gtk", "hotel", "iso", "jpeg", "kilo",
        "lima", "musl", "nano", "oscar", "perl", "quartz", "romeo", "sierra", "tango", "utf",
        "vim", "wayland", "xml", "yaml", "zlib",
    ];
    WORDS[rng.below(WORDS.len() as u64) as usize]
}

/// The APKINDEX text of `packages`.
pub fn apkindex_text(packages: &[PackageInfo]) -> Vec<u8> {
    let mut text = Vec::new();
    for p in packages {
        p.write_index_record(&mut text).expect("write to Vec");
        text.push(b'\n');
    }
    text
}
