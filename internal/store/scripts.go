package store

import "github.com/redis/go-redis/v9"

// The Lua scripts of the store. Each touches exactly one key (declared in KEYS), so each runs on
// Redis Cluster, where the result key and the status key of a job usually live in different hash
// slots (their names are fixed by the Python library and carry no {hash tag}). The price is that
// the two keys are written by two scripts, one after the other: the result record is the source
// of truth and is ordered atomically; the status key follows it and is protected so that it never
// goes from a terminal status back to a non-terminal one.

// writeResultScript stores a record if it moves the job forward.
//
//	KEYS[1] = {prefix}:result:{id}
//	ARGV[1] = record JSON, ARGV[2] = its job_try, ARGV[3] = its status rank, ARGV[4] = TTL in ms
//
// The stored record's (job_try, rank) is compared with the new one's, rank being queued=0 <
// in_progress=1 < retrying=2 < terminal=3. A terminal stored record is never replaced; otherwise
// the new record is stored iff its pair is lexicographically greater, or nothing (or nothing
// readable) is stored. A record without job_try (written by the Python library) counts as
// retry_count+1. If the stored JSON cannot be decoded by cjson (nesting deeper than its limit),
// its status is read with a pattern match and its try is taken as 1. Returns 1 if stored, else 0.
var writeResultScript = redis.NewScript(`
local ranks = {queued = 0, in_progress = 1, retrying = 2, completed = 3, failed = 3, aborted = 3}
local cur = redis.call('GET', KEYS[1])
if cur then
  local ntry = tonumber(ARGV[2])
  local nrank = tonumber(ARGV[3])
  local st, stry
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then
    st = rec['status']
    stry = tonumber(rec['job_try'])
    if stry == nil then
      local rc = tonumber(rec['retry_count'])
      if rc ~= nil then stry = rc + 1 end
    end
  else
    st = string.match(cur, '"status"%s*:%s*"([%a_]+)"')
  end
  local srank = nil
  if type(st) == 'string' then srank = ranks[st] end
  if srank ~= nil then
    if srank == 3 then return 0 end
    stry = stry or 1
    if stry > ntry or (stry == ntry and srank >= nrank) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
`)

// writeStatusScript mirrors an applied record's status into the status key and announces
// terminal statuses.
//
//	KEYS[1] = {prefix}:status:{id}
//	ARGV[1] = status, ARGV[2] = TTL in ms, ARGV[3] = channel to PUBLISH on ("" for none),
//	ARGV[4] = job id (the message)
//
// A terminal status stored in the key is never replaced by a non-terminal one (the result record
// was already ordered by writeResultScript; this only guards against two writers' status scripts
// arriving out of order). The PUBLISH happens after the key is set, so a subscriber that reads
// either key afterwards sees the terminal state. Returns 1 if the key was set, else 0.
var writeStatusScript = redis.NewScript(`
local terminal = {completed = true, failed = true, aborted = true}
local set = 1
if not terminal[ARGV[1]] then
  local cur = redis.call('GET', KEYS[1])
  if cur and terminal[cur] then set = 0 end
end
if set == 1 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return set
`)

// reserveScript stores a record only if none exists for the id.
//
//	KEYS[1] = {prefix}:result:{id}
//	ARGV[1] = record JSON, ARGV[2] = TTL in ms
//
// Returns {1} when stored, {0, existing JSON} otherwise.
var reserveScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1}
`)

// allScripts are loaded at Open (and again after a NOSCRIPT reply).
var allScripts = []*redis.Script{writeResultScript, writeStatusScript, reserveScript}
