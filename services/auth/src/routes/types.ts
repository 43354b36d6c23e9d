/** What every route plugin receives. */
import type { AuthContext } from '../context.js';
import type { LoginLimiter, RegisterLimiter } from '../plugins/login-rate-limit.js';

export interface RouteOptions {
  ctx: AuthContext;
  loginLimiter: LoginLimiter;
  registerLimiter: RegisterLimiter;
}
