/** The scale-test harness: real processes behind a real nginx, and the client side that drives them. */
export * from './client.js';
export * from './load.js';
export * from './nginx.js';
export * from './prerequisites.js';
export * from './process.js';
export * from './redis.js';
export * from './services.js';
export * from './stack.js';
export * from './timing.js';
export * from './orders.js';
export * from './logins.js';
