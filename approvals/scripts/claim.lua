-- The sweeper step for executions: every EXECUTING request whose lease expired (its executor
-- stopped renewing it: killed, stopped, or cut off from Redis), up to P.limit per call, is
-- claimed for reconciliation. The claim is a new lease with a new fencing token (P.token): the
-- old owner can no longer renew or finish it, and no other sweeper claims it again while this
-- one checks Okta, unless this one dies too and the new lease runs out in turn.
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P.keys.executing, '-inf', P.now, 'LIMIT', 0, P.limit)) do
  redis.call('HSET', key(id), 'executor', P.token)
  redis.call('ZADD', P.keys.executing, P.lease_until, id)
  audit(id, 'reclaimed', 'execution lease expired: its executor stopped renewing it; checking Okta')
  claimed[#claimed + 1] = snapshot(id)
end
return cjson.encode({claimed = claimed, audited = AUDITED})
