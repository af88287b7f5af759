// rwkv-lsp for VS Code: starts `rwkv-lsp serve` over stdio and lets vscode-languageclient turn
// its textDocument/inlineCompletion answers into VS Code inline suggestions (ghost text; Tab
// accepts). Inline completion is a "proposed" feature of vscode-languageclient 10, hence
// registerProposedFeatures(). Settings go to the server as initializationOptions and, when they
// change, as workspace/didChangeConfiguration {"rwkv-lsp": {...}} (sent here rather than through
// `synchronize`, so that empty settings stay out and the server's defaults keep applying).
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

const section = 'rwkv-lsp';
// Settings that only the extension reads (how to start the server): changing one restarts it.
const launchKeys = ['serverPath', 'serverArgs'];
// Settings the server reads (README: "Settings"); they apply to the running server.
const serverKeys = ['model', 'vocab', 'threads', 'backend', 'precision', 'weights', 'maxTokens', 'maxLines', 'candidates',
  'temperature', 'topP', 'timeBudgetMs', 'checkpointSpacing', 'memoryBudgetMb'];

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

// The server's settings; empty strings are left out so that the server's own defaults (the
// built-in model, --model given in serverArgs) apply.
function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(section);
  const settings: Record<string, unknown> = {};
  for (const key of serverKeys) {
    const value = config.get(key);
    if (value !== undefined && value !== '') settings[key] = value;
  }
  return settings;
}

function makeClient(): LanguageClient {
  const config = vscode.workspace.getConfiguration(section);
  const command = config.get<string>('serverPath') || 'rwkv-lsp';
  const args = ['serve', ...config.get<string[]>('serverArgs', [])];
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    // Every file and unsaved buffer: the model completes any language.
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: serverSettings(),
    outputChannel: output,
  };
  const c = new LanguageClient(section, 'rwkv-lsp', serverOptions, clientOptions);
  c.registerProposedFeatures();
  return c;
}

async function start(): Promise<void> {
  client = makeClient();
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(
      `rwkv-lsp could not start (${e instanceof Error ? e.message : String(e)}). ` +
        'Install rwkv-lsp on PATH or set "rwkv-lsp.serverPath".',
    );
  }
}

async function restart(): Promise<void> {
  if (client && client.state !== State.Stopped) await client.stop();
  await start();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('rwkv-lsp', { log: true });
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand('rwkv-lsp.restart', restart),
    vscode.commands.registerCommand('rwkv-lsp.status', async () => {
      if (!client || client.state !== State.Running) {
        void vscode.window.showWarningMessage('rwkv-lsp is not running.');
        return;
      }
      const status = await client.sendRequest('rwkv/status', {});
      output?.info(JSON.stringify(status, null, 2));
      output?.show(true);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (launchKeys.some((k) => e.affectsConfiguration(`${section}.${k}`))) {
        await restart();
      } else if (e.affectsConfiguration(section) && client?.state === State.Running) {
        // A bad value is answered with window/showMessage; the server keeps its last good settings.
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [section]: serverSettings() },
        });
      }
    }),
    { dispose: () => void client?.stop() },
  );
  await start();
}

export function deactivate(): Thenable<void> | undefined {
  return client?.stop();
}
