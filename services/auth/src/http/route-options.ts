/** What every route plugin receives. */
import type { AuthContext } from '../context.js';
import type { LoginLimiter, RegisterLimiter } from '../sessions/login-limiter.js';

export interface RouteOptions {
  ctx: AuthContext;
  loginLimiter: LoginLimiter;
  registerLimiter: RegisterLimiter;
}
