// Prints a test vocabulary in the World tokenizer's file format (`id b'bytes' length` per line) for
// a model with COUNT logits: id 0 stays <s>, ids 1..256 are the single bytes 0..255 as in the World
// vocabulary (as far as COUNT allows), and the rest are filler tokens "t<id>". llama.cpp needs a
// vocabulary to load a model; the tests feed token ids, so any distinct texts do.
//
// usage: node write_vocab.mjs COUNT > vocab.txt
const count = Number(process.argv[2]);
const lines = [];
for (let id = 1; id < count; ++id) {
  const text = id <= 256 ? `\\x${(id - 1).toString(16).padStart(2, "0")}` : `t${id}`;
  lines.push(`${id} b'${text}' ${id <= 256 ? 1 : text.length}`);
}
console.log(lines.join("\n"));
