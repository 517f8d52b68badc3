// Webpack build of the bundled JupyterLab: the core bundle (a module federation host sharing
// JupyterLab's packages in the `default` scope, so prebuilt extensions load as in a pip-installed
// JupyterLab) plus one small CSS build per theme. Run lab/prepare-core.mjs and tsc first
// (`npm run build:lab` does); mode defaults to development, `--mode production` minifies.
const path = require('path');
const webpack = require('webpack');
const HtmlWebpackPlugin = require('html-webpack-plugin');
const MiniCssExtractPlugin = require('mini-css-extract-plugin');

const buildDir = path.join(__dirname, 'build');
const core = require(path.join(buildDir, 'core', 'package.json'));

function isInstalled(name) {
  try {
    require.resolve(`${name}/package.json`, { paths: [__dirname] });
    return true;
  } catch {
    return false;
  }
}

/**
 * The shared modules: every package of the core's resolutions, at the core's version range, with
 * JupyterLab's singleton packages marked singleton. Packages the core never imports (such as the
 * metapackage) are not installed and are left out.
 */
function sharedModules() {
  const shared = {};
  for (const [name, requiredVersion] of Object.entries(core.resolutions)) {
    if (isInstalled(name)) {
      shared[name] = { requiredVersion };
    }
  }
  for (const name of core.jupyterlab.singletonPackages) {
    shared[name] = { ...shared[name], singleton: true };
  }
  return shared;
}

// Files that JupyterLab's packages import besides JavaScript and CSS.
const assetRules = [
  { test: /\.raw\.css$/, type: 'asset/source' },
  { test: /\.(md|txt)$/, type: 'asset/source' },
  { test: /\.(png|jpe?g|gif|cur|woff2?|ttf|eot)(\?.*)?$/, type: 'asset/resource' },
  // SVG icons are imported as markup by the code, and referenced as URLs by the CSS.
  { test: /\.svg(\?.*)?$/, issuer: /\.css$/, type: 'asset/inline' },
  { test: /\.svg(\?.*)?$/, issuer: /\.[cm]?js$/, type: 'asset/source' }
];

function coreConfig(mode) {
  return {
    name: 'core',
    mode,
    context: __dirname,
    entry: { main: path.join(buildDir, 'js', 'bootstrap.js') },
    output: {
      path: path.join(buildDir, 'static'),
      // The page template's placeholder for the static URL, filled in by the server; the
      // bootstrap sets the same URL at run time for lazy chunks.
      publicPath: '{{page_config.fullStaticUrl}}/',
      filename: '[name].[contenthash].js',
      chunkFilename: '[name].[contenthash].js',
      // Distinct from any extension's chunk-loading global (webpack derives those from package names).
      uniqueName: '_jupyterlab_bundled_core',
      hashFunction: 'sha256',
      clean: true
    },
    devtool: mode === 'development' ? 'source-map' : false,
    module: {
      rules: [
        {
          test: /(?<!\.raw)\.css$/,
          use: [require.resolve('style-loader'), require.resolve('css-loader')]
        },
        ...assetRules,
        // Some packages import files without extensions from ES modules.
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
        // Our own compiled sources carry source maps from tsc.
        {
          test: /\.js$/,
          include: path.join(buildDir, 'js'),
          enforce: 'pre',
          use: [require.resolve('source-map-loader')]
        }
      ]
    },
    resolve: {
      fallback: {
        path: require.resolve('path-browserify'),
        process: require.resolve('process/browser'),
        url: false,
        buffer: false,
        crypto: false
      }
    },
    // Node-only branches of @jupyterlab/services; never reached in a browser.
    externals: ['ws', 'node-fetch'],
    plugins: [
      new webpack.ProvidePlugin({ process: 'process/browser' }),
      new webpack.container.ModuleFederationPlugin({
        shareScope: 'default',
        shared: sharedModules()
      }),
      new HtmlWebpackPlugin({
        template: path.join(__dirname, 'templates', 'index.html'),
        // jupyterlab_server renders this with Jinja; it lives outside the static dir.
        filename: path.join(buildDir, 'templates', 'index.html'),
        title: core.jupyterlab.name,
        chunksSortMode: 'none'
      })
    ],
    performance: { hints: false },
    stats: 'errors-warnings'
  };
}

/** The theme's CSS compiled to one self-contained themes/<package>/index.css. */
function themeConfig(mode, name) {
  const pkgDir = path.dirname(require.resolve(`${name}/package.json`, { paths: [__dirname] }));
  const pkg = require(path.join(pkgDir, 'package.json'));
  return {
    name,
    mode,
    context: __dirname,
    entry: { index: path.join(pkgDir, pkg.jupyterlab.themePath) },
    output: { path: path.join(buildDir, 'themes', name), hashFunction: 'sha256', clean: true },
    devtool: false,
    module: {
      rules: [
        { test: /\.css$/, use: [MiniCssExtractPlugin.loader, require.resolve('css-loader')] },
        { test: /\.(svg|png|jpe?g|gif|cur|woff2?|ttf|eot)(\?.*)?$/, type: 'asset/inline' }
      ]
    },
    plugins: [new MiniCssExtractPlugin({ filename: '[name].css' }), new DropScriptsPlugin()],
    stats: 'errors-warnings'
  };
}

/** Theme builds only want the extracted CSS, not the empty scripts webpack emits with it. */
class DropScriptsPlugin {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap('DropScriptsPlugin', compilation => {
      compilation.hooks.processAssets.tap(
        { name: 'DropScriptsPlugin', stage: webpack.Compilation.PROCESS_ASSETS_STAGE_SUMMARIZE },
        assets => {
          for (const file of Object.keys(assets).filter(f => f.endsWith('.js'))) {
            compilation.deleteAsset(file);
          }
        }
      );
    });
  }
}

module.exports = (_env, argv) => {
  const mode = argv.mode ?? 'development';
  const themes = Object.keys(core.jupyterlab.extensions).filter(name => {
    const pkg = require(`${name}/package.json`);
    return typeof pkg.jupyterlab?.themePath === 'string';
  });
  return [coreConfig(mode), ...themes.map(name => themeConfig(mode, name))];
};
