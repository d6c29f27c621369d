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
    pub cause: &'static str,
}

/// The list. Keep it short; every entry is a bug someone owns.
pub const KNOWN_ISSUES: &[KnownIssue] = &[
    KnownIssue {
        id: "abandoned-job-window",
        check: "I1",
        patterns: &["sync.job.finish", "lies outside the step's window"],
        cause:
            "orchestrator steps/job.rs: a step that gives up on a running SyncIQ job (poll error, \
                timeout, no report yet) fails without cancelling the job; the job later ends under \
                the step's name, after the step's window",
    },
    KnownIssue {
        id: "abandoned-job-truth",
        check: "I3",
        patterns: &["reported failed but its job finished successfully"],
        cause:
            "same cause as abandoned-job-window; or (checker) a step that lost contact with the \
                cluster after its job finished cannot know, so `failed` is the honest status",
    },
];

/// The known issue a violation message matches, if any.
pub fn classify(check: &str, message: &str) -> Option<&'static KnownIssue> {
    KNOWN_ISSUES
        .iter()
        .find(|k| k.check == check && k.patterns.iter().all(|p| message.contains(p)))
}
