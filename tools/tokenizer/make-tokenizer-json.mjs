#!/usr/bin/env node
// Builds the Hugging Face tokenizer files of Magma-8B (LLaMA-3-8B-Instruct's BPE + Magma's added tokens)
// from the MIT-licensed npm package llama3-tokenizer-js, because no Hugging Face download is possible here.
//
// Usage: node tools/tokenizer/make-tokenizer-json.mjs [path/to/unpacked/llama3-tokenizer-js/package] [outDir]
// Without a package path it runs `npm pack llama3-tokenizer-js@1.2.0` into a temporary directory.
// Default outDir: tests/assets/tokenizer (relative to the repository root).
//
// The package stores the vocabulary as base64("\n".join(vocab in id order)) and the merges, in rank order,
// as pairs of 17-bit vocabulary ids (see its src/data-conversion.py); both are decoded here back to the
// exact `model.vocab` / `model.merges` of Meta-Llama-3's tokenizer.json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let packageDir = process.argv[2];
const outDir = path.resolve(process.argv[3] ?? path.join(repoRoot, 'tests', 'assets', 'tokenizer'));

if (!packageDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l3tok-'));
  execFileSync('npm', ['pack', 'llama3-tokenizer-js@1.2.0', '--silent'], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = fs.readdirSync(tmp).find(f => f.endsWith('.tgz'));
  execFileSync('tar', ['xzf', tgz], { cwd: tmp });
  packageDir = path.join(tmp, 'package');
}

// data-converted.js only declares two string constants; evaluate it in an empty context to read them.
const dataSource = fs.readFileSync(path.join(packageDir, 'src', 'data-converted.js'), 'utf8');
const context = {};
vm.runInNewContext(dataSource + '\nthis.vocab64 = llama_vocab_base64; this.merges64 = llama_merges_binary;', context);

const vocab = Buffer.from(context.vocab64, 'base64').toString('utf8').split('\n');
if (vocab.length !== 128000) throw new Error(`expected 128000 vocabulary entries, got ${vocab.length}`);

const mergeBytes = Buffer.from(context.merges64, 'base64');
const totalBits = mergeBytes.length * 8;
const ids = [];
for (let bit = 0; bit + 17 <= totalBits; bit += 17) {
  let v = 0;
  for (let k = 0; k < 17; k++) {
    const b = bit + k;
    v = (v << 1) | ((mergeBytes[b >> 3] >> (7 - (b & 7))) & 1);
  }
  ids.push(v);
}
// The packer pads the bit stream with zeros to a byte boundary; an odd trailing id is padding.
if (ids.length % 2 === 1) ids.pop();
const merges = [];
for (let i = 0; i < ids.length; i += 2) {
  const a = vocab[ids[i]], b = vocab[ids[i + 1]];
  if (a === undefined || b === undefined) throw new Error(`merge ${i / 2} references an unknown id`);
  merges.push(`${a} ${b}`);
}
if (merges.length !== 280147) throw new Error(`expected 280147 merges (LLaMA-3), got ${merges.length}`);

// Sanity: every merge must produce a vocabulary token, as in the original file.
const vocabSet = new Set(vocab);
for (const m of merges) {
  if (!vocabSet.has(m.replace(' ', ''))) throw new Error(`merge "${m}" does not produce a vocabulary token`);
}

// LLaMA-3 (not 3.1) special tokens, ids 128000..128255.
const special = new Array(256);
special[0] = '<|begin_of_text|>';
special[1] = '<|end_of_text|>';
special[6] = '<|start_header_id|>';
special[7] = '<|end_header_id|>';
special[9] = '<|eot_id|>';
let reserved = 0;
for (let i = 0; i < 256; i++) if (special[i] === undefined) special[i] = `<|reserved_special_token_${reserved++}|>`;
if (reserved !== 251) throw new Error('LLaMA-3 has reserved special tokens 0..250');

// Magma's additions (Magma-8B tokenizer: pad 128256 and image 128257 are confirmed; the rest are inferred).
const magmaAdded = ['<pad>', '<image>', '<image_start>', '<image_end>', '<action>', '<trace_start>', '<trace_end>'];
const added = [...special, ...magmaAdded].map((content, i) => ({ id: 128000 + i, content }));

const addedTokenJson = t => ({
  id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

const regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const bos = '<|begin_of_text|>';
const bosPiece = type_id => ({ SpecialToken: { id: bos, type_id } });

const vocabObject = {};
vocab.forEach((tok, id) => { vocabObject[tok] = id; });

const tokenizerJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: added.map(addedTokenJson),
  normalizer: null,
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [bosPiece(0), { Sequence: { id: 'A', type_id: 0 } }],
        pair: [bosPiece(0), { Sequence: { id: 'A', type_id: 0 } }, bosPiece(1), { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { [bos]: { id: bos, ids: [128000], tokens: [bos] } },
      },
    ],
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: true,
    vocab: vocabObject,
    merges,
  },
};

const addedTokensDecoder = {};
for (const t of added) {
  const { id, ...rest } = addedTokenJson(t);
  addedTokensDecoder[String(id)] = rest;
}

const chatTemplate = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

const tokenizerConfig = {
  added_tokens_decoder: addedTokensDecoder,
  bos_token: bos,
  chat_template: chatTemplate,
  clean_up_tokenization_spaces: true,
  eos_token: '<|eot_id|>',
  model_input_names: ['input_ids', 'attention_mask'],
  model_max_length: 8192,
  pad_token: '<pad>',
  tokenizer_class: 'PreTrainedTokenizerFast',
};

const specialTokensMap = {
  bos_token: { content: bos, lstrip: false, normalized: false, rstrip: false, single_word: false },
  eos_token: { content: '<|eot_id|>', lstrip: false, normalized: false, rstrip: false, single_word: false },
  pad_token: { content: '<pad>', lstrip: false, normalized: false, rstrip: false, single_word: false },
};

fs.mkdirSync(outDir, { recursive: true });
const write = (name, obj) => fs.writeFileSync(path.join(outDir, name), JSON.stringify(obj, null, 2) + '\n');
write('tokenizer.json', tokenizerJson);
write('tokenizer_config.json', tokenizerConfig);
write('special_tokens_map.json', specialTokensMap);
process.stderr.write(`wrote ${outDir}: ${vocab.length} vocab, ${merges.length} merges, ${added.length} added tokens\n`);
