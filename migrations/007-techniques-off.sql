-- Protocol techniques a server was found not to take, learnt by the FTPS engine: JSON of
-- {"<technique>": {"reason": "...", "at": <epoch ms>}}, e.g. "pipelining" for a server that drops
-- commands sent together in one write. Passed to every later session with that server, so it is
-- sent one command at a time from the start. Kept when the capabilities are probed again, cleared
-- when host or port change; each entry is tried again after a while (a server may be upgraded).
ALTER TABLE remote_capabilities ADD COLUMN techniques_off TEXT;
