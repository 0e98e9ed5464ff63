-- wrk script for the gateway load benchmark (bench/load/gateway_load.cc runs it):
--   ROSTER_LOAD_MODE=MODE wrk -t2 -c64 -d5s --latency -s roster.lua http://127.0.0.1:PORT \
--       -- KEY ACCOUNTS MEMBERS NONCE
-- MODE (from the environment):
--   check   GET /v1/check for a seeded member (u<w>.<m> in workspace w<w>), live
--   mixed   10-request cycle: 6 checks, then one each of members page, user access,
--           pending invitations, audit page (limit 20) — 60/10/10/10/10 %
--   invite  POST /v1/workspaces/w<w>/invitations to a new address each time, spread over
--           every workspace
-- No mode defines response(): the read modes rely on wrk's own "Non-2xx or 3xx responses"
-- count, and the driver checks the invite mode's answers on the server (every one a 201,
-- from /metrics before and after), so wrk never hands an answer to Lua.

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local mode = os.getenv("ROSTER_LOAD_MODE") or "check"
local accounts, members, nonce
local n = 0

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  accounts = tonumber(args[2])
  members = tonumber(args[3])
  nonce = args[4]
  -- Threads start at different points so they do not ask the same things in lockstep.
  n = id * 7919
  if mode == "invite" then wrk.headers["Content-Type"] = "application/json" end
end

local function check(w, m)
  return wrk.format("GET", "/v1/check?principal=u" .. w .. "." .. m ..
                    "&permission=products.edit&workspace=w" .. w)
end

local function mixed(i, w, m)
  local slot = i % 10
  if slot < 6 then return check(w, m) end
  if slot == 6 then return wrk.format("GET", "/v1/workspaces/w" .. w .. "/members") end
  if slot == 7 then return wrk.format("GET", "/v1/users/u" .. w .. "." .. m .. "/access") end
  if slot == 8 then
    return wrk.format("GET", "/v1/workspaces/w" .. w .. "/invitations?status=pending")
  end
  return wrk.format("GET", "/v1/audit?workspace=w" .. w .. "&limit=20")
end

function request()
  n = n + 1
  local w = n % accounts
  local m = math.floor(n / accounts) % members
  if mode == "check" then return check(w, m) end
  if mode == "mixed" then return mixed(n, w, m) end
  local body = '{"email":"load-' .. nonce .. '-' .. id .. '-' .. n ..
               '@invite.example","role":"viewer"}'
  return wrk.format("POST", "/v1/workspaces/w" .. w .. "/invitations", nil, body)
end
