// Loads the bundled extension (out/extension.js) with a stand-in for the `vscode` module and
// checks that it exports activate/deactivate: the bundle is self-contained (packaged with
// --no-dependencies) and its top-level code runs.
const Module = require('node:module');
const path = require('node:path');
const assert = require('node:assert/strict');

// Any property is a constructible function whose properties are again such functions.
function standIn() {
  const fn = function () {};
  return new Proxy(fn, {
    get: (target, prop) => (prop === 'prototype' ? target.prototype : prop === Symbol.toPrimitive ? () => '' : standIn()),
    construct: () => standIn(),
    apply: () => standIn(),
  });
}
const originalLoad = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return standIn();
  return originalLoad.call(this, request, ...rest);
};
const bundle = require(path.resolve(process.argv[2]));
assert.equal(typeof bundle.activate, 'function');
assert.equal(typeof bundle.deactivate, 'function');
console.log('1 passed, 0 failed');
