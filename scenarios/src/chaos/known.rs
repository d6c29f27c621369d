//! Known issues: violation classes the campaign has found whose cause is an orchestrator,
//! simulator or checker bug already reported (not a generator or oracle bug). A failing seed
//! whose violations *all* match entries here is counted as `known`, listed separately, and
//! does not fail `drill campaign` unless `--strict` is given. Fixing the cause means deleting
//! the entry: the campaign then holds the fix to zero violations.

/// One known violation class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownIssue {
    pub id: &'static str,
    /// Check id the violation is reported under.
    pub check: &'static str,
    /// Every one of these substrings occurs in the message.
    pub patterns: &'static [&'static str],
    /// Where the bug is (file) and why the violation follows from it.
    pub cause: &'static str,
    /// Seeds that show it: `drill campaign --seeds N..N+1 --max-policies 12`.
    pub seeds: &'static [u64],
}

/// The list. Keep it short; every entry is a bug someone owns. Seeds are from
/// `drill campaign --seeds 0..3000 --max-policies 12` at the time the entry was written.
pub const KNOWN_ISSUES: &[KnownIssue] = &[
    // Empty: every class found so far is fixed (see the closing notes of the chaos work for
    // their causes). A new entry needs an owner and a cause.
];

/// The known issue a violation message matches, if any.
pub fn classify(check: &str, message: &str) -> Option<&'static KnownIssue> {
    KNOWN_ISSUES
        .iter()
        .find(|k| k.check == check && k.patterns.iter().all(|p| message.contains(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_issue_names_its_cause_and_seeds() {
        let mut ids = std::collections::BTreeSet::new();
        for k in KNOWN_ISSUES {
            assert!(ids.insert(k.id), "duplicate id {}", k.id);
            assert!(!k.cause.trim().is_empty(), "{}: no cause", k.id);
            assert!(!k.seeds.is_empty(), "{}: no seed", k.id);
            assert!(!k.patterns.is_empty(), "{}: no pattern", k.id);
        }
    }
}
