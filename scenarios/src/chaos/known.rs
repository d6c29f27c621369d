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
    KnownIssue {
        id: "resync-prep-read-after-job",
        check: "I3",
        patterns: &[
            "resync_prep[",
            "reported failed but its job finished successfully",
        ],
        cause: "orchestrator steps (resync_prep): the resync-prep job finished, then the step's \
                follow-up read of `<policy>_mirror` on the target got an injected 409 (not \
                retried); the step reports `failed`, `acted: false` and not `indeterminate`",
        seeds: &[1052, 1827, 2198, 2806],
    },
    KnownIssue {
        id: "spn-lost-update-concurrent-zones",
        check: "no_fault_success",
        patterns: &["add_target_spns[zone", "held by another machine account"],
        cause: "orchestrator steps/spns.rs: SyncIQ mode with automatic networking over several \
                zones runs the zones' remove_source_spns concurrently; one read-modify-writes \
                the source account's SPN list and puts back the other zone's SPNs, so that \
                zone's add_target_spns refuses them (no faults needed)",
        seeds: &[1106, 1384, 1664, 1732, 1771, 2816],
    },
    KnownIssue {
        id: "clients-ignore-protocols-off",
        check: "I5",
        patterns: &["wrote /ifs/", "was already writable"],
        cause: "harness scenarios/src/clients.rs: simulated SMB/NFS clients keep writing to a \
                cluster whose SMB/NFS services `disable_protocols` turned off, while I5 counts \
                those clients as protected (every I5 seed has disable_protocols: true)",
        seeds: &[66, 86, 129, 160, 209, 295, 357, 420, 533, 1311, 1697, 2095],
    },
    KnownIssue {
        id: "manual-networking-names-stay",
        check: "I7",
        patterns: &["cannot reach its data on", "SyncIQ target directory"],
        cause: "harness scenarios/src/runner.rs + I7: SyncIQ mode with `networking: manual`; the \
                simulated operator confirms the 14-18 checklist without doing it, so client \
                names still point at the (now read-only) source, and I7 judges them anyway",
        seeds: &[89, 235, 252, 530, 732, 829, 1328, 1334],
    },
    KnownIssue {
        id: "manual-networking-names-stay-locked",
        check: "I7",
        patterns: &[
            "cannot reach its data on",
            "access denied on",
            "(Deny Everyone)",
        ],
        cause: "same as manual-networking-names-stay, with data_integrity on: the unmoved name \
                reaches the locked source share",
        seeds: &[370, 846, 2144, 2318, 2430, 2945],
    },
    KnownIssue {
        id: "i4-counts-writes-after-lock-rollback",
        check: "I4",
        patterns: &[
            "had a write acknowledged on",
            "after the data-integrity lock",
        ],
        cause: "checker scenarios/src/invariants.rs (I4): a gate failed (validation, \
                block_on_warning or the zone gate), rollback_lock lifted the lock as designed, \
                and I4 still counts the source writes after the lift",
        seeds: &[291, 1288, 1812, 2353, 2676, 2867],
    },
    KnownIssue {
        id: "i8-after-failed-config-sync",
        check: "I8",
        patterns: &["of p", "is missing on"],
        cause: "checker scenarios/src/invariants.rs (I8): sync_config of the policy failed (an \
                injected fault) and the report says so; I8 still demands parity for the path",
        seeds: &[435, 697, 863, 1082, 1090, 1458, 2224, 2681],
    },
    KnownIssue {
        id: "i7-ad-still-unreachable",
        check: "I7",
        patterns: &[
            "cannot reach its data on",
            "Kerberos: domain",
            "is unreachable",
        ],
        cause: "checker (I7): an injected `ad_unreachable` is still in force when the run ends \
                (no fault heals AD), so Kerberos fails for every SMB client; not the run's doing",
        seeds: &[153, 1942],
    },
    KnownIssue {
        id: "i7-planted-spn-collision",
        check: "I7",
        patterns: &[
            "cannot reach its data on",
            "Kerberos: SPN",
            "is on more than one account",
        ],
        cause: "checker (I7): an `spn_collision` fault planted the client's SPN on the target \
                account before the run; I6 no longer blames the run for it, I7 still does",
        seeds: &[2912],
    },
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
