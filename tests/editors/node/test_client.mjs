// A Node LSP client built on vscode-jsonrpc / vscode-languageserver-protocol (the libraries VS
// Code's client uses, in the versions vscode-languageclient 10 uses: LSP 3.18) drives the rwkv-lsp executable over stdio: initialize, didOpen, inline
// completion, cancellation, workspace/didChangeConfiguration (bad and good settings), status,
// shutdown and the exit code.
//
// Environment (set by run_node_test.sh): RWKV_LSP_BIN, RWKV_LSP_TEST_MODEL, RWKV_LSP_TEST_VOCAB,
// RWKV_LSP_TEST_TRAINED.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as rpc from 'vscode-jsonrpc/node';
import {
  CancellationTokenSource,
  CompletionRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  LSPErrorCodes,
  ShowMessageNotification,
  ShutdownRequest,
} from 'vscode-languageserver-protocol';

const bin = process.env.RWKV_LSP_BIN ?? 'rwkv-lsp';
const model = process.env.RWKV_LSP_TEST_MODEL ?? '';
const vocab = process.env.RWKV_LSP_TEST_VOCAB ?? '';
const trained = process.env.RWKV_LSP_TEST_TRAINED === '1';
const uri = 'file:///project/src/loop.c';
const text = '#include <stdio.h>\n\nint main(void) {\n    int n = 10;\n    for (int i = 0; i < n; ';
const end = { line: 4, character: '    for (int i = 0; i < n; '.length };

function startServer() {
  const args = ['serve', '--threads', '2', '--time-budget-ms', '20000'];
  if (model) args.push('--model', model);
  if (vocab) args.push('--vocab', vocab);
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
  );
  const shown = [];
  connection.onNotification(ShowMessageNotification.type, (m) => shown.push(m));
  connection.onNotification(() => {}); // window/logMessage, $/progress
  connection.onRequest(() => null); // window/workDoneProgress/create
  connection.listen();
  return { child, exited, connection, shown };
}

// Kills the server if a test failed before it exited (so that node ends).
function cleanup(t, server) {
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    server.connection.dispose();
  });
}

async function initialize(connection) {
  const result = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { general: { positionEncodings: ['utf-16'] } },
    initializationOptions: { maxTokens: 16, temperature: 0 },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  return result;
}

function inline(connection, token, triggerKind = InlineCompletionTriggerKind.Invoked) {
  return connection.sendRequest(
    InlineCompletionRequest.type,
    { textDocument: { uri }, position: end, context: { triggerKind, selectedCompletionInfo: undefined } },
    token,
  );
}

function itemsOf(result) {
  if (!result) return [];
  return Array.isArray(result) ? result : result.items;
}

function insertText(item) {
  return typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
}

async function until(what, predicate, timeoutMs = 20000) {
  const start = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a Node LSP client gets inline completions, cancels, reconfigures and shuts down', { timeout: 240000 }, async (t) => {
  const server = startServer();
  cleanup(t, server);
  const { exited, connection, shown } = server;
  const init = await initialize(connection);
  assert.equal(init.serverInfo.name, 'rwkv-lsp');
  assert.ok(init.capabilities.inlineCompletionProvider, 'inlineCompletionProvider');
  assert.equal(init.capabilities.positionEncoding ?? 'utf-16', 'utf-16');

  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'c', version: 1, text: text.slice(0, -2) },
  });
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ range: { start: { line: 4, character: end.character - 2 }, end: { line: 4, character: end.character - 2 } }, text: '; ' }],
  });

  // Inline completion.
  const items = itemsOf(await inline(connection));
  assert.ok(items.length >= 1, 'at least one suggestion');
  assert.match(insertText(items[0]), /\S/, 'not blank');
  if (items[0].range) assert.deepEqual(items[0].range.start, end);

  if (trained) {
    // Only meaningful with the trained code model: it completes a standard header's name and
    // closes the bracket.
    const header = 'file:///project/src/io.c';
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: header, languageId: 'c', version: 1, text: '#include <stdio.h>\n#include <std' },
    });
    const result = await connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: header }, position: { line: 1, character: 13 }, context: { triggerKind: InlineCompletionTriggerKind.Invoked },
    });
    const first = itemsOf(result)[0];
    assert.ok(first, 'a suggestion after #include <std');
    assert.match(insertText(first), /^[\w./]*>/, 'a header name and the closing bracket');
  }

  // textDocument/completion: one item whose edit inserts at the cursor.
  const completion = await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: end });
  const citems = Array.isArray(completion) ? completion : completion.items;
  assert.ok(citems.length >= 1 && citems[0].textEdit, 'a completion item with a textEdit');
  assert.deepEqual(citems[0].textEdit.range.start ?? citems[0].textEdit.insert.start, end);

  // Cancellation: a request cancelled via $/cancelRequest is answered, -32800 or its result.
  for (let i = 0; i < 3; ++i) {
    const source = new CancellationTokenSource();
    const pending = inline(connection, source.token);
    source.cancel();
    let timer;
    const outcome = await Promise.race([
      pending.then((r) => ({ result: r }), (e) => ({ error: e })),
      new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), 60000); }),
    ]);
    clearTimeout(timer);
    assert.ok(!outcome.timeout, 'the cancelled request was answered');
    if (outcome.error) assert.equal(outcome.error.code, LSPErrorCodes.RequestCancelled);
  }

  // A bad setting: window/showMessage (an error naming it), and the server keeps the old ones.
  await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { 'rwkv-lsp': { maxTokens: 'many' } } });
  const message = await until('window/showMessage', () => shown.find((m) => m.message.includes('maxTokens')));
  assert.equal(message.type, 1);
  let status = await connection.sendRequest('rwkv/status', {});
  assert.equal(status.settings.maxTokens, 16);

  // A good one takes effect: one token per suggestion (one byte with a byte-level model).
  await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { 'rwkv-lsp': { maxTokens: 1 } } });
  status = await until('the new settings', async () => {
    const s = await connection.sendRequest('rwkv/status', {});
    return s.settings.maxTokens === 1 ? s : null;
  });
  for (const item of itemsOf(await inline(connection))) assert.ok(Buffer.byteLength(insertText(item)) <= 4);
  assert.equal(status.lastCompletion !== undefined, true);

  // Shutdown, exit: code 0.
  assert.equal(await connection.sendRequest(ShutdownRequest.type), null);
  await connection.sendNotification(ExitNotification.type);
  assert.equal(await exited, 0);
  assert.equal(shown.filter((m) => m.type === 1 && !m.message.includes('maxTokens')).length, 0, JSON.stringify(shown));
});

test('exit without shutdown ends the server with code 1', { timeout: 60000 }, async (t) => {
  const server = startServer();
  cleanup(t, server);
  const { exited, connection } = server;
  await initialize(connection);
  await connection.sendNotification(ExitNotification.type);
  assert.equal(await exited, 1);
});
