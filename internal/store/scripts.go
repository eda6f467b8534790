package store

import "github.com/redis/go-redis/v9"

// The Lua scripts of the store. On one server (standalone or Sentinel) a job's record and status
// are written together by one script per step (writeScript, beginScript). On Redis Cluster, where
// the result key and the status key of a job usually live in different hash slots (their names are
// fixed by the Python library and carry no {hash tag}), every script touches exactly one key and
// the two keys are written one after the other (writeResultScript, then writeStatusScript).

// Lua fragments the scripts share, so that the ordering rule is written once.

// luaTables are the rank of each status (queued=0 < in_progress=1 < retrying=2 < terminal=3) and
// the terminal statuses.
const luaTables = `
local ranks = {queued = 0, in_progress = 1, retrying = 2, completed = 3, failed = 3, aborted = 3}
local terminal = {completed = true, failed = true, aborted = true}
`

// luaReadStored reads the record stored at KEYS[1] into st (its status), stry (its try) and
// srank (the status's rank), all nil when nothing readable is stored. A record without job_try
// (written by the Python library) counts as retry_count+1. If the stored JSON cannot be decoded
// by cjson (nesting deeper than its limit), its status is read with a pattern match and its try is
// taken as 1.
const luaReadStored = `
local st, stry, srank
local cur = redis.call('GET', KEYS[1])
if cur then
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
  if type(st) == 'string' then srank = ranks[st] else st = nil end
  if srank ~= nil then stry = stry or 1 else st, stry = nil, nil end
end
`

// luaForward defines forward(ntry, nrank): whether a record of try ntry and status rank nrank
// moves the job forward from the stored one. A terminal stored record is never replaced;
// otherwise the new record wins iff its (try, rank) is lexicographically greater, or nothing
// (or nothing readable) is stored.
const luaForward = `
local function forward(ntry, nrank)
  if srank == nil then return true end
  if srank == 3 then return false end
  return stry < ntry or (stry == ntry and srank < nrank)
end
`

// luaSetStatus defines setstatus(key, status, ttl): set the status key unless that would replace
// a terminal status by a non-terminal one (two writers' status steps arriving out of order).
// Returns 1 if set, else 0.
const luaSetStatus = `
local function setstatus(key, status, ttl)
  if not terminal[status] then
    local c = redis.call('GET', key)
    if c and terminal[c] then return 0 end
  end
  redis.call('SET', key, status, 'PX', ttl)
  return 1
end
`

// writeScript stores a record and its status in one step, when it moves the job forward: the
// form of Write used when both keys are on one server (standalone and Sentinel).
//
//	KEYS[1] = {prefix}:result:{id}, KEYS[2] = {prefix}:status:{id}
//	ARGV[1] = record JSON, ARGV[2] = its job_try, ARGV[3] = its status rank, ARGV[4] = TTL in ms,
//	ARGV[5] = status, ARGV[6] = channel to PUBLISH the id on ("" for none), ARGV[7] = job id
//
// Returns 1 if stored (and the status set and the id published), else 0.
var writeScript = redis.NewScript(luaTables + luaReadStored + luaForward + luaSetStatus + `
if not forward(tonumber(ARGV[2]), tonumber(ARGV[3])) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
setstatus(KEYS[2], ARGV[5], ARGV[4])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`)

// beginScript is Begin on one server: it decides whether a delivered job may run and, if so,
// records that it is in progress, in one step.
//
//	KEYS[1] = {prefix}:result:{id}, KEYS[2] = {prefix}:status:{id}, KEYS[3] = {prefix}:abort:{id}
//	ARGV[1] = the in_progress record JSON, ARGV[2] = its job_try, ARGV[3] = TTL in ms,
//	ARGV[4] = "1" to store the record, "0" to decide only (Check)
//
// Returns {verdict, stored status, stored try}: verdict 1 = the stored record is terminal, 2 = it
// is of a later try, 3 = this try's retry is already scheduled, 4 = the job was aborted, 0 = run
// (the in_progress record was stored if asked and it moves the job forward).
var beginScript = redis.NewScript(luaTables + luaReadStored + luaForward + luaSetStatus + `
local ntry = tonumber(ARGV[2])
if srank ~= nil then
  if srank == 3 then return {1, st, stry} end
  if stry > ntry then return {2, st, stry} end
  if st == 'retrying' and stry == ntry then return {3, st, stry} end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {4, st or '', stry or 0} end
if ARGV[4] == '1' and forward(ntry, 1) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  setstatus(KEYS[2], 'in_progress', ARGV[3])
end
return {0, st or '', stry or 0}
`)

// On Redis Cluster the result and status keys of a job live in different hash slots, so a job's
// record is written by the two single-key scripts below, one after the other (and Begin reads
// before it writes): the result record is the source of truth and is ordered atomically; the
// status key follows it.

// writeResultScript stores a record if it moves the job forward (luaForward).
//
//	KEYS[1] = {prefix}:result:{id}
//	ARGV[1] = record JSON, ARGV[2] = its job_try, ARGV[3] = its status rank, ARGV[4] = TTL in ms
//
// Returns 1 if stored, else 0.
var writeResultScript = redis.NewScript(luaTables + luaReadStored + luaForward + `
if not forward(tonumber(ARGV[2]), tonumber(ARGV[3])) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
`)

// writeStatusScript mirrors an applied record's status into the status key (luaSetStatus) and
// announces terminal statuses.
//
//	KEYS[1] = {prefix}:status:{id}
//	ARGV[1] = status, ARGV[2] = TTL in ms, ARGV[3] = channel to PUBLISH on ("" for none),
//	ARGV[4] = job id (the message)
//
// The PUBLISH happens after the key is set, so a subscriber that reads either key afterwards sees
// the terminal state. Returns 1 if the key was set, else 0.
var writeStatusScript = redis.NewScript(luaTables + luaSetStatus + `
local set = setstatus(KEYS[1], ARGV[1], ARGV[2])
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
var allScripts = []*redis.Script{writeScript, beginScript, writeResultScript, writeStatusScript, reserveScript}
