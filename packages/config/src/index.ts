/** Typed, validated configuration. Only this package and each service's server.ts see process.env. */
export * from './settings.js';
export * from './core.js';
export * from './services-manifest.js';
export * from './redis-url.js';
export * from './service-settings.js';
