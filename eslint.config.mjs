// One lint setup for the whole repository: TypeScript rules everywhere, formatting left to Prettier.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'lib/',
      'server-lib/',
      'build/',
      'lab/build/',
      'coverage/',
      'ui-tests/test-results/',
      'ui-tests/playwright-report/'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true }
      ],
      // JupyterLab's convention: private members, and only they, start with an underscore.
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: ['classProperty', 'classMethod', 'accessor', 'parameterProperty'],
          modifiers: ['private'],
          format: null,
          leadingUnderscore: 'require'
        },
        {
          selector: ['classProperty', 'classMethod', 'accessor', 'parameterProperty'],
          format: null,
          leadingUnderscore: 'forbid'
        }
      ],
      eqeqeq: 'error',
      curly: 'error'
    }
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly'
      }
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
);
