//! A PostgreSQL script, split into its top-level statements the way psql splits its input
//! (src/bin/psql/psqlscan.l): on `;`, but not inside a string, a quoted identifier, a dollar
//! quote, a comment, parentheses, or the `BEGIN ... END` of an SQL-standard function body
//! (`CREATE FUNCTION ... BEGIN ATOMIC ... END`). Pure: nothing is sent anywhere.
//!
//! What psql does that this does not: its backslash meta-commands (`\set`, `\i`, `\copy`,
//! `:variables`) are psql's, not the server's; a script holding them fails on the server.
//! Two more things: a UTF-8 byte order mark at the very start of the script is skipped (an
//! editor's mark, which the server would take for the first statement's first character), and
//! backslashes in plain `'...'` strings are literal (`standard_conforming_strings = on`, the
//! default since PostgreSQL 9.1 and RDS's).

/// One statement of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement without its `;`, from its first token to its last (comments before and
    /// after it, and whitespace, left out; comments inside it kept).
    pub text: &'a str,
    /// Its place among the script's statements, from 1 (empty statements are not counted).
    pub number: usize,
    /// The line of the script its text starts on, from 1.
    pub line: usize,
}

/// The top-level statements of `script`, in order. Statements that hold nothing but
/// whitespace and comments are left out. An unterminated string, quoted identifier, dollar
/// quote or block comment runs to the end of the script: the rest is one statement, which the
/// server will refuse with its own message.
pub fn statements(script: &str) -> Vec<Statement<'_>> {
    Splitter::new(script).split()
}

const BYTE_ORDER_MARK: &str = "\u{feff}";

/// psql's whitespace (the server's too): not every Unicode space.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The first character of an identifier or key word. Every byte of a non-ASCII UTF-8
/// character is 0x80 or above, as psql's lexer (which works on bytes) sees them.
fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

/// The other characters of a dollar quote's tag.
fn is_tag_char(byte: u8) -> bool {
    is_identifier_start(byte) || byte.is_ascii_digit()
}

/// The other characters of an identifier: a `$` too (`a$b` is one identifier, not the start
/// of a dollar quote).
fn is_identifier_char(byte: u8) -> bool {
    is_tag_char(byte) || byte == b'$'
}

struct Splitter<'a> {
    script: &'a str,
    bytes: &'a [u8],
    position: usize,
    /// Line counting: the line of `counted_to`, which only moves forward.
    counted_to: usize,
    line: usize,
    kept: Vec<Statement<'a>>,
    current: Current,
}

/// What is known of the statement being read.
#[derive(Default)]
struct Current {
    /// Where its first and after its last token (not whitespace or a comment) are.
    first: Option<usize>,
    end: usize,
    parentheses: usize,
    /// Inside `CREATE [OR REPLACE] {FUNCTION|PROCEDURE}`: the depth of `BEGIN` (and `CASE`
    /// within it) not yet closed by `END`, psql's heuristic for SQL-standard function bodies.
    begins: usize,
    /// psql's record of the statement's first key words: the initial of each of the first four
    /// that is `create`, `or`, `replace`, `function` or `procedure`, else 0.
    initials: [u8; 4],
    words: usize,
}

impl Current {
    fn defines_a_routine(&self) -> bool {
        let [first, second, third, fourth] = self.initials;
        first == b'c'
            && (matches!(second, b'f' | b'p') || (second == b'o' && third == b'r' && matches!(fourth, b'f' | b'p')))
    }
}

impl<'a> Splitter<'a> {
    fn new(script: &'a str) -> Splitter<'a> {
        let start = if script.starts_with(BYTE_ORDER_MARK) { BYTE_ORDER_MARK.len() } else { 0 };
        Splitter {
            script,
            bytes: script.as_bytes(),
            position: start,
            counted_to: 0,
            line: 1,
            kept: Vec::new(),
            current: Current::default(),
        }
    }

    fn split(mut self) -> Vec<Statement<'a>> {
        while let Some(&byte) = self.bytes.get(self.position) {
            let start = self.position;
            match byte {
                _ if is_space(byte) => self.position += 1,
                b'-' if self.next_is(b'-') => self.line_comment(),
                b'/' if self.next_is(b'*') => {
                    if !self.block_comment() {
                        // Unterminated: the server is to say so, so it is part of a statement.
                        self.token(start);
                    }
                }
                b';' => {
                    self.position += 1;
                    if self.current.parentheses == 0 && self.current.begins == 0 {
                        self.finish();
                    } else {
                        self.token(start);
                    }
                }
                b'\'' => {
                    self.quoted(b'\'', false);
                    self.token(start);
                }
                b'"' => {
                    self.quoted(b'"', false);
                    self.token(start);
                }
                b'$' => {
                    self.dollar();
                    self.token(start);
                }
                b'(' => {
                    self.position += 1;
                    self.current.parentheses += 1;
                    self.token(start);
                }
                b')' => {
                    self.position += 1;
                    self.current.parentheses = self.current.parentheses.saturating_sub(1);
                    self.token(start);
                }
                _ if is_identifier_start(byte) => {
                    self.word();
                    self.token(start);
                }
                _ => {
                    // Any other character (operators, digits, punctuation) is a token of its
                    // own here: only where tokens start and end matters.
                    self.position += 1;
                    self.token(start);
                }
            }
        }
        self.finish();
        self.kept
    }

    fn next_is(&self, byte: u8) -> bool {
        self.bytes.get(self.position + 1) == Some(&byte)
    }

    /// The bytes from `start` to the current position were a token of the current statement.
    fn token(&mut self, start: usize) {
        self.current.first.get_or_insert(start);
        self.current.end = self.position;
    }

    /// Ends the current statement, keeping it if it has a token.
    fn finish(&mut self) {
        let current = std::mem::take(&mut self.current);
        if let Some(first) = current.first {
            let line = self.line_of(first);
            self.kept.push(Statement { text: &self.script[first..current.end], number: self.kept.len() + 1, line });
        }
    }

    fn line_of(&mut self, offset: usize) -> usize {
        self.line += self.bytes[self.counted_to..offset].iter().filter(|&&byte| byte == b'\n').count();
        self.counted_to = offset;
        self.line
    }

    /// `--` to the end of the line.
    fn line_comment(&mut self) {
        self.position = match self.bytes[self.position..].iter().position(|&byte| byte == b'\n') {
            Some(newline) => self.position + newline + 1,
            None => self.bytes.len(),
        };
    }

    /// `/* ... */`, nested as PostgreSQL nests them; false if it does not end.
    fn block_comment(&mut self) -> bool {
        self.position += 2;
        let mut depth = 1;
        while self.position < self.bytes.len() {
            match (self.bytes[self.position], self.bytes.get(self.position + 1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.position += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.position += 2;
                    if depth == 0 {
                        return true;
                    }
                }
                _ => self.position += 1,
            }
        }
        false
    }

    /// A string or quoted identifier from its opening `quote`, a doubled quote standing for
    /// one; with `backslashes` (an `E'...'` string), a backslash escapes the next character.
    fn quoted(&mut self, quote: u8, backslashes: bool) {
        self.position += 1;
        while let Some(&byte) = self.bytes.get(self.position) {
            if backslashes && byte == b'\\' {
                self.position += 2;
            } else if byte == quote {
                self.position += 1;
                if self.bytes.get(self.position) != Some(&quote) {
                    return;
                }
                self.position += 1;
            } else {
                self.position += 1;
            }
        }
        self.position = self.bytes.len();
    }

    /// At a `$`: a parameter (`$1`), a dollar quote (`$$...$$`, `$tag$...$tag$`) or just the
    /// character.
    fn dollar(&mut self) {
        let rest = &self.bytes[self.position + 1..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
            self.position += 1 + digits;
            return;
        }
        let tag = match rest.first() {
            Some(&byte) if is_identifier_start(byte) => rest.iter().take_while(|&&byte| is_tag_char(byte)).count(),
            _ => 0,
        };
        if rest.get(tag) != Some(&b'$') {
            // Not a dollar quote: `$` and the word after it, as psql reads them.
            self.position += 1 + tag;
            return;
        }
        let delimiter = &self.bytes[self.position..self.position + tag + 2];
        let body = self.position + delimiter.len();
        self.position = match find(&self.bytes[body..], delimiter) {
            Some(at) => body + at + delimiter.len(),
            None => self.bytes.len(),
        };
    }

    /// An identifier or key word; `E'...'` (or `e'...'`) starts a string with backslash
    /// escapes. psql's heuristics for function bodies are kept here.
    fn word(&mut self) {
        let start = self.position;
        let length = self.bytes[start..].iter().take_while(|&&byte| is_identifier_char(byte)).count();
        self.position += length;
        let word = &self.bytes[start..self.position];
        if word.eq_ignore_ascii_case(b"e") && self.bytes.get(self.position) == Some(&b'\'') {
            self.quoted(b'\'', true);
            return;
        }
        let current = &mut self.current;
        if current.words < current.initials.len() {
            let routine = [&b"create"[..], b"or", b"replace", b"function", b"procedure"];
            if routine.iter().any(|keyword| word.eq_ignore_ascii_case(keyword)) {
                current.initials[current.words] = word[0].to_ascii_lowercase();
            }
        }
        current.words += 1;
        if current.defines_a_routine() && current.parentheses == 0 {
            if word.eq_ignore_ascii_case(b"begin") {
                current.begins += 1;
            } else if word.eq_ignore_ascii_case(b"case") {
                // CASE ends with END too; it only counts inside a BEGIN.
                if current.begins > 0 {
                    current.begins += 1;
                }
            } else if word.eq_ignore_ascii_case(b"end") {
                current.begins = current.begins.saturating_sub(1);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts only.
    fn texts(script: &str) -> Vec<&str> {
        statements(script).into_iter().map(|statement| statement.text).collect()
    }

    #[test]
    fn splits_on_semicolons_and_keeps_a_last_statement_without_one() {
        assert_eq!(
            statements("SELECT 1;\nUPDATE t SET a = 2;\n  DELETE FROM t"),
            vec![
                Statement { text: "SELECT 1", number: 1, line: 1 },
                Statement { text: "UPDATE t SET a = 2", number: 2, line: 2 },
                Statement { text: "DELETE FROM t", number: 3, line: 3 },
            ]
        );
    }

    #[test]
    fn empty_statements_and_comments_alone_are_dropped_and_not_numbered() {
        let script = "-- masking\n;;\n/* nothing */ ;\n\nSELECT 1;  ;\n-- the end\n/* really */\n";
        assert_eq!(statements(script), vec![Statement { text: "SELECT 1", number: 1, line: 5 }]);
        assert_eq!(statements(""), vec![]);
        assert_eq!(statements("  \n\t ; ; "), vec![]);
    }

    #[test]
    fn a_statement_starts_at_its_first_token_after_any_comment() {
        let script = "SELECT 1;\n-- mask the e-mails; all of them\n/* a note; with 'quotes' and \"these\" */\nUPDATE users SET email = 'x' -- trailing; comment\n;";
        assert_eq!(
            statements(script),
            vec![
                Statement { text: "SELECT 1", number: 1, line: 1 },
                Statement { text: "UPDATE users SET email = 'x'", number: 2, line: 4 },
            ]
        );
    }

    #[test]
    fn comments_inside_a_statement_are_kept() {
        assert_eq!(texts("SELECT /* ; */ 1 -- ;\n + 2;"), vec!["SELECT /* ; */ 1 -- ;\n + 2"]);
    }

    #[test]
    fn block_comments_nest() {
        assert_eq!(texts("/* outer /* inner; */ still a comment; */ SELECT 1; SELECT 2"), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn strings_with_doubled_quotes_hold_semicolons() {
        assert_eq!(
            texts("UPDATE t SET a = 'it''s; fine';SELECT ';'"),
            vec!["UPDATE t SET a = 'it''s; fine'", "SELECT ';'"]
        );
        // A backslash is literal in a plain string: the quote after it ends the string.
        assert_eq!(texts(r"SELECT 'C:\'; SELECT 2"), vec![r"SELECT 'C:\'", "SELECT 2"]);
    }

    #[test]
    fn escape_strings_take_backslash_escapes() {
        assert_eq!(texts(r"SELECT E'it\'s; \\'; SELECT 2"), vec![r"SELECT E'it\'s; \\'", "SELECT 2"]);
        assert_eq!(texts(r"SELECT e'a''b;\n'; SELECT 2"), vec![r"SELECT e'a''b;\n'", "SELECT 2"]);
        // An identifier ending in e is not an E prefix: its string is a plain one.
        assert_eq!(texts(r"SELECT some'\'; SELECT 2"), vec![r"SELECT some'\'", "SELECT 2"]);
        // U&'...' strings are plain ones for their quotes (their escape is not for quotes).
        assert_eq!(texts(r"SELECT U&'d\0061t;\'; SELECT 2"), vec![r"SELECT U&'d\0061t;\'", "SELECT 2"]);
    }

    #[test]
    fn quoted_identifiers_hold_semicolons_and_quotes() {
        assert_eq!(
            texts(r#"CREATE TABLE "odd;name" ("it's" int, "say ""hi"";" int); SELECT 1"#),
            vec![r#"CREATE TABLE "odd;name" ("it's" int, "say ""hi"";" int)"#, "SELECT 1"]
        );
    }

    #[test]
    fn do_blocks_in_dollar_quotes_hold_semicolons() {
        let script = "DO $$\nBEGIN\n  UPDATE users SET email = 'x';\n  RAISE NOTICE 'done; ok';\nEND\n$$;\nSELECT 1;";
        assert_eq!(
            statements(script),
            vec![
                Statement {
                    text: "DO $$\nBEGIN\n  UPDATE users SET email = 'x';\n  RAISE NOTICE 'done; ok';\nEND\n$$",
                    number: 1,
                    line: 1,
                },
                Statement { text: "SELECT 1", number: 2, line: 7 },
            ]
        );
    }

    #[test]
    fn tagged_dollar_quotes_end_only_at_their_own_tag() {
        let script = "CREATE FUNCTION mask(t text) RETURNS text LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN $$x;$$ || $other$;$other$;\nEND;\n$body$;\nSELECT mask('a');";
        let found = statements(script);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].text.starts_with("CREATE FUNCTION") && found[0].text.ends_with("END;\n$body$"));
        assert_eq!(found[1], Statement { text: "SELECT mask('a')", number: 2, line: 6 });
        // A tag is case-sensitive, and `$a$` inside `$b$...$b$` is only text.
        assert_eq!(texts("SELECT $A$ ; $a$ ; $A$; SELECT 2"), vec!["SELECT $A$ ; $a$ ; $A$", "SELECT 2"]);
        assert_eq!(texts("SELECT $b$x$a$;$b$; SELECT 2"), vec!["SELECT $b$x$a$;$b$", "SELECT 2"]);
    }

    #[test]
    fn parameters_and_identifiers_with_dollars_are_not_dollar_quotes() {
        assert_eq!(texts("PREPARE p AS SELECT $1; SELECT 2"), vec!["PREPARE p AS SELECT $1", "SELECT 2"]);
        assert_eq!(texts("SELECT a$b$c; SELECT $1$; SELECT 3"), vec!["SELECT a$b$c", "SELECT $1$", "SELECT 3"]);
        // `$` followed by a word and no closing `$` is not a quote either.
        assert_eq!(texts("SELECT $x; SELECT 2"), vec!["SELECT $x", "SELECT 2"]);
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split_as_in_psql() {
        assert_eq!(texts("SELECT (1; 2); SELECT 3"), vec!["SELECT (1; 2)", "SELECT 3"]);
        // A stray closing parenthesis does not go below zero.
        assert_eq!(texts("SELECT 1); SELECT 2"), vec!["SELECT 1)", "SELECT 2"]);
    }

    #[test]
    fn sql_standard_function_bodies_hold_semicolons_as_in_psql() {
        let script = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 ELSE 2 END;\n  SELECT 2;\nEND;\nBEGIN;\nSELECT f();\nEND;";
        assert_eq!(
            texts(script),
            vec![
                "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 ELSE 2 END;\n  SELECT 2;\nEND",
                "BEGIN",
                "SELECT f()",
                "END",
            ]
        );
        let procedure = "create procedure p() begin atomic insert into t values (1); end; call p()";
        assert_eq!(
            texts(procedure),
            vec!["create procedure p() begin atomic insert into t values (1); end", "call p()"]
        );
        // Outside a routine's definition BEGIN is only a statement.
        assert_eq!(texts("BEGIN; UPDATE t SET a = 1; COMMIT"), vec!["BEGIN", "UPDATE t SET a = 1", "COMMIT"]);
        // CASE ... END outside a BEGIN (a routine with an AS body) takes nothing away.
        assert_eq!(
            texts(
                "CREATE FUNCTION g() RETURNS int AS 'SELECT 1' LANGUAGE sql; SELECT CASE WHEN true THEN 1 END; SELECT 2"
            ),
            vec![
                "CREATE FUNCTION g() RETURNS int AS 'SELECT 1' LANGUAGE sql",
                "SELECT CASE WHEN true THEN 1 END",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn unterminated_quotes_and_comments_take_the_rest() {
        assert_eq!(texts("SELECT 1; SELECT 'open; SELECT 2;"), vec!["SELECT 1", "SELECT 'open; SELECT 2;"]);
        assert_eq!(texts("SELECT \"open; SELECT 2"), vec!["SELECT \"open; SELECT 2"]);
        assert_eq!(texts("DO $$ BEGIN; SELECT 2;"), vec!["DO $$ BEGIN; SELECT 2;"]);
        assert_eq!(texts(r"SELECT E'open\'; SELECT 2"), vec![r"SELECT E'open\'; SELECT 2"]);
        // An unterminated block comment is sent (alone, if need be), for the server to report.
        assert_eq!(texts("SELECT 1; /* open; SELECT 2;"), vec!["SELECT 1", "/* open; SELECT 2;"]);
        assert_eq!(
            texts("SELECT 1 /* open /* nested */ still; open"),
            vec!["SELECT 1 /* open /* nested */ still; open"]
        );
        // A backslash at the very end of an E string.
        assert_eq!(texts(r"SELECT E'\"), vec![r"SELECT E'\"]);
    }

    #[test]
    fn crlf_line_ends() {
        let script = "-- masking\r\nUPDATE users\r\n   SET email = 'x';\r\n\r\nDELETE FROM sessions;\r\n";
        assert_eq!(
            statements(script),
            vec![
                Statement { text: "UPDATE users\r\n   SET email = 'x'", number: 1, line: 2 },
                Statement { text: "DELETE FROM sessions", number: 2, line: 5 },
            ]
        );
        // A line comment ends at the line feed of a CRLF.
        assert_eq!(texts("SELECT 1 -- x;\r\n, 2;"), vec!["SELECT 1 -- x;\r\n, 2"]);
    }

    #[test]
    fn lines_count_the_newlines_inside_earlier_statements() {
        let script = "DO $$\n;\n;\n$$;\nSELECT 'a\nb';\n\n  SELECT 3;";
        let lines: Vec<_> = statements(script).iter().map(|statement| (statement.number, statement.line)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 5), (3, 8)]);
    }

    #[test]
    fn non_ascii_text_and_a_byte_order_mark() {
        assert_eq!(
            statements("\u{feff}UPDATE personnes SET prénom = 'Zoë;' ; SELECT 'ü'"),
            vec![
                Statement { text: "UPDATE personnes SET prénom = 'Zoë;'", number: 1, line: 1 },
                Statement { text: "SELECT 'ü'", number: 2, line: 1 },
            ]
        );
        // A non-ASCII character is part of an identifier: `é$x$` is not a dollar quote.
        assert_eq!(texts("SELECT é$x$; SELECT 2"), vec!["SELECT é$x$", "SELECT 2"]);
    }

    #[test]
    fn slashes_and_dashes_alone_are_operators() {
        assert_eq!(texts("SELECT 4 / 2 - 1; SELECT 2-/**/-1"), vec!["SELECT 4 / 2 - 1", "SELECT 2-/**/-1"]);
    }
}
