//! The core's integration tests, in one test binary (one link of the AWS SDK instead of one
//! per file).
//!
//! Those that need the local emulator (moto, `.local/venv`, installed by scripts/setup) and
//! the built Lambda binary are `#[ignore]`d with the reason: a plain `cargo test` runs the
//! rest on a fresh clone and lists those as ignored; `scripts/test` runs them all
//! (`-- --include-ignored`).
mod aws_rules;
mod credentials;
mod definition;
mod end_to_end;
mod faithful_refresh;
mod handlers;
mod mocked;
mod mocked_credentials;
mod permissions;
mod permissions_by_arn;
mod safety;
mod schemas;
mod scrub;
mod stopped;
mod swap;
mod template;
