-- Lets the revocation re-announcer find recently revoked sessions without scanning all sessions.
create index sessions_revoked_at_idx on auth.sessions (revoked_at) where revoked_at is not null;
