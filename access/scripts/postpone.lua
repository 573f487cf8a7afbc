-- The lease holder could not end the grant (Okta refused for now): try again at ARGV[3].
-- KEYS: grant, lease, ends   ARGV: id, token, at   Answers the failures so far, or -1 without the lease.
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('DEL', KEYS[2])
return attempts
