-- Where a quick-join goes: ARGV = prefix, then names of rooms not to pick (tried already).
-- Returns { room, its node, its node's url } for the fullest public room with a free seat
-- on a live node that is not draining (three '' if none), then { node, url } of the
-- least-loaded such node (two '' if none). The seat and the load are counted at once, so
-- that quick-joins racing from several nodes spread out before the next heartbeats; the
-- room's node still decides the seat itself.
local skip = {}
for i = 2, #ARGV do
  skip[ARGV[i]] = true
end
local urls, loads = {}, {}
for _, id in ipairs(redis.call('SMEMBERS', p .. ':nodes')) do
  local h = redis.call('HMGET', p .. ':node:' .. id, 'url', 'load', 'draining')
  if h[1] == false or not alive(id) then
    redis.call('SREM', p .. ':nodes', id)
  elseif h[3] ~= '1' then
    urls[id], loads[id] = h[1], tonumber(h[2]) or 0
  end
end
local room, room_node, room_taken = '', '', -1
for _, name in ipairs(redis.call('SMEMBERS', p .. ':rooms')) do
  local r = redis.call('HMGET', p .. ':room:' .. name, 'node', 'taken', 'capacity', 'private')
  if r[1] == false or (urls[r[1]] == nil and not alive(r[1])) then
    drop_room(name)
  elseif urls[r[1]] and r[4] == '0' and not skip[name] then
    local taken, capacity = tonumber(r[2]) or 0, tonumber(r[3]) or 0
    if taken < capacity and (taken > room_taken or (taken == room_taken and name < room)) then
      room, room_node, room_taken = name, r[1], taken
    end
  end
end
local least, least_load = '', nil
for id, load in pairs(loads) do
  if least_load == nil or load < least_load or (load == least_load and id < least) then
    least, least_load = id, load
  end
end
if room ~= '' then
  redis.call('HINCRBY', p .. ':room:' .. room, 'taken', 1)
  redis.call('HINCRBY', p .. ':node:' .. room_node, 'load', 1)
  return { room, room_node, urls[room_node], least, urls[least] or '' }
end
if least ~= '' then
  redis.call('HINCRBY', p .. ':node:' .. least, 'load', 1)
end
return { '', '', '', least, urls[least] or '' }
