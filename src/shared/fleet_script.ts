/**
 * The Lua script of one fleet sync (`fleet_store.ts`): every update runs in
 * Redis, atomically, never as a read-modify-write from an instance.
 *
 * ARGV: prefix, instance id, rate-limit key TTL (ms), ban count (0: no bans),
 * ban window (ms), ban duration (ms), quota used here (or ""), quota change
 * since the last sync, "1" on this instance's first quota report, client
 * count n, then n × (hash, key, tokens, strikes), then the rest as
 * (hash, key, until) for bans started here.
 *
 * Returns { quota total (or -1), { tokens the other instances took, per
 * client, in all } }. A ban it starts or records is published on
 * `<prefix>bans` as "key until" for every instance to enforce.
 * @module
 */

export const SYNC_SCRIPT = `
local prefix, instance = ARGV[1], ARGV[2]
local ttl, banCount, windowMs, banMs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local quota = -1
if ARGV[7] ~= '' then
  local key = prefix .. 'quota'
  if redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, ARGV[7])
    quota = tonumber(ARGV[7])
  elseif ARGV[9] == '1' then
    quota = tonumber(redis.call('GET', key))
  else
    quota = redis.call('INCRBY', key, ARGV[8])
  end
end
local function ban(hash, key, untilMs)
  local banKey = prefix .. 'ban:' .. hash
  local left = untilMs - now
  if left <= 0 or redis.call('PTTL', banKey) >= left then return end
  redis.call('SET', banKey, key, 'PX', left)
  redis.call('PUBLISH', prefix .. 'bans', key .. ' ' .. untilMs)
end
local n = tonumber(ARGV[10])
local others = {}
for i = 0, n - 1 do
  local at = 11 + i * 4
  local hash, key, tokens, strikes = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local rl = prefix .. 'rl:' .. hash
  if tokens > 0 then
    redis.call('HINCRBY', rl, instance, tokens)
    redis.call('PEXPIRE', rl, ttl)
  end
  local sum = 0
  local fields = redis.call('HGETALL', rl)
  for f = 1, #fields, 2 do
    if fields[f] ~= instance then sum = sum + tonumber(fields[f + 1]) end
  end
  others[i + 1] = sum
  if strikes > 0 and banCount > 0 then
    local st = prefix .. 'st:' .. hash
    local count = redis.call('INCRBY', st, strikes)
    if count == strikes then redis.call('PEXPIRE', st, windowMs) end
    if count >= banCount then
      redis.call('DEL', st)
      ban(hash, key, now + banMs)
    end
  end
end
for at = 11 + n * 4, #ARGV, 3 do
  ban(ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]))
end
return { quota, others }
`;
