redis.call('HSET', key(P.id), unpack(P.fields))
redis.call('ZADD', P.keys.pending, P.deadline, P.id)
audit(P.id, 'requested')
return reply('ok', '', P.id)
