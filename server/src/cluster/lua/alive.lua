-- Shared head of every directory script (prepended in directory.rs).
-- A node is alive while its heartbeat key lasts and it listens on its channel: a node
-- killed outright drops its Redis connections at once, so its channel has no listener.
local p = ARGV[1]
local function alive(id)
  return redis.call('EXISTS', p .. ':node:' .. id) == 1
    and redis.call('PUBSUB', 'NUMSUB', p .. ':to:' .. id)[2] > 0
end
-- Forgets a room whose node is gone.
local function drop_room(name)
  redis.call('DEL', p .. ':room:' .. name)
  redis.call('SREM', p .. ':rooms', name)
end
-- Redis's clock, in ms.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
