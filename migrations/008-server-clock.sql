-- The server's clock as its times show it, measured by the FTPS engine (src/protocol/server-clock.ts):
-- JSON of {"listingMs": <offset of MLSD/LIST times from UTC>, "exactMs": <of MDTM's, when measured>,
-- "how": "<what it was learnt from>", "at": <epoch ms>}. A server in local time 5 hours east of UTC
-- has listingMs 18000000. Kept when the capabilities are probed again, cleared when host or port
-- change; measured again after a while (a server's zone may change).
ALTER TABLE remote_capabilities ADD COLUMN clock TEXT;
