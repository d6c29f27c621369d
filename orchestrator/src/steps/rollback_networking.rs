//! Safety rule S3: a zone cut-over is all or nothing until data is writable. When a
//! networking step of a zone fails (zone modes run networking before any `allow_write`), the
//! executor adds these instances, in the reverse order of the networking chain, for each
//! networking step that succeeded or failed (a failed step may have half acted):
//!
//! | instance | undoes |
//! |---|---|
//! | `rollback_repoint_dns` | single delegation: the NS records point at the source again |
//! | `rollback_add_target_spns` | the moved names' SPNs come off the target's account |
//! | `rollback_move_smartconnect_to_target` | the moved names come off the target pool's aliases |
//! | `rollback_remove_source_spns` | the source's account gets the SPNs back |
//! | `rollback_rename_source_smartconnect` | the source pool gets its zone name and aliases back |
//!
//! The order matters for the same reasons as the forward chain's: the target lets go of a
//! name (and its SPNs) before the source takes it back, so no name is ever answered by two
//! clusters and no SPN is ever on two accounts. Each step reads first, so a rollback that
//! finds nothing to undo succeeds without acting.
//!
//! Each undo has its file (`rollback_<step>.rs`); the pool edits they share with the
//! forward steps are in `smartconnect.rs`.
