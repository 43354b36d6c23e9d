// Lint: typescript-eslint's recommended rules over every package and service, tests included.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.data/**', '**/*.d.ts', 'bench/results/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The demo page's script runs in the browser.
    files: ['packages/demo-page/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
  },
  {
    // The SPA demo's script: an ES module in the browser.
    files: ['packages/spa-demo/assets/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', fetch: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', location: 'readonly', history: 'readonly', sessionStorage: 'readonly' },
    },
  },
  {
    files: ['**/test/**', 'bench/**', 'scripts/**', '**/cli.ts', '**/cli/**'],
    rules: { 'no-console': 'off' },
  },
);
