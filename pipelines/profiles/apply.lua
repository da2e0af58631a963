-- Applies one visitor's delta to the profiles, atomically with the visitor's watermark and the
-- event ids it remembers.
--
-- KEYS[1]  the visitor's key, profile:<site>:v:<visitor>: its profile, or an alias
--          ("->" = the key of the profile it belongs to); it always holds the watermarks
-- ARGV[1]  site id
-- ARGV[2]  partition ("" = no watermark: a rebuild)
-- ARGV[3]  settings (wire.script_settings)
-- ARGV[4]  the delta: a JSON list of segments (wire.encode_delta)
-- ARGV[5]  the segments' event hashes, ID_BYTES each, back to back (wire.encode_ids)
-- ARGV[6]  the last position of the delta's records, copies included, "<major>-<minor>" or ""
--
-- Returns {"ok", applied segments, skipped segments, co-view pairs}; or, writing nothing:
-- {"split", watermark} when a segment straddles the watermark (the caller sends again only the
-- records after it), {"dup", hashes} when events to apply were applied before (the caller sends
-- again without them).
--
-- Other keys (the user's profile, a replaced visitor's, sessions, co-views) are derived from
-- the stored aliases, so they cannot all be declared in KEYS: the profile instance is a single
-- Redis, never a cluster.

local site = ARGV[1]
local partition = ARGV[2]
local cfg = {}
for number in string.gmatch(ARGV[3], '%S+') do cfg[#cfg + 1] = tonumber(number) end
local N_PRODUCTS, N_CATEGORIES, N_PURCHASED, N_ORDERS, N_SCORES, N_SESSIONS = unpack(cfg, 1, 6)
local HALF_LIFE, WINDOW, NEIGHBOURS, COVIEW_KEPT, TTL, N_SEEN, ID_BYTES = unpack(cfg, 7, 13)
local segments = cjson.decode(ARGV[4])
local hashes = ARGV[5]
local source = KEYS[1]
local prefix = 'profile:' .. site .. ':'

-- positions -------------------------------------------------------------------------------

local function at_most(p, q)
  return p[1] < q[1] or (p[1] == q[1] and p[2] <= q[2])
end

local function position(text)
  local major, minor = string.match(text, '^(%d+)-(%d+)$')
  return {tonumber(major), tonumber(minor)}
end

local wm_field = 'wm:' .. partition
local stored_wm = false
local wm = nil
if partition ~= '' then
  stored_wm = redis.call('HGET', source, wm_field)
  if stored_wm then wm = position(stored_wm) end
end

-- Segments after the watermark, with their event hashes.
local todo, fresh, skipped, newest, offset = {}, {}, 0, nil, 0
if ARGV[6] ~= '' then newest = position(ARGV[6]) end
for _, segment in ipairs(segments) do
  local count = segment.h or 0
  local apply = true
  if wm ~= nil and segment.f ~= nil then
    if at_most(segment.l, wm) then
      apply = false
      skipped = skipped + 1  -- applied before a crash: its records are not replayed twice
    elseif at_most(segment.f, wm) then
      return {'split', stored_wm}
    end
  end
  if apply then
    todo[#todo + 1] = segment
    if count > 0 then
      fresh[#fresh + 1] = string.sub(hashes, offset * ID_BYTES + 1, (offset + count) * ID_BYTES)
    end
  end
  offset = offset + count
  if segment.l and (newest == nil or at_most(newest, segment.l)) then newest = segment.l end
end

-- Events logged twice (a client resending what was written) count once: the hashes of the
-- visitor id's last N_SEEN applied events stay beside its key, oldest first. A copy among them
-- stops the whole delta, which comes back without it; copies within a batch never get here.
local seen_key = 'seen:' .. string.sub(source, #'profile:' + 1)
local seen = nil

local function remembered(id)
  local from = 1
  while true do
    local at = string.find(seen, id, from, true)
    if at == nil then return false end
    if (at - 1) % ID_BYTES == 0 then return true end  -- else it straddles two hashes
    from = at + 1
  end
end

if N_SEEN > 0 and #fresh > 0 then
  seen = redis.call('GET', seen_key) or ''
  local copies = {}
  for _, ids in ipairs(fresh) do
    for i = 1, seen ~= '' and #ids or 0, ID_BYTES do
      local id = string.sub(ids, i, i + ID_BYTES - 1)
      if remembered(id) then copies[#copies + 1] = id end
    end
  end
  if #copies > 0 then return {'dup', table.concat(copies)} end
end

-- ordering shared with recency.py: latest time first, then names by code point -----------

local function bytes_less(a, b)
  if a == b then return false end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function newer(x, y)
  if x[2] ~= y[2] then return x[2] > y[2] end
  return bytes_less(x[1], y[1])
end

local function decode_list(text)
  if not text then return {} end
  return cjson.decode(text)
end

local function merge_newest(a, b, limit)
  local latest, out = {}, {}
  for _, items in ipairs({a, b}) do
    for _, item in ipairs(items) do
      local known = latest[item[1]]
      if known == nil or item[2] > known then latest[item[1]] = item[2] end
    end
  end
  for name, t in pairs(latest) do out[#out + 1] = {name, t} end
  table.sort(out, newer)
  for i = #out, limit + 1, -1 do out[i] = nil end
  return out
end

local function store_list(key, field, items)
  if #items > 0 then redis.call('HSET', key, field, cjson.encode(items)) end
end

local function add_list(key, field, items, limit)
  if items == nil then return end
  store_list(key, field, merge_newest(decode_list(redis.call('HGET', key, field)), items, limit))
end

-- Whole milliseconds as digits: a Lua number would reach Redis in its shortest float form.
local function ms(value)
  return string.format('%d', value)
end

-- one profile's parts -----------------------------------------------------------------------

local function sessions_key(key)
  return 'sessions:' .. string.sub(key, #'profile:' + 1)
end

local function trim_sessions(skey)
  local extra = redis.call('ZCARD', skey) - N_SESSIONS
  if extra > 0 then redis.call('ZPOPMIN', skey, extra) end
end

-- Scores are valid at "cref"; moving them to a later reference decays them, so adding scores
-- of any two references, in any order, gives the same value.
local function add_scores(key, scores, ref)
  if scores == nil or next(scores) == nil then return end
  local current = redis.call('HMGET', key, 'cs', 'cref')
  local stored = current[1] and cjson.decode(current[1]) or {}
  local stored_ref = tonumber(current[2]) or ref
  local to = math.max(ref, stored_ref)
  local merged = {}
  local f = 2 ^ ((stored_ref - to) / HALF_LIFE)
  for name, value in pairs(stored) do merged[name] = value * f end
  f = 2 ^ ((ref - to) / HALF_LIFE)
  for name, value in pairs(scores) do merged[name] = (merged[name] or 0) + value * f end
  local ranked = {}
  for name, value in pairs(merged) do ranked[#ranked + 1] = {name, value} end
  if #ranked > N_SCORES then
    table.sort(ranked, newer)  -- highest score first, ties by name
    merged = {}
    for i = 1, N_SCORES do merged[ranked[i][1]] = ranked[i][2] end
  end
  redis.call('HSET', key, 'cs', cjson.encode(merged), 'cref', ms(to), 'hl', ms(HALF_LIFE))
end

local function add_span(key, first, last)
  local current = redis.call('HMGET', key, 'first', 'last')
  local f, l = tonumber(current[1]), tonumber(current[2])
  if f == nil or first < f then redis.call('HSET', key, 'first', ms(first)) end
  if l == nil or last > l then redis.call('HSET', key, 'last', ms(last)) end
end

-- Last writer by event time; equal times keep the greater encoding, as aggregate.py does.
local function latest_value(key, field, value)
  if value == nil or value == '' then return end
  local current = redis.call('HGET', key, field)
  if current then
    local t_new = tonumber(string.match(value, '^%[(%d+)'))
    local t_old = tonumber(string.match(current, '^%[(%d+)'))
    if t_new < t_old or (t_new == t_old and not bytes_less(current, value)) then return end
  end
  redis.call('HSET', key, field, value)
end

-- Purchases count distinct order ids, so a purchase the client sent twice counts once (as
-- long as its order id is among the last N_ORDERS).
local function add_orders(key, orders)
  if orders == nil then return end
  local stored = decode_list(redis.call('HGET', key, 'ord'))
  local known, new = {}, 0
  for _, item in ipairs(stored) do known[item[1]] = true end
  for _, item in ipairs(orders) do
    if not known[item[1]] then new = new + 1 end
  end
  if new > 0 then redis.call('HINCRBY', key, 'purchases', new) end
  store_list(key, 'ord', merge_newest(stored, orders, N_ORDERS))
end

local touched_coviews = {}
local pairs_written = 0

local function coview(a, b)
  local key = 'coview:' .. site .. ':' .. a
  redis.call('ZINCRBY', key, 1, b)
  touched_coviews[key] = true
end

-- Each product view pairs with at most NEIGHBOURS other products the same visitor id viewed in
-- the WINDOW before it (newest first), and a view of a product already viewed within the
-- window pairs with nothing: a visitor adds at most NEIGHBOURS pairs per view, never n^2.
-- The history ("cv") stays in the visitor's own key, not in a merged profile, so the pairs
-- follow one partition's log order and do not depend on how batches interleave the devices
-- of one user.
local function add_views(key, views)
  if views == nil then return end
  local recent = decode_list(redis.call('HGET', source, 'cv'))
  for _, view in ipairs(views) do
    local sku, t = view[1], view[2]
    local own = nil
    for i, item in ipairs(recent) do
      if item[1] == sku then own = i break end
    end
    if own == nil or recent[own][2] < t - WINDOW then
      local paired = 0
      for _, item in ipairs(recent) do
        if paired >= NEIGHBOURS or item[2] < t - WINDOW then break end
        if item[1] ~= sku and item[2] <= t then
          coview(sku, item[1])
          coview(item[1], sku)
          paired = paired + 1
        end
      end
      pairs_written = pairs_written + paired
    end
    -- Trimmed after every view, as a batch of one view would be: batch size never matters.
    recent = merge_newest(recent, {view}, N_PRODUCTS)
  end
  store_list(source, 'cv', recent)
  add_list(key, 'rp', views, N_PRODUCTS)
end

local function add_sessions(key, sessions)
  if sessions == nil then return end
  local skey = sessions_key(key)
  local added = 0
  for id, t in pairs(sessions) do
    added = added + redis.call('ZADD', skey, 'LT', t, id)
  end
  if added > 0 then redis.call('HINCRBY', key, 'visits', added) end
  trim_sessions(skey)
end

local function apply_fragment(key, segment)
  redis.call('HINCRBY', key, 'events', segment.n)
  add_span(key, segment.a, segment.z)
  add_sessions(key, segment.s)
  add_scores(key, segment.c, segment.z)
  add_list(key, 'rc', segment.rc, N_CATEGORIES)
  add_list(key, 'pi', segment.p, N_PURCHASED)
  add_orders(key, segment.o)
  latest_value(key, 'loc', segment.loc)
  latest_value(key, 'dev', segment.dev)
  add_views(key, segment.v)
end

-- identity ----------------------------------------------------------------------------------
--
-- Two pointers, so that no result depends on how batches interleave visitors:
--   "->"  where a visitor key's data moved (to a user's profile, or into the profile of the
--         visitor that replaced it). Set once, when the data moves, and never changed; it
--         always points at a key that held data then, so the chains never form a cycle.
--   "=>"  on a key whose data has moved: the user profile its new rows go to, when a later
--         identify named another user than the one its data went to. Only this visitor's own
--         rows follow it; aliases of it keep following its data.

local function resolve(key)
  for _ = 1, 16 do
    local next_key = redis.call('HGET', key, '->')
    if not next_key then return key end
    key = next_key
  end
  return key
end

local function current(key)
  return redis.call('HGET', key, '=>') or resolve(key)
end

-- Merges the profile at src (which owns its data) into dst and leaves src as an alias to dst
-- that keeps what belongs to the visitor id itself: its watermarks and co-view history.
local function move(src, dst)
  local flat = redis.call('HGETALL', src)
  local s, marks = {}, {}
  for i = 1, #flat, 2 do
    s[flat[i]] = flat[i + 1]
    if string.sub(flat[i], 1, 3) == 'wm:' or flat[i] == 'cv' then
      marks[#marks + 1] = flat[i]
      marks[#marks + 1] = flat[i + 1]
    end
  end
  if s.events then
    redis.call('HINCRBY', dst, 'events', s.events)
    add_span(dst, tonumber(s.first), tonumber(s.last))
    if s.cs then add_scores(dst, cjson.decode(s.cs), tonumber(s.cref)) end
    local limits = {rc = N_CATEGORIES, pi = N_PURCHASED, rp = N_PRODUCTS}
    for field, limit in pairs(limits) do
      if s[field] then add_list(dst, field, cjson.decode(s[field]), limit) end
    end
    -- purchases: src's orders less those dst counted already (the same order sent twice)
    local purchases = tonumber(s.purchases) or 0
    if s.ord then
      local orders = cjson.decode(s.ord)
      local stored = decode_list(redis.call('HGET', dst, 'ord'))
      local known = {}
      for _, item in ipairs(stored) do known[item[1]] = true end
      for _, item in ipairs(orders) do
        if known[item[1]] then purchases = purchases - 1 end
      end
      store_list(dst, 'ord', merge_newest(stored, orders, N_ORDERS))
    end
    if purchases > 0 then redis.call('HINCRBY', dst, 'purchases', purchases) end
    latest_value(dst, 'loc', s.loc)
    latest_value(dst, 'dev', s.dev)
    -- visits: sessions new to dst, plus those src counted but no longer remembers
    local src_sessions, dst_sessions = sessions_key(src), sessions_key(dst)
    local members = redis.call('ZRANGE', src_sessions, 0, -1, 'WITHSCORES')
    local added = 0
    for i = 1, #members, 2 do
      added = added + redis.call('ZADD', dst_sessions, 'LT', members[i + 1], members[i])
    end
    local forgotten = (tonumber(s.visits) or 0) - #members / 2
    if added + forgotten > 0 then redis.call('HINCRBY', dst, 'visits', added + forgotten) end
    trim_sessions(dst_sessions)
    redis.call('DEL', src_sessions)
    redis.call('PEXPIRE', dst_sessions, TTL)
  end
  redis.call('DEL', src)
  redis.call('HSET', src, '->', dst, unpack(marks))
  redis.call('PEXPIRE', src, TTL)
end

-- A user id links the visitor to the user's profile. A visitor that owns its data brings it
-- along; one whose data already went elsewhere (another user, a cross-domain id) sends only its
-- new rows: what it brought there belongs to that profile.
local function link_user(user_id)
  local user = prefix .. 'u:' .. user_id
  -- Decided on this key's own pointer, never on where another visitor's data went since.
  local moved_to = redis.call('HGET', source, '->')
  if not moved_to then
    move(source, user)
  elseif moved_to == user then
    redis.call('HDEL', source, '=>')
  else
    redis.call('HSET', source, '=>', user)
  end
  return user
end

-- A cross-domain id replaced visitor r by this one: r's own profile merges into this one's.
-- An r whose data already went elsewhere keeps its link.
local function link_replaced(target, replaced)
  for _, id in ipairs(replaced or {}) do
    local other = prefix .. 'v:' .. id
    if other ~= source and other ~= target and resolve(other) == other then
      move(other, target)
    end
  end
end

-- apply ---------------------------------------------------------------------------------------

for _, segment in ipairs(todo) do
  local target = current(source)
  if segment.u then target = link_user(segment.u) end
  link_replaced(target, segment.r)
  apply_fragment(target, segment)
  redis.call('PEXPIRE', target, TTL)
  redis.call('PEXPIRE', sessions_key(target), TTL)
end

for key in pairs(touched_coviews) do
  local extra = redis.call('ZCARD', key) - COVIEW_KEPT
  -- Trimmed in bulk once a list is twice its size, so a new pair has a chance to grow
  -- before the lowest counts are dropped.
  if extra > COVIEW_KEPT then redis.call('ZREMRANGEBYRANK', key, 0, extra - 1) end
  redis.call('PEXPIRE', key, TTL)
end

if seen ~= nil then
  seen = seen .. table.concat(fresh)
  local kept = N_SEEN * ID_BYTES
  if #seen > kept then seen = string.sub(seen, #seen - kept + 1) end
  redis.call('SET', seen_key, seen, 'PX', TTL)
end
-- Copies (left out before they got here) move the watermark too: they are never to be applied.
if partition ~= '' and newest ~= nil and (wm == nil or not at_most(newest, wm)) then
  redis.call('HSET', source, wm_field, string.format('%d-%d', newest[1], newest[2]))
  redis.call('PEXPIRE', source, TTL)
elseif #todo > 0 then
  redis.call('PEXPIRE', source, TTL)
end
return {'ok', #todo, skipped, pairs_written}
