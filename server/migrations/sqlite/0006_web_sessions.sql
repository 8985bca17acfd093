-- One word per thing: the browser's sign-in session is a "web session" (a terminal session is
-- `terminal_sessions`). A rename keeps every row, so nobody is signed out by the upgrade.
ALTER TABLE sessions RENAME TO web_sessions;
DROP INDEX sessions_expiry;
CREATE INDEX web_sessions_expiry ON web_sessions (expiry_date);
