// Reads GGUF files that `rwkv-lsp convert` wrote with Hugging Face's GGUF parser (an implementation
// independent of ours) and checks what llama.cpp's loader relies on: the header and metadata parse,
// the architecture's keys are there, every tensor has a known ggml type, a row length that fills
// whole blocks and an llama.cpp-style name, the data offsets are aligned, in order, do not overlap
// and end inside the file, and the tensor types are those `convert` reported.
//
// usage: RWKV_GGUF_CASES=CASES.json node --test check_gguf.mjs
//   CASES.json: [{"path": "...", "file_type": 18, "matrix_type": "Q6_K", "summary": {convert's JSON}}]
import { gguf, GGMLQuantizationType } from "@huggingface/gguf";
import { readFileSync, statSync } from "node:fs";
import assert from "node:assert/strict";
import { test } from "node:test";

// ggml's block sizes (elements, bytes) of the types rwkv-lsp writes.
const BLOCKS = {
  [GGMLQuantizationType.F32]: [1, 4],
  [GGMLQuantizationType.F16]: [1, 2],
  [GGMLQuantizationType.BF16]: [1, 2],
  [GGMLQuantizationType.Q8_0]: [32, 34],
  [GGMLQuantizationType.Q4_0]: [32, 18],
  [GGMLQuantizationType.Q4_1]: [32, 20],
  [GGMLQuantizationType.Q5_0]: [32, 22],
  [GGMLQuantizationType.Q5_1]: [32, 24],
  [GGMLQuantizationType.Q4_K]: [256, 144],
  [GGMLQuantizationType.Q5_K]: [256, 176],
  [GGMLQuantizationType.Q6_K]: [256, 210],
};
const TOP_LEVEL = new Set(["token_embd.weight", "token_embd_norm.weight", "token_embd_norm.bias", "output_norm.weight",
                           "output_norm.bias", "output.weight"]);

const cases = JSON.parse(readFileSync(process.env.RWKV_GGUF_CASES, "utf8"));
for (const c of cases) {
  test(c.path, async () => {
    const { metadata, tensorInfos, tensorDataOffset } = await gguf(c.path, { allowLocalFile: true });
    assert.equal(metadata.version, 3);
    const arch = metadata["general.architecture"];
    assert.ok(arch === "rwkv6" || arch === "rwkv7", `architecture ${arch}`);
    assert.equal(Number(metadata["general.file_type"]), c.file_type);
    const layers = Number(metadata[`${arch}.block_count`]);
    assert.ok(layers > 0, "block_count");
    for (const key of ["embedding_length", "feed_forward_length", "wkv.head_size"])
      assert.ok(metadata[`${arch}.${key}`] !== undefined, `${arch}.${key}`);
    assert.equal(tensorInfos.length, c.summary.tensors);

    const alignment = BigInt(metadata["general.alignment"] ?? 32);
    assert.equal(tensorDataOffset % alignment, 0n, "data section alignment");
    const counts = {};
    let end = 0n;
    const byOffset = [...tensorInfos].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    for (const t of byOffset) {
      const block = BLOCKS[t.dtype];
      assert.ok(block, `${t.name}: type ${t.dtype}`);
      const [elems, bytes] = block.map(BigInt);
      assert.equal(t.shape[0] % elems, 0n, `${t.name}: rows of ${t.shape[0]} values in blocks of ${elems}`);
      const n = t.shape.reduce((a, b) => a * b, 1n);
      assert.equal(t.offset % alignment, 0n, `${t.name}: offset alignment`);
      assert.ok(t.offset >= end, `${t.name}: overlaps the tensor before it`);
      end = t.offset + (n / elems) * bytes;
      const m = /^blk\.(\d+)\.[a-z0-9_]+\.(weight|bias)$/.exec(t.name);
      assert.ok(TOP_LEVEL.has(t.name) || (m && Number(m[1]) < layers), `${t.name}: not an llama.cpp tensor name`);
      const type = GGMLQuantizationType[t.dtype].toLowerCase();
      counts[type] = (counts[type] ?? 0) + 1;
    }
    assert.ok(tensorDataOffset + end <= BigInt(statSync(c.path).size), "tensor data ends inside the file");
    assert.deepEqual(counts, c.summary.tensor_types);
    const key = tensorInfos.find((t) => t.name === "blk.0.time_mix_key.weight");
    assert.equal(GGMLQuantizationType[key.dtype], c.matrix_type);
  });
}
