/**
 * The login and refresh loads through wrk (C), like every other HTTP scenario, instead of a Node
 * driver: on these two shared cores the load generator's own CPU is taken from the server it
 * measures, and a Node HTTP client costs ~0.3-0.9 ms of CPU per login or refresh (the node:http
 * driver in auth-load.ts), against tens of µs for wrk. The raw argon2 and RS256 references pay no
 * such client, so a Node driver made login and refresh look slower than they are.
 *
 * One wrk thread per closed loop, each with one connection (`-t N -c N`), so every loop has its
 * own Lua state: login posts its own user's credentials; refresh carries its own session's
 * rotating cookie from each answer into its next request, exactly as a browser does. Any non-2xx
 * answer fails the run (wrk.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runWrk, type WrkResult } from './wrk.js';

export interface AuthWrkOptions {
  authUrl: string;
  /** Closed loops (wrk threads, one connection each). */
  concurrency: number;
  durationSec: number;
  workDir: string;
}

// Each thread learns its index in setup() and takes that line of the file given after `--`.
const THREAD_LINE_LUA = `
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end
local function own_line(path)
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    if n == index then return line end
  end
  error("no line " .. index .. " in " .. path)
end
`;

const LOGIN_LUA = `${THREAD_LINE_LUA}
function init(args)
  wrk.method = "POST"
  wrk.path = "/auth/login"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = own_line(args[1])
end
`;

const REFRESH_LUA = `${THREAD_LINE_LUA}
local token
function init(args)
  token = own_line(args[1])
end
function request()
  return wrk.format("POST", "/auth/refresh", { ["Cookie"] = "refresh_token=" .. token }, "")
end
function response(status, headers, body)
  if status ~= 200 then return end
  local cookie = headers["set-cookie"] or headers["Set-Cookie"]
  local next_token = cookie and string.match(cookie, "^refresh_token=([^;]+)")
  if not next_token then error("no refresh_token cookie in a 200 answer") end
  token = next_token
end
`;

/** wrk with one thread (and connection) per loop, thread i given line i of `lines` by the script. */
function perLoopWrk(options: AuthWrkOptions, name: string, source: string, lines: string[]): Promise<WrkResult> {
  if (lines.length < options.concurrency) throw new Error(`${name}: ${options.concurrency} loops need as many lines, got ${lines.length}`);
  const file = join(options.workDir, `${name}-lines.txt`);
  writeFileSync(file, `${lines.slice(0, options.concurrency).join('\n')}\n`);
  return runWrk({
    url: options.authUrl,
    durationSec: options.durationSec,
    connections: options.concurrency,
    threads: options.concurrency,
    workDir: options.workDir,
    lua: { name, source, args: [file] },
  });
}

/** POST /auth/login in closed loops, loop i logging in as users[i]. */
export function wrkLogins(options: AuthWrkOptions, users: { email: string; password: string }[]): Promise<WrkResult> {
  return perLoopWrk(options, 'login', LOGIN_LUA, users.map((user) => JSON.stringify(user)));
}

/** POST /auth/refresh in closed loops, loop i rotating the session whose refresh token is refreshTokens[i]. */
export function wrkRefreshes(options: AuthWrkOptions, refreshTokens: string[]): Promise<WrkResult> {
  return perLoopWrk(options, 'refresh', REFRESH_LUA, refreshTokens);
}

/** A fresh session per loop (outside any timing): its first refresh token. */
export async function freshRefreshTokens(authUrl: string, users: { email: string; password: string }[]): Promise<string[]> {
  return Promise.all(
    users.map(async (user) => {
      const response = await fetch(`${authUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
      await response.arrayBuffer();
      const cookie = response.headers.getSetCookie().find((value) => value.startsWith('refresh_token='));
      if (response.status !== 200 || !cookie) throw new Error(`login for a refresh run answered ${response.status}`);
      return cookie.slice('refresh_token='.length).split(';')[0]!;
    }),
  );
}
