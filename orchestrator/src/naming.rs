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
mod tests {
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
}
