// Times llama.cpp (the prebuilt CPU build of npm's node-llama-cpp, installed for the GGUF interop
// test in tests/interop/gguf) on a GGUF file, the way `rwkv-lsp bench --model FILE` times rwkv-lsp:
// prefill of N tokens in one evaluation, then generation of M tokens one at a time (greedy), the
// median of --runs. Prints one JSON object. A benchmark, not a test.
//
// usage: node bench/llama_cpp/bench.mjs MODEL.gguf [--threads 2] [--prefill 512] [--gen 64] [--runs 3]
import { getLlama, LlamaLogLevel } from "../../tests/interop/gguf/node_modules/node-llama-cpp/dist/index.js";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const modelPath = args[0];
const threads = option("--threads", 2), prefill = option("--prefill", 512), gen = option("--gen", 64), runs = option("--runs", 3);
if (!modelPath) {
  console.error("usage: node bench/llama_cpp/bench.mjs MODEL.gguf [--threads 2] [--prefill 512] [--gen 64] [--runs 3]");
  process.exit(2);
}

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const vocab = model.fileInsights.metadata?.rwkv7?.vocab_size ?? 256;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const prefillRuns = [], genRuns = [];
for (let run = 0; run < runs; ++run) {
  const context = await model.createContext({ contextSize: prefill + gen + 8, batchSize: prefill, threads });
  const sequence = context.getSequence();
  const tokens = Array.from({ length: prefill }, (_, i) => 1 + ((i * 7919) % (vocab - 1)));
  let t0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  prefillRuns.push(prefill / ((performance.now() - t0) / 1000));
  t0 = performance.now();
  let token = tokens[tokens.length - 1], made = 0;
  for await (const next of sequence.evaluate([token], { temperature: 0 })) {
    if (++made >= gen) break;
    token = next;
  }
  genRuns.push(made / ((performance.now() - t0) / 1000));
  await context.dispose();
}
console.log(JSON.stringify({ engine: "llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU build)", model: modelPath, threads,
                             prefill_tokens: prefill, gen_tokens: gen, prefill_tok_s: median(prefillRuns),
                             gen_tok_s: median(genRuns), prefill_tok_s_runs: prefillRuns, gen_tok_s_runs: genRuns }));
