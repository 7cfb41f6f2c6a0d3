//! Roles, and the pure decisions about them.

use std::collections::BTreeSet;

/// A role of the server, as `pg_roles` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub can_login: bool,
}

/// The roles that `otherLogins: disable` takes LOGIN from: every role that can log in, but
/// the master user, RDS's own roles (`rds*`: `rdsadmin`, `rdsrepladmin`, ...), which RDS needs
/// to manage the instance, and the roles given their own passwords.
pub fn logins_to_disable(roles: &[Role], master: &str, kept: &BTreeSet<String>) -> Vec<String> {
    roles
        .iter()
        .filter(|role| {
            role.can_login && role.name != master && !role.name.starts_with("rds") && !kept.contains(&role.name)
        })
        .map(|role| role.name.clone())
        .collect()
}

/// `name` as an SQL identifier: in double quotes, inner ones doubled (PostgreSQL's
/// quote_ident), so any role name is taken literally.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as an SQL string literal: in single quotes, inner ones doubled; with
/// standard_conforming_strings on (the default since PostgreSQL 9.1) backslashes are literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, can_login: bool) -> Role {
        Role { name: name.into(), can_login }
    }

    #[test]
    fn only_other_login_roles_are_disabled() {
        let roles = [
            role("app_user", true),
            role("postgres", true),
            role("rdsadmin", true),
            role("rds_superuser", false),
            role("reporting", true),
            role("readers", false),
            role("pg_monitor", false),
        ];
        let kept = BTreeSet::from(["app_user".to_owned()]);
        assert_eq!(logins_to_disable(&roles, "postgres", &kept), vec!["reporting".to_owned()]);
        assert_eq!(logins_to_disable(&roles, "postgres", &BTreeSet::new()), vec!["app_user", "reporting"]);
    }

    #[test]
    fn names_and_literals_are_quoted_whatever_they_hold() {
        assert_eq!(quote_identifier("app_user"), "\"app_user\"");
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
