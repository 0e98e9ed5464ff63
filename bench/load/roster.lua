-- wrk script for the gateway load benchmark (bench/load/gateway_load.cc runs it):
--   ROSTER_LOAD_MODE=MODE wrk -t2 -c64 -d5s --latency -s roster.lua http://127.0.0.1:PORT \
--       -- KEY ACCOUNTS MEMBERS NONCE
-- MODE (from the environment, because wrk decides at load time, before init(), whether
-- to hand every response to Lua — which costs client CPU the read modes do not need):
--   check   GET /v1/check for a seeded member (u<w>.<m> in workspace w<w>), live
--   mixed   10-request cycle: 6 checks, then one each of members page, user access,
--           pending invitations, audit page (limit 20) — 60/10/10/10/10 %
--   invite  POST /v1/workspaces/w<w>/invitations to a new address each time, spread over
--           every workspace; an answer other than 201 is counted and reported
-- Read modes rely on wrk's own "Non-2xx or 3xx responses" count. In invite mode done()
-- prints "roster_unexpected N" (answers other than 201) and the first one's status and
-- body, for the driver to parse.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local mode = os.getenv("ROSTER_LOAD_MODE") or "check"
local accounts, members, nonce
local n = 0
unexpected = 0
first_bad = ""

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

if mode == "invite" then
  function response(status, headers, body)
    if status ~= 201 then
      unexpected = unexpected + 1
      if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 300) end
    end
  end

  function done(summary, latency, requests)
    local total, bad = 0, ""
    for _, t in ipairs(threads) do
      total = total + t:get("unexpected")
      if bad == "" then bad = t:get("first_bad") end
    end
    io.write(string.format("roster_unexpected %d\n", total))
    if bad ~= "" then io.write("roster_first_unexpected " .. bad .. "\n") end
  end
end
