// Lint for what a type check misses: promises left floating (a fault removal nobody awaits), hooks
// used wrongly, dead code paths, and functions too long to read at a glance. Formatting is
// prettier's (`npm run format`); eslint does not argue about it.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` says "deliberately unused" (a destructured field left out, an ignored parameter)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // `void promise` is how a fire-and-forget is said on purpose
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // an async method may have nothing to wait for and still keep its interface's promise
      '@typescript-eslint/require-await': 'off',
      // gameday reads and neutralises terminal escapes on purpose
      'no-control-regex': 'off',
    },
  },
  {
    // Tests and benchmarks read JSON a child process printed: typing every field of it adds nothing.
    files: ['test/**/*.{ts,tsx}', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['components/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    // the rule: no function in src/ or components/ longer than a screen
    files: ['src/**/*.ts', 'components/**/*.{ts,tsx}'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
  {
    files: ['bin/*.js', '*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
