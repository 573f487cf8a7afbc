-- The execution lease, for its holder only (P.executor: the token it was claimed with): renewed
-- to P.lease_until while the action runs, or handed back (P.lease_until = now, audited with
-- the reason P.hand_back) when the holder stops before it finished, so that a sweeper takes over at once.
-- held = false when the request is no longer executing under this token: another took over.
local state, token = unpack(redis.call('HMGET', key(P.id), 'state', 'executor'))
if state ~= 'EXECUTING' or token ~= P.executor then return cjson.encode({held = false, audited = AUDITED}) end
redis.call('ZADD', P.keys.executing, 'XX', P.lease_until, P.id)
if P.hand_back then audit(P.id, 'handed_back', P.hand_back) end
return cjson.encode({held = true, audited = AUDITED})
