-- Take the lease to end a grant (expiry or release): one holder at a time, across replicas and
-- restarts (a dead holder's lease runs out). Answers the grant's fields, or nothing.
-- KEYS: grant, lease, ends   ARGV: id, token, lease_ms, now, due_only ('1': only when its time has come)
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
if ARGV[5] == '1' then
  local due = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if not due or tonumber(due) > tonumber(ARGV[4]) then return false end
end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return false end
return redis.call('HGETALL', KEYS[1])
