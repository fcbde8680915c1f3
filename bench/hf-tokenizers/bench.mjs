// Encodes the benchmark text with Hugging Face's Rust tokenizers and prints the throughput.
// Usage: npm install && node bench.mjs ../../tests/assets/tokenizer/tokenizer.json [seconds]
import { Tokenizer } from "tokenizers";
import { readFileSync } from "node:fs";
import { benchmarkText } from "./text.mjs";

const [, , tokenizerPath, secondsArg] = process.argv;
const tokenizer = Tokenizer.fromFile(tokenizerPath);
const text = benchmarkText();
const bytes = Buffer.byteLength(text, "utf8");

let ids = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
for (let i = 0; i < 5; i++) await tokenizer.encode(text); // warm-up

const seconds = Number(secondsArg ?? 5);
let runs = 0;
const start = process.hrtime.bigint();
let elapsed = 0;
while (elapsed < seconds) {
  await tokenizer.encode(text, null, { addSpecialTokens: false });
  runs++;
  elapsed = Number(process.hrtime.bigint() - start) / 1e9;
}
const perCall = elapsed / runs;
console.log(JSON.stringify({
  implementation: "huggingface/tokenizers (Rust) via Node binding",
  text_bytes: bytes, tokens: ids.length, runs,
  ms_per_encode: +(perCall * 1e3).toFixed(3),
  mb_per_s: +(bytes / perCall / 1e6).toFixed(2),
  tokens_per_s: Math.round(ids.length / perCall),
  first_ids: ids.slice(0, 8),
}));
