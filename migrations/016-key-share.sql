-- The key-exchange group the server chose in a TLS handshake (src/protocol/key-share.ts), offered
-- first by the agent's later processes: a TLS 1.3 client sends one key share, and a server that
-- wants another group (vsftpd 3.0.3: P-256) answers with a HelloRetryRequest, one more round trip
-- at the first login of every `ftps-sync sync`. JSON of {"group": "<OpenSSL name>", "at": <epoch ms>};
-- kept when the capabilities are probed again, cleared when host or port change.
ALTER TABLE remote_capabilities ADD COLUMN key_share TEXT;
