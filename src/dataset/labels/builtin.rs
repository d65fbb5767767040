//! The rule sets shipped with flowq (`labels/*.toml` in the repository),
//! compiled into the binary so `--labels cic-ids2017` works from any directory.

/// Name → TOML text, in the order `flowq` lists them.
const SETS: &[(&str, &str)] = &[
    (
        "cic-ids2017",
        include_str!("../../../labels/cic-ids2017.toml"),
    ),
    (
        "cic-ids2017-wtmc2021",
        include_str!("../../../labels/cic-ids2017-wtmc2021.toml"),
    ),
    (
        "cse-cic-ids2018",
        include_str!("../../../labels/cse-cic-ids2018.toml"),
    ),
];

/// The text of the built-in set `name`.
pub fn text(name: &str) -> Option<&'static str> {
    SETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The names of the built-in sets.
pub fn names() -> Vec<&'static str> {
    SETS.iter().map(|(n, _)| *n).collect()
}
