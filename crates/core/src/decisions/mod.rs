//! Every safety decision of a refresh, as a pure function: plain data in (what a look-up
//! found, what the input allows), a decision out; no client, no I/O. The tasks make the calls
//! around them, and the dry run (`plan-refresh`) calls the same functions on the same
//! look-ups, so what it reports is what a refresh would decide. Each is unit-tested here,
//! without an emulator.
//!
//! | decision | function | used by |
//! |---|---|---|
//! | which snapshot is restored, and whether it may be | [`snapshot`] | find-snapshot, plan-refresh |
//! | may the target be acted on at all (opt-in, deletion protection) | [`guards`] | describe-target, delete-target, renames, leftovers, plan-refresh |
//! | where the new target's configuration comes from | [`configuration::decide`] | describe-target, plan-refresh |
//! | where the snapshot to restore from comes from | [`copy::plan`], [`copy::CopyPlan::origin`] | copy-snapshot, plan-refresh |
//! | what deleting the target does | [`deletion::decide`] | delete-target, plan-refresh |
//! | whether to restore, or go on with an earlier attempt's restore | [`restore::decide`] | restore-target |
//! | whether a rename may be made | [`renaming::decide`] | rename-target, recover-swap, repair-execution |
//! | what recover-swap undoes | [`recovery::decide`] | recover-swap |
//! | which copies are pruned | [`pruning::choose`], [`pruning::is_own_copy`] | prune-copies, plan-refresh |
//! | what earlier swaps left | [`leftovers::among`] | prune-copies, repair-execution, plan-refresh |
//! | who may hold the lock | [`lock::in_the_way`], [`lock::resolve`] | lock-target, the state table, plan-refresh, repair-execution |
//! | what repairs a stopped execution | [`repair::decide`] | repair-execution, plan-refresh |
//! | where y's master password comes from, whether a secret may be used, whether RDS applied it | [`credentials`] | check-secrets, set-credentials, wait-credentials, apply-roles, check-connections, plan-refresh |
pub mod configuration;
pub mod copy;
pub mod credentials;
pub mod deletion;
pub mod guards;
pub mod leftovers;
pub mod lock;
pub mod pruning;
pub mod recovery;
pub mod renaming;
pub mod repair;
pub mod restore;
pub mod snapshot;
