-- the sweeper step: every PENDING request whose deadline is <= now (the pending zset holds
-- exactly the PENDING requests, scored by deadline), up to P.limit per call
local expired = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P.keys.pending, '-inf', P.now, 'LIMIT', 0, P.limit)) do
  close(id, 'EXPIRED', 'expired', 'deadline passed')
  expired[#expired + 1] = snapshot(id)
end
return cjson.encode({expired = expired, audited = AUDITED})
