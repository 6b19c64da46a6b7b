// ESLint (flat config): typescript-eslint's recommended rules (syntactic, no type information:
// fast enough on a small machine) and an import-cycle check that resolves the `.js` suffixes of
// TypeScript's NodeNext imports through the TypeScript resolver. Formatting is Prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import {defineConfig} from 'eslint/config';
import {createTypeScriptImportResolver} from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', '.interop/**', 'tmp/**', '.bench/**', 'examples/**/dist/**', 'examples/**/node_modules/**', 'oclif.manifest.json'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: {'import-x': importX},
    settings: {
      // Without these, import-x does not parse the .ts files an import resolves to (no cycle found).
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver({project: 'tsconfig.test.json'})],
    },
    rules: {
      // Runtime cycles (type-only imports are erased, so the rule skips them; the zones below
      // catch those where they cross a layer).
      'import-x/no-cycle': ['error', {ignoreExternal: true}],
      // Imports run downwards (ARCHITECTURE §2b); type imports count too.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/core',
              from: './src/plugins',
              message: 'The core does not import plugins: export an options type from the core module, or find plugin state through the runtime registries.',
            },
            {target: './src/core', from: './src/commands', message: 'The core does not import commands: move shared helpers to src/core/cli.'},
            {target: './src/plugins', from: './src/commands', message: 'Plugins do not import commands.'},
            {target: './src/core/work', from: './src/core/control', message: 'Work sits below the control service: move what both need further down.'},
            {target: './src/core/wire', from: ['./src/core/control', './src/core/work'], message: 'core/wire is below control and work: it imports neither.'},
            {target: './src/core/go', from: './src/core', except: ['./go'], message: 'core/go is the bottom layer: it imports only Node built-ins and its own files.'},
          ],
        },
      ],
      // Control characters in patterns are the point where Go's escaping and log texts are mirrored.
      'no-control-regex': 'off',
      // `let x; … x = setTimeout(…)` where closures declared in between read x: const cannot express it.
      'prefer-const': ['error', {ignoreReadBeforeAssign: true}],
      // `_`-prefixed names are deliberately unused (placeholders, destructuring that drops a key).
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true}],
    },
  },
  {
    // The environment is read once, in core/settings.ts (ARCHITECTURE: runtime options set at start-up).
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/settings.ts'],
    rules: {
      'no-restricted-properties': ['error', {object: 'process', property: 'env', message: 'Read the environment through settings() from src/core/settings.ts.'}],
    },
  },
  {
    // Node scripts and bin shims (plain JavaScript).
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {globals: globals.node},
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs'},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    // chai's property assertions (`.that.is.not.empty`) are expression statements.
    files: ['test/**/*.ts', 'src/testing/**/*.ts', 'examples/**/test/**/*.ts'],
    rules: {'@typescript-eslint/no-unused-expressions': 'off'},
  },
  prettier,
);
