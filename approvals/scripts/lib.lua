-- Shared by every approval script: ApprovalStore prepends the audit fragment and this file.
--
-- ARGV[1] is one JSON object (see ApprovalStore._call): key names, `now` (epoch seconds as a
-- string: the caller's clock, so tests control time), `retention`, the audit config, `record`
-- (the audit template: AuditRecord.to_fields() of the caller's actor and time) and the
-- operation's own parameters. Per-request keys are derived from prefixes here rather than passed
-- in KEYS because the sweeper touches a variable set of requests in one step: single-node Redis.
local P = cjson.decode(ARGV[1])

local function key(id) return P.keys.request .. id end
local function approvers_key(id) return key(id) .. P.keys.approvers_suffix end

-- A request as every script returns it: {fields = its hash, approvers = [approver, time, ...]}
-- (oldest approval first).
local function snapshot(id)
  local flat = redis.call('HGETALL', key(id))
  local fields = {}
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  return {fields = fields, approvers = redis.call('ZRANGE', approvers_key(id), 0, -1, 'WITHSCORES')}
end

-- Every transition answers one JSON string (a single bulk reply parses far faster client-side
-- than nested arrays): {status, reason, request}; status is 'ok', 'execute' (this caller, and
-- only this one, runs the action) or 'refused' with a reason; request is absent if not found;
-- audited is what this call appended to the audit trail.
local function reply(status, reason, id)
  return cjson.encode({status = status, reason = reason, request = snapshot(id), audited = AUDITED})
end
local NOT_FOUND = cjson.encode({status = 'refused', reason = 'not_found'})

-- Appends this operation's audit record, completed with the request's verb and target.
local function audit(id, outcome, detail, actor)
  local verb, target = unpack(redis.call('HMGET', key(id), 'verb', 'target'))
  return audit_append(P.audit, P.record, {
    approval_id = id, verb = verb, target = target, outcome = outcome, detail = detail, actor = actor,
  })
end

-- Refusals are audited too: a self-approval attempt or a late finish is worth seeing in the trail.
local function refuse(id, reason, state, actor)
  local detail = reason
  if state then detail = detail .. ': ' .. state end
  if P.note then detail = detail .. '; ' .. P.note end
  audit(id, 'refused', detail, actor)
  return reply('refused', reason, id)
end

-- Whether the caller is the person the request is about (P.actor_okta_id: their Okta user id, when
-- the caller knows it): they may neither approve nor deny it, whatever roles they hold.
local function is_target(id)
  return P.actor_okta_id ~= nil and redis.call('HGET', key(id), 'target_id') == P.actor_okta_id
end

-- Moves a request to a terminal state: out of both indexes, kept `retention` seconds for lookups
-- (the audit trail outlives it). `fields` are extra hash fields, flat, or nil.
local function close(id, state, outcome, detail, actor, fields)
  redis.call('HSET', key(id), 'state', state, 'closed_at', P.now)
  if fields then redis.call('HSET', key(id), unpack(fields)) end
  redis.call('ZREM', P.keys.pending, id)
  redis.call('ZREM', P.keys.executing, id)
  redis.call('EXPIRE', key(id), P.retention)
  redis.call('EXPIRE', approvers_key(id), P.retention)
  audit(id, outcome, detail, actor)
end

-- The check shared by approve, deny and cancel: a refusal to return, or nil to go on. A request
-- past its deadline is expired right here, so it can never be approved even if the sweeper is late;
-- this call then reports 'expired' and the sweeper will not report it again.
local function check_pending(id)
  local state, deadline = unpack(redis.call('HMGET', key(id), 'state', 'deadline'))
  if not state then return NOT_FOUND end
  if state ~= 'PENDING' then return refuse(id, 'not_pending', state) end
  if tonumber(P.now) >= tonumber(deadline) then
    close(id, 'EXPIRED', 'expired', 'deadline passed; ' .. P.op .. ' refused')
    return reply('refused', 'expired', id)
  end
  return nil
end
