// Jest transpiles the ES-module builds of JupyterLab's dependencies with JupyterLab's own preset.
module.exports = require('@jupyterlab/testing/lib/babel-config');
