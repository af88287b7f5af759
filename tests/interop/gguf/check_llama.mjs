// Runs GGUF files that `rwkv-lsp convert` wrote in llama.cpp itself (node-llama-cpp's prebuilt CPU
// build) over a golden model's tokens, and compares llama.cpp's logits with BlinkDL's reference
// (f32 files: within 1e-4, the bound rwkv-lsp's own reading meets; the other types within what
// their rounding costs) and with rwkv-lsp's own evaluation of the same file in exact precision (a
// layout, scale or name that the two read differently shows as differences of order 1; what
// remains is llama.cpp's rounding of activations to the weights' dot types). Each file's figures
// are printed.
//
// usage: RWKV_LLAMA_CASES=CASES.json node --test check_llama.mjs
//   CASES.json: {"bin": rwkv-lsp, "cases": [{"path": "...", "golden": "v7-small.json", "type": "q6_k"}]}
//   A case without "golden" (the trained byte-level model, 256 wide, so that every K-quant matrix
//   is one) runs the bytes of a line of C and is compared with rwkv-lsp only.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { test } from "node:test";

// Largest |llama.cpp - rwkv-lsp| allowed per type: f32 agrees to rounding; f16 / bf16 differ by
// llama.cpp rounding activations to the weights' type (measured 0.003 / 0.02); the quantized
// types by its int8 activations everywhere, LoRAs and head included (measured 0.05-0.13, the
// trained model's largest logits being about 16).
const VS_OURS = { f32: 1e-4, f16: 0.02, bf16: 0.06, q8_0: 0.3, q5_1: 0.3, q5_0: 0.3, q4_1: 0.3, q4_0: 0.3, q6_k: 0.3,
                  q5_k: 0.3, q4_k: 0.3 };
// Largest |llama.cpp - reference| allowed: twice what was measured over both models (the golden
// models are random, the worst case for quantization). An encoder writing a layout that llama.cpp
// reads differently moved it by 4 in a test of this test.
const VS_REFERENCE = { f32: 1e-4, f16: 0.01, bf16: 0.08, q8_0: 0.25, q5_1: 0.9, q5_0: 1.2, q4_1: 1.6, q4_0: 1.8, q6_k: 0.3,
                       q5_k: 0.4, q4_k: 0.75 };

const { bin, cases } = JSON.parse(readFileSync(process.env.RWKV_LLAMA_CASES, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });

for (const c of cases) {
  test(c.path, async () => {
    const golden = c.golden ? JSON.parse(readFileSync(c.golden, "utf8"))
                            : { tokens: [...Buffer.from("int main(void) { return 0; }\n")] };
    const model = await llama.loadModel({ modelPath: c.path });
    const context = await model.createContext({ contextSize: 64, batchSize: 64 });
    const out = await context.getSequence().controlledEvaluate(golden.tokens.map((t) => [t, { generateNext: { logits: true } }]));
    const ours = JSON.parse(execFileSync(bin, ["eval", "--model", c.path, "--tokens", golden.tokens.join(","), "--mode", "rnn",
                                               "--all-logits", "--precision", "exact"], { encoding: "utf8" })).all_logits;
    let vsReference = 0, vsOurs = 0, flips = 0;
    for (let i = 0; i < golden.tokens.length; ++i) {
      const logits = out[i].next.logits, ref = golden.logits_steps?.[i] ?? ours[i];
      assert.equal(logits.size, ref.length);
      let best = 0, bestRef = 0;
      for (let v = 0; v < ref.length; ++v) {
        const l = logits.get(v);
        vsReference = Math.max(vsReference, Math.abs(l - ref[v]));
        vsOurs = Math.max(vsOurs, Math.abs(l - ours[i][v]));
        if (l > logits.get(best)) best = v;
        if (ref[v] > ref[bestRef]) bestRef = v;
      }
      if (best !== bestRef) ++flips;
    }
    console.log(JSON.stringify({ file: c.path.split("/").pop(), llama_vs_reference: c.golden ? vsReference : null,
                                 llama_vs_rwkv_lsp: vsOurs, top1_differs: flips, steps: golden.tokens.length }));
    if (c.golden) assert.ok(vsReference < VS_REFERENCE[c.type], `llama.cpp vs the reference: ${vsReference}`);
    assert.ok(vsOurs < VS_OURS[c.type], `llama.cpp vs rwkv-lsp: ${vsOurs}`);
    await context.dispose();
    await model.dispose();
  });
}
