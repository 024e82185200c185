-- Where a room or a node is: ARGV = prefix, 'room' or 'node' or 'user', name.
-- Returns { node, url } ({ node, url, room } for a user); {} when it is nowhere, or on a
-- node that is gone (whose room is then forgotten).
local what, name = ARGV[2], ARGV[3]
local node, room
if what == 'room' then
  node = redis.call('HGET', p .. ':room:' .. name, 'node')
  if node == false then
    return {}
  end
  if not alive(node) then
    drop_room(name)
    return {}
  end
elseif what == 'node' then
  node = name
  if not alive(node) then
    return {}
  end
else
  for _, id in ipairs(redis.call('SMEMBERS', p .. ':nodes')) do
    local r = redis.call('HGET', p .. ':node:' .. id .. ':users', name)
    if r and alive(id) then
      node, room = id, r
      break
    end
  end
  if node == nil then
    return {}
  end
end
local url = redis.call('HGET', p .. ':node:' .. node, 'url')
if url == false then
  return {}
end
if room then
  return { node, url, room }
end
return { node, url }
