-- finish and reconcile: EXECUTING -> P.state (SUCCEEDED or FAILED)
local id = P.id
local state, token, executed_by = unpack(redis.call('HMGET', key(id), 'state', 'executor', 'executed_by'))
if not state then return NOT_FOUND end
-- finish() is recorded as the approver whose approval started the execution; reconcile() (a
-- takeover) as whoever ran it, the template's actor
local actor = nil
if not P.takeover and executed_by ~= '' then actor = executed_by end
if state ~= 'EXECUTING' then return refuse(id, 'not_executing', state, actor) end
-- both need the current lease's token: the executor's own, or the one a sweeper claimed it with
-- (claim.lua), so the dead owner's late finish() and a second reconciler are refused alike
if token ~= P.executor then return refuse(id, 'not_executor', nil, actor) end
close(id, P.state, string.lower(P.state), nil, actor, P.fields)
return reply('ok', '', id)
