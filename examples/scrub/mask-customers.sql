-- rds-refresh example: scrub a staging copy of production before it serves.
--
-- Runs on the new instance as its master user, in the database `app`, in one transaction
-- (sql.scripts[].transaction defaults to true): it commits entirely or not at all, and the
-- refresh switches names only after it (and sql.verify) succeeded. Used by scripts/demo and
-- by crates/core/tests/suite/scrub.rs. Adapt the tables and columns to your schema.

-- Personal data: names and e-mail addresses that can never reach a real person
-- (.invalid is reserved for exactly this, RFC 2606).
UPDATE customers
   SET name  = 'Customer ' || id,
       email = 'customer-' || id || '@example.invalid';

-- Credentials production issued: staging must not hold working API tokens.
DELETE FROM api_tokens;
