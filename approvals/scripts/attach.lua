-- only an existing request: HSET alone would create a stray hash for an unknown id
if redis.call('EXISTS', key(P.id)) == 0 then return 0 end
redis.call('HSET', key(P.id), 'channel', P.channel, 'message_ts', P.ts)
return 1
