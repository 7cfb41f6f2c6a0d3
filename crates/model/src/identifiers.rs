//! RDS naming rules, and the names rds-refresh derives.
use sha2::{Digest, Sha256};

/// Prefix of every snapshot copy rds-refresh makes, so its own copies are recognisable.
pub const COPY_PREFIX: &str = "rds-refresh-";

/// Checks a DB instance identifier against RDS's rules; `Err` holds the rule broken.
pub fn check_instance_identifier(id: &str) -> Result<(), &'static str> {
    check_rds_name(id, 63)
}

/// The AWS regions rds-refresh knows (commercial, GovCloud, China), as of late 2026. A
/// region AWS opens later must be added here: a typo in a region name should fail the input
/// check, not end in an endpoint that does not resolve.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Checks that `region` is a known AWS region name such as `us-east-1`.
pub fn check_region(region: &str) -> Result<(), &'static str> {
    if KNOWN_REGIONS.contains(&region) { Ok(()) } else { Err("must be a known AWS region name such as us-east-1") }
}

/// The region and the resource part of `arn`, when it is an ARN of `service` in a known region
/// of a 12-digit account: `arn:<aws partition>:<service>:<region>:<account>:<resource>` (the
/// resource may hold more colons).
pub fn service_arn<'a>(arn: &'a str, service: &str) -> Option<(&'a str, &'a str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, arn_service, region, account, resource] = parts[..] else { return None };
    let valid = prefix == "arn"
        && partition.starts_with("aws")
        && arn_service == service
        && check_region(region).is_ok()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    valid.then_some((region, resource))
}

/// Shared rules of RDS instance and snapshot identifiers.
fn check_rds_name(id: &str, max_len: usize) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > max_len {
        return Err(if max_len == 63 { "must be 1 to 63 characters" } else { "must be 1 to 255 characters" });
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("may contain only ASCII letters, digits and hyphens");
    }
    if !id.as_bytes()[0].is_ascii_alphabetic() {
        return Err("must start with a letter");
    }
    if id.ends_with('-') || id.contains("--") {
        return Err("must not end with a hyphen or contain two consecutive hyphens");
    }
    Ok(())
}

/// The identifier of the copy of `source_snapshot_arn` made for `target` (`region/id`).
///
/// Deterministic, so a re-run finds and reuses the copy it made before. Readable (the source
/// snapshot's name, with `rds:` dropped and other characters turned into hyphens) and made
/// unique by a short hash of the full source ARN and the target: two source regions or
/// accounts may hold snapshots of the same name, and each target owns its copies (the
/// retention step of one target never deletes another's).
pub fn copy_identifier(source_snapshot_identifier: &str, source_snapshot_arn: &str, target: &str) -> String {
    let readable = source_snapshot_identifier.strip_prefix("rds:").unwrap_or(source_snapshot_identifier);
    let mut name = String::with_capacity(COPY_PREFIX.len() + readable.len() + 9);
    name.push_str(COPY_PREFIX);
    for c in readable.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    // Room for "-" and 8 hex digits within the 255-character limit.
    name.truncate(255 - 9);
    let name = name.trim_end_matches('-');
    format!("{name}-{}", short_hash(&format!("{source_snapshot_arn}\n{target}"), 4))
}

/// The names swap mode uses beside the target `y`: `(temporary, retired)`, i.e.
/// `<y>-rr-new-<hash>` for the new instance until it takes `y`'s name, and `<y>-rr-old-<hash>`
/// for the old `y` until it is deleted. The hash is of the snapshot being applied, so a
/// re-run for the same snapshot finds the instances an earlier attempt left.
pub fn swap_identifiers(target_identifier: &str, snapshot_arn: &str) -> (String, String) {
    let hash = short_hash(snapshot_arn, SWAP_HASH_BYTES);
    let base = swap_base(target_identifier);
    (format!("{base}{TEMPORARY_INFIX}{hash}"), format!("{base}{RETIRED_INFIX}{hash}"))
}

const SWAP_HASH_BYTES: usize = 3;
const TEMPORARY_INFIX: &str = "-rr-new-";
const RETIRED_INFIX: &str = "-rr-old-";

/// The part of swap mode's names that comes from the target: its identifier, cut to leave
/// room for "-rr-new-" and the hash within the 63-character limit.
fn swap_base(target_identifier: &str) -> String {
    let mut base = target_identifier.to_ascii_lowercase();
    base.truncate(63 - TEMPORARY_INFIX.len() - 2 * SWAP_HASH_BYTES);
    base.trim_end_matches('-').to_owned()
}

/// What an instance named `name` is to swap mode for the target `target_identifier`, if it
/// has one of the names swap mode gives (for any snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapRole {
    /// `<y>-rr-new-<hash>`: a new instance that had not taken the target's name.
    Temporary,
    /// `<y>-rr-old-<hash>`: an old target, renamed away.
    Retired,
}

/// Whether `name` is one of swap mode's names for `target_identifier` (of any snapshot).
pub fn swap_role(name: &str, target_identifier: &str) -> Option<SwapRole> {
    let rest = name.strip_prefix(&swap_base(target_identifier))?;
    let (role, hash) = if let Some(hash) = rest.strip_prefix(TEMPORARY_INFIX) {
        (SwapRole::Temporary, hash)
    } else {
        (SwapRole::Retired, rest.strip_prefix(RETIRED_INFIX)?)
    };
    let is_hash = hash.len() == 2 * SWAP_HASH_BYTES && hash.bytes().all(|b| b.is_ascii_hexdigit());
    is_hash.then_some(role)
}

/// `rds-refresh-final-<target>-<8 hex of the execution>`: the final snapshot delete-target
/// takes of `target_identifier`, one per execution, so a retried call names the same snapshot.
pub fn final_snapshot_identifier(target_identifier: &str, execution: &str) -> String {
    format!("rds-refresh-final-{}-{}", target_identifier.to_ascii_lowercase(), short_hash(execution, 4))
}

/// The first `bytes` bytes of the SHA-256 of `text`, as `2 * bytes` lower-case hex digits: the
/// suffix that makes a derived name unique yet the same every time it is derived (a copy, swap
/// mode's names, a final snapshot, the CLI's execution names).
pub fn short_hash(text: &str, bytes: usize) -> String {
    Sha256::digest(text.as_bytes()).iter().take(bytes).map(|b| format!("{b:02x}")).collect()
}

/// Checks a snapshot identifier that rds-refresh creates (1-255 characters).
pub fn check_snapshot_identifier(id: &str) -> Result<(), &'static str> {
    check_rds_name(id, 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_identifier_rules() {
        assert!(check_instance_identifier("y").is_ok());
        assert!(check_instance_identifier("staging-db-2").is_ok());
        assert_eq!(check_instance_identifier(""), Err("must be 1 to 63 characters"));
        assert_eq!(check_instance_identifier(&"a".repeat(64)), Err("must be 1 to 63 characters"));
        assert_eq!(check_instance_identifier("2db"), Err("must start with a letter"));
        assert_eq!(check_instance_identifier("db_1"), Err("may contain only ASCII letters, digits and hyphens"));
        assert!(check_instance_identifier("db-").is_err());
        assert!(check_instance_identifier("db--1").is_err());
    }

    #[test]
    fn region_rules() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us-east-x", "u-east-1", "us-east-9"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn copy_identifier_is_deterministic_valid_and_distinct_per_source() {
        let arn = "arn:aws:rds:us-east-1:123456789012:snapshot:rds:x-2026-11-23-05-10";
        let id = copy_identifier("rds:x-2026-11-23-05-10", arn, "us-west-2/y");
        assert!(id.starts_with("rds-refresh-x-2026-11-23-05-10-"), "{id}");
        assert_eq!(id, copy_identifier("rds:x-2026-11-23-05-10", arn, "us-west-2/y"));
        assert!(check_snapshot_identifier(&id).is_ok());
        let other_region = arn.replace("us-east-1", "eu-west-1");
        assert_ne!(id, copy_identifier("rds:x-2026-11-23-05-10", &other_region, "us-west-2/y"));
        assert_ne!(id, copy_identifier("rds:x-2026-11-23-05-10", arn, "us-west-2/z"));
    }

    #[test]
    fn swap_identifiers_are_valid_distinct_and_deterministic() {
        let (new, old) = swap_identifiers("Staging", "arn:aws:rds:us-east-1:1:snapshot:s1");
        assert!(new.starts_with("staging-rr-new-") && old.starts_with("staging-rr-old-"), "{new} {old}");
        assert_eq!((new.clone(), old.clone()), swap_identifiers("Staging", "arn:aws:rds:us-east-1:1:snapshot:s1"));
        assert_ne!(new, swap_identifiers("Staging", "arn:aws:rds:us-east-1:1:snapshot:s2").0);
        let long = format!("a{}", "-b".repeat(31));
        for id in [new, old, swap_identifiers(&long, "arn").0, swap_identifiers(&"z".repeat(63), "arn").1] {
            assert_eq!(check_instance_identifier(&id), Ok(()), "{id}");
        }
    }

    #[test]
    fn swap_names_of_any_snapshot_are_recognised_and_nothing_else() {
        let (new, old) = swap_identifiers("staging", "arn:aws:rds:us-east-1:1:snapshot:s1");
        assert_eq!(swap_role(&new, "staging"), Some(SwapRole::Temporary));
        assert_eq!(swap_role(&old, "staging"), Some(SwapRole::Retired));
        assert_eq!(swap_role("staging-rr-new-0a1b2c", "staging"), Some(SwapRole::Temporary));
        for other in [
            "staging",
            "staging-rr-new-xyz123",
            "staging-rr-new-0a1b2c3",
            "staging-2-rr-new-0a1b2c",
            "prod-rr-old-0a1b2c",
        ] {
            assert_eq!(swap_role(other, "staging"), None, "{other}");
        }
        let long = "z".repeat(63);
        let (new, _) = swap_identifiers(&long, "arn");
        assert_eq!(swap_role(&new, &long), Some(SwapRole::Temporary));
    }

    #[test]
    fn short_hashes_are_the_head_of_the_sha256() {
        // SHA-256("abc") = ba7816bf 8f01cfea ... (FIPS 180-2, appendix B.1).
        assert_eq!(short_hash("abc", 4), "ba7816bf");
        assert_eq!(short_hash("abc", 3), "ba7816");
    }

    #[test]
    fn the_final_snapshot_is_named_per_execution() {
        let first = final_snapshot_identifier("Staging-DB", "arn:aws:states:us-west-2:1:execution:m:a");
        assert!(first.starts_with("rds-refresh-final-staging-db-"), "{first}");
        assert_eq!(first, final_snapshot_identifier("Staging-DB", "arn:aws:states:us-west-2:1:execution:m:a"));
        assert_ne!(first, final_snapshot_identifier("Staging-DB", "arn:aws:states:us-west-2:1:execution:m:b"));
        assert_eq!(check_snapshot_identifier(&first), Ok(()));
    }

    #[test]
    fn copy_identifier_of_awkward_names_is_valid() {
        for source in ["rds:X__weird..name", "a-", &"z".repeat(300)] {
            let id = copy_identifier(source, "arn", "us-west-2/y");
            assert_eq!(check_snapshot_identifier(&id), Ok(()), "{id}");
        }
    }
}
