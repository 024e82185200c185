-- The heartbeat: ARGV = prefix, node, url, load, draining (0/1), ttl_ms, returning (0/1:
-- this node was listed before), room count, then name, taken, capacity, private (0/1)
-- per room, then user, room per seated user.
-- Lists the node and its rooms, forgets the rooms it no longer has, and returns the
-- URL of the least-loaded other live node that is not draining ('' if none): where this
-- node sends its clients if it has to stop.
local node, ttl = ARGV[2], ARGV[6]
local nk = p .. ':node:' .. node
-- A node that was listed before and is not now finds a directory that lost it (Redis
-- restarted empty, or the node was cut off): until every node has beaten again, names
-- cannot be claimed (claim.lua).
if ARGV[7] == '1' and redis.call('EXISTS', nk) == 0 then
  local until_ms = now_ms() + tonumber(ttl)
  if until_ms > (tonumber(redis.call('GET', p .. ':settle_until')) or 0) then
    redis.call('SET', p .. ':settle_until', until_ms, 'PX', ttl)
  end
end
redis.call('HSET', nk, 'url', ARGV[3], 'load', ARGV[4], 'draining', ARGV[5])
redis.call('PEXPIRE', nk, ttl)
redis.call('SADD', p .. ':nodes', node)
local mine = {}
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local name = ARGV[i]
  local rk = p .. ':room:' .. name
  local owner = redis.call('HGET', rk, 'node')
  -- A name another live node holds stays theirs (two nodes that opened one name while
  -- Redis was away): the first to beat keeps it.
  if owner == false or owner == node or not alive(owner) then
    redis.call('HSET', rk, 'node', node, 'taken', ARGV[i + 1], 'capacity', ARGV[i + 2],
      'private', ARGV[i + 3])
    redis.call('SADD', p .. ':rooms', name)
    mine[name] = true
  end
  i = i + 4
end
local held = p .. ':node:' .. node .. ':rooms'
for _, name in ipairs(redis.call('SMEMBERS', held)) do
  if not mine[name] then
    if redis.call('HGET', p .. ':room:' .. name, 'node') == node then
      drop_room(name)
    end
    redis.call('SREM', held, name)
  end
end
for name in pairs(mine) do
  redis.call('SADD', held, name)
end
redis.call('PEXPIRE', held, ttl)
local users = p .. ':node:' .. node .. ':users'
redis.call('DEL', users)
while i < #ARGV do
  redis.call('HSET', users, ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('PEXPIRE', users, ttl)
local best, best_load = '', nil
for _, id in ipairs(redis.call('SMEMBERS', p .. ':nodes')) do
  if id ~= node then
    local h = redis.call('HMGET', p .. ':node:' .. id, 'url', 'load', 'draining')
    if h[1] == false or not alive(id) then
      -- Gone (a node that is only between two subscriptions lists itself again).
      redis.call('SREM', p .. ':nodes', id)
    elseif h[3] ~= '1' then
      local load = tonumber(h[2]) or 0
      if best_load == nil or load < best_load then
        best, best_load = h[1], load
      end
    end
  end
end
return best
