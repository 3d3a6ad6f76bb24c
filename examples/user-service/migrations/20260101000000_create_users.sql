-- Users. Ids are UUIDv7 text, so ordering by id is roughly creation order and pages are stable.
CREATE TABLE users (
    id          TEXT    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    -- Unix time in nanoseconds.
    create_time INTEGER NOT NULL
) STRICT;

-- Emails are unique regardless of case: Ada@Example.com and ada@example.com are one address.
CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE);
