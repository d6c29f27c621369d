//! Path and naming helpers shared by inventory, plan and steps: OneFS path containment and
//! mapping, the mirror policy's name, and the Kerberos SPNs of a SmartConnect name.
//!
//! They are pure functions of their arguments, so every layer may use them without
//! depending on another.

/// Whether `path` is `base` or below it (path-component aware: `/ifs/a` is not under
/// `/ifs/ab`).
pub(crate) fn path_under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    if base.is_empty() {
        return path.starts_with('/');
    }
    path == base || (path.starts_with(base) && path.as_bytes().get(base.len()) == Some(&b'/'))
}

/// The two ranges, in the byte order of strings (`[lo, hi)` each), that hold exactly the
/// paths `p` with `path_under(p, base)`: with `b` the base without its trailing slashes,
/// `b` itself (nothing sorts between `b` and `b\0`) and the paths starting with `b/` (from
/// `b/` up to `b0`, `0` being the byte after `/`); for the root (`b` empty), every absolute
/// path (`/` up to `0`) and an empty second range. Path indexes (ordered sets, sorted
/// positions) answer "what lies under this tree" with these instead of a scan.
pub(crate) fn under_ranges(base: &str) -> [(String, String); 2] {
    let b = base.trim_end_matches('/');
    if b.is_empty() {
        return [("/".into(), "0".into()), (String::new(), String::new())];
    }
    [
        (b.into(), format!("{b}\0")),
        (format!("{b}/"), format!("{b}0")),
    ]
}

/// Positions `0..n` sorted by `key` (ties by position): an index for [`hits`].
pub(crate) fn order_by<'a>(n: usize, key: impl Fn(usize) -> &'a str) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    v.sort_by(|a, b| key(*a).cmp(key(*b)).then(a.cmp(b)));
    v
}

/// The positions in `order` (from [`order_by`] with the same `key`) whose key
/// `path_under` accepts under `base`, ascending: the order of a scan.
pub(crate) fn hits<'a>(order: &[usize], key: impl Fn(usize) -> &'a str, base: &str) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (lo, hi) in &under_ranges(base) {
        let start = order.partition_point(|i| key(*i) < lo.as_str());
        let end = order.partition_point(|i| key(*i) < hi.as_str());
        out.extend_from_slice(&order[start..end.max(start)]);
    }
    out.sort_unstable();
    out
}

/// A set of trees (base paths) that answers "is `path` under one of them?" with one
/// lookup per component of `path`, for callers that ask it of many paths against many
/// bases (the lock: every share of a zone against every policy's path).
///
/// `path_under(path, base)` holds when `base` without its trailing slashes is `path`
/// itself (not empty), or `path` cut just before one of its `/` (the empty cut, a root
/// base such as `/`, when `path` starts with `/`), so only those cuts are looked up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trees(std::collections::BTreeSet<String>);

impl Trees {
    /// The trees of `bases`.
    pub(crate) fn new<'a>(bases: impl IntoIterator<Item = &'a str>) -> Self {
        let mut t = Trees::default();
        for b in bases {
            t.insert(b);
        }
        t
    }

    pub(crate) fn insert(&mut self, base: &str) {
        self.0.insert(base.trim_end_matches('/').to_string());
    }

    /// Whether `path_under(path, base)` for some base of the set.
    pub(crate) fn covers(&self, path: &str) -> bool {
        (!path.is_empty() && self.0.contains(path))
            || path
                .bytes()
                .enumerate()
                .any(|(i, c)| c == b'/' && self.0.contains(&path[..i]))
    }
}

/// Map `path` under `from_root` to the same place under `to_root`.
pub(crate) fn map_path(path: &str, from_root: &str, to_root: &str) -> Option<String> {
    if !path_under(path, from_root) {
        return None;
    }
    let rest = &path[from_root.trim_end_matches('/').len()..];
    Some(format!("{}{}", to_root.trim_end_matches('/'), rest))
}

/// Name of the mirror policy resync-prep creates for `policy`. Failing back a mirror
/// resyncs onto the original policy, so `eng_mirror`'s mirror is `eng`.
pub(crate) fn mirror_name(policy: &str) -> String {
    match policy.strip_suffix("_mirror") {
        Some(orig) if !orig.is_empty() => orig.to_string(),
        _ => format!("{policy}_mirror"),
    }
}

/// `HOST/<short>` and `HOST/<fqdn>` for a SmartConnect name.
pub(crate) fn spns_for(name: &str) -> Vec<String> {
    let short = name.split('.').next().unwrap_or(name);
    let mut v = vec![format!("HOST/{short}")];
    if short != name {
        v.push(format!("HOST/{name}"));
    }
    v
}

/// `name` without `prefix` (a renamed name's original).
pub(crate) fn strip_prefix(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(path_under("/ifs/a/b", "/ifs/a"));
        assert!(path_under("/ifs/a", "/ifs/a/"));
        assert!(!path_under("/ifs/ab", "/ifs/a"));
        assert_eq!(
            map_path("/ifs/a/x/y", "/ifs/a", "/ifs/b").as_deref(),
            Some("/ifs/b/x/y")
        );
        assert_eq!(map_path("/ifs/c", "/ifs/a", "/ifs/b"), None);
        assert_eq!(mirror_name("eng"), "eng_mirror");
        assert_eq!(mirror_name("eng_mirror"), "eng");
    }

    #[test]
    fn spn_names() {
        assert_eq!(
            spns_for("fs.example.com"),
            ["HOST/fs", "HOST/fs.example.com"]
        );
        assert_eq!(spns_for("fs"), ["HOST/fs"]);
    }

    /// Paths from a small alphabet, for the proptests that hold path indexes to their scans
    /// (here, `config_repl`): equal and nested paths, `/ifs/a` beside `/ifs/ab`, trailing
    /// and doubled slashes, `-` and `.` (bytes sorting just before `/`), `0` (the byte
    /// after it), the root and the empty path all occur often.
    pub(crate) fn apath() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                Just("/"),
                Just("/ifs"),
                Just("/a"),
                Just("/ab"),
                Just("a"),
                Just("-"),
                Just("."),
                Just("0"),
                Just("//"),
            ],
            0..6,
        )
        .prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn trees_agree_with_the_scan(
            bases in proptest::collection::vec(apath(), 0..10),
            paths in proptest::collection::vec(apath(), 1..10),
        ) {
            let t = Trees::new(bases.iter().map(String::as_str));
            for p in &paths {
                proptest::prop_assert_eq!(
                    t.covers(p),
                    bases.iter().any(|b| path_under(p, b)),
                    "path {:?} bases {:?}", p, bases
                );
            }
        }
    }

    #[test]
    fn trees_by_component() {
        let t = Trees::new(["/ifs/a/", "/ifs/c"]);
        assert!(t.covers("/ifs/a"));
        assert!(t.covers("/ifs/a/b"));
        assert!(!t.covers("/ifs/ab"));
        assert!(!t.covers("/ifs"));
        assert!(Trees::new(["/"]).covers("/x"));
        assert!(!Trees::new(["/"]).covers(""));
    }
}
