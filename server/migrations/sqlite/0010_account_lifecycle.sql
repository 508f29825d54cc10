-- Accounts can be disabled (`linli user disable`): their sessions end and they cannot
-- sign in until enabled again. NULL: the account is in use.
ALTER TABLE users ADD COLUMN disabled_ms INTEGER;
