/// The schema, as numbered steps applied once each, in order, inside one transaction.
enum Migrations {
    static let steps: [String] = [
        // 1: the alert log, idempotency keys and tokens.
        """
        CREATE TABLE alerts (
            log_offset INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            case_id TEXT NOT NULL,
            country TEXT NOT NULL,
            severity TEXT NOT NULL,
            threat TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE INDEX alerts_country_time ON alerts(country, received_at);
        CREATE INDEX alerts_time ON alerts(received_at);
        CREATE INDEX alerts_case ON alerts(case_id);
        CREATE TABLE idempotency_keys (
            organisation TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            log_offset INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (organisation, key)
        ) WITHOUT ROWID;
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            organisation TEXT NOT NULL,
            scopes TEXT NOT NULL,
            clearance TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        """,
        // 2: subscribers, their webhook secrets, deliveries and consumer positions.
        """
        CREATE TABLE subscribers (
            id TEXT PRIMARY KEY,
            body BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE channel_secrets (
            channel_id TEXT PRIMARY KEY,
            subscriber_id TEXT NOT NULL,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            rotated_at INTEGER
        );
        CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            alert_id TEXT NOT NULL,
            alert_offset INTEGER NOT NULL,
            subscriber_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_type TEXT NOT NULL,
            reason TEXT NOT NULL,
            clearance TEXT NOT NULL,
            severity_rank INTEGER NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_alert ON deliveries(alert_id);
        CREATE INDEX deliveries_due ON deliveries(state, severity_rank DESC, next_attempt_at);
        CREATE TABLE consumer_positions (
            consumer TEXT PRIMARY KEY,
            log_offset INTEGER NOT NULL
        );
        """,
        // 3: worker leases and the retry budget's start.
        """
        ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
        ALTER TABLE deliveries ADD COLUMN first_attempt_at INTEGER;
        CREATE INDEX deliveries_leases ON deliveries(state, lease_until);
        CREATE TABLE disabled_channels (
            channel_id TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            disabled_at INTEGER NOT NULL
        );
        """,
        // 4: identities sealed under data keys (the keys live in the attached key file), and
        // the audit trail.
        """
        ALTER TABLE alerts ADD COLUMN key_id INTEGER;
        ALTER TABLE alerts ADD COLUMN identity BLOB;
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            token_id TEXT NOT NULL,
            organisation TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX audit_action ON audit(action, seq);
        """,
        // 5: replays, and which replay last queued a delivery.
        """
        ALTER TABLE deliveries ADD COLUMN replay_id TEXT;
        CREATE TABLE replays (
            id TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            cursor INTEGER NOT NULL DEFAULT 0,
            scanned INTEGER NOT NULL DEFAULT 0,
            alerts INTEGER NOT NULL DEFAULT 0,
            deliveries INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        """,
        // 6: no index of waiting deliveries by channel. A build of 2026-11-23 had one, to move
        // a breaker-held channel's backlog at every claim; keeping it current cost queued
        // replays (80 deliveries an alert) more than half their speed, and the backlog is now
        // moved once per breaker change instead.
        """
        DROP INDEX IF EXISTS deliveries_waiting;
        """,
        // 7: acknowledgements (issue 19), one per alert and subscriber; the note sealed with
        // the alert's data key.
        """
        CREATE TABLE acks (
            alert_id TEXT NOT NULL,
            subscriber_id TEXT NOT NULL,
            organisation TEXT NOT NULL,
            kind TEXT NOT NULL,
            action TEXT NOT NULL,
            at INTEGER NOT NULL,
            via TEXT NOT NULL,
            note BLOB,
            PRIMARY KEY (alert_id, subscriber_id)
        ) WITHOUT ROWID;
        """,
        // 8: follow-ups (issue 19): escalations, reminders and reports are deliveries of their
        // own, pending with next_attempt_at at their due time; this says which one (NULL for
        // an alert's first sending).
        """
        ALTER TABLE deliveries ADD COLUMN follow_up TEXT;
        """,
        // 9: what routing views carry beyond the indexed columns (issue 19): the filing
        // organisation, case status, next event and handling instructions (`RoutingColumn`);
        // NULL for alerts appended before.
        """
        ALTER TABLE alerts ADD COLUMN routing TEXT;
        """,
        // 10: console accounts, their invitations and browser sessions (issue 20). Passwords
        // only as scrypt hashes, TOTP secrets only sealed, invitation tokens and session ids
        // only as SHA-256; subscriber ids as a JSON array of strings.
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            organisation TEXT NOT NULL,
            role TEXT NOT NULL,
            clearance TEXT NOT NULL,
            language TEXT NOT NULL,
            subscriber_ids TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            totp_secret TEXT,
            totp_last_step INTEGER,
            sessions_valid_after INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            disabled_at INTEGER
        );
        CREATE TABLE invitations (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            email TEXT NOT NULL,
            organisation TEXT NOT NULL,
            role TEXT NOT NULL,
            clearance TEXT NOT NULL,
            language TEXT NOT NULL,
            subscriber_ids TEXT NOT NULL,
            invited_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        );
        CREATE INDEX invitations_time ON invitations(created_at);
        CREATE TABLE console_sessions (
            id_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX console_sessions_account ON console_sessions(account_id);
        """,
        // 11: feed tokens (issue 21), one per subscriber, only as SHA-256; and the deliveries
        // of a subscriber by alert, newest first, for its feed.
        """
        CREATE TABLE feed_tokens (
            subscriber_id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id, alert_offset);
        """,
        // 12: the alerts gathered into a digest (issue 21), found by subscriber, channel and
        // window; only deliveries with a follow-up are in it.
        """
        CREATE INDEX deliveries_gathered ON deliveries(subscriber_id, channel_id, follow_up) WHERE follow_up IS NOT NULL;
        """,
        // 13: a version per token, raised by every change, so a replica never goes back to an
        // older state of it (issue 23): a stale record read again cannot revive a revoked token.
        """
        ALTER TABLE tokens ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        """,
    ]

    /// The key file's schema, applied at every open: a fresh or restored-without-keys file
    /// simply has no keys, and every identity sealed before reads as erased.
    static let keysSchema = """
        CREATE TABLE IF NOT EXISTS keys.data_keys (
            key_id INTEGER PRIMARY KEY,
            wrapped BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS keys.master_check (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed BLOB NOT NULL
        );
        """

    /// Applies every step `connection`'s file has not seen yet.
    static func apply(to connection: SQLiteConnection) throws(SQLiteError) {
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        let applied = try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first?.int(0) ?? 0
        guard applied < steps.count else { return }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            for (index, step) in steps.enumerated() where index + 1 > applied {
                try connection.execute(step)
                try connection.run("INSERT INTO schema_migrations(version) VALUES (?)", [.integer(Int64(index + 1))])
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
